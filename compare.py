"""Train with several scripts on the same data and settings, and report side by side.

    python compare.py --model small --data_dir data            # each script's own batching
    python compare.py --matrix --model small --data_dir data   # framework x batching, 6 runs
    python compare.py --scripts fluid,tensorflow,paddle,keras --matrix --data_dir data  # 12 runs
    python compare.py --batchings sentences,buckets --model small --data_dir data   # 4 runs
    python compare.py --seeds 1,2,3 --model small --data_dir data   # each run once per seed
    python compare.py --model small --data_dir data --logdir runs   # then: tensorboard --logdir runs

Every other flag (--epochs, --device, ...) goes to every script unchanged.
Each run is a subprocess with its own log, metrics file and checkpoints
under --out (its epoch lines shown as it goes; --reports_only deletes its
checkpoints when it ends); then comparison.md and comparison.png are
written there and the table is printed: with several seeds, each number's mean and range
over them, and which differences are larger than that range. A run that fails, or stops early, is
reported as such, the others still run, and compare.py exits non-zero.
Ctrl-C or SIGTERM is passed on to the running script, which stops as it
does on its own; the report then covers the runs so far. With --logdir,
each run writes its TensorBoard events into a subfolder of its own, named
as its log is, so that TensorBoard shows the runs side by side.
"""
import argparse
import collections
import itertools
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys

from config import BATCHINGS, DEFAULT_BATCHING, FRAMEWORKS, OneLineParser, build_parser, seed_number
from errors import UserError
from ptb import corpus
from ptb.batching import count_targets
from training.checkpoints import refuse_inside_checkpoint, refuse_other_files
from training.errors import Terminated, describe_stop, run_cli, stop_handled, stops_deferred
from training.files import writable_folder, writes_told
from training.reports import machine_summary, read_json_lines, repo_command, versions_line

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = {framework: f"rnnlm_{framework}.py" for framework in FRAMEWORKS}
SET_BY_COMPARE = ("--batching", "--save_dir", "--metrics_file", "--resume", "--overwrite")
# The lines of a run's output that compare.py shows as it goes; its log has all.
SHOWN = re.compile(r"epoch \d+/|test ppl |error: |stopped by |loaded ")
# What a compare.py folder holds: its report, and each run's log, metrics and checkpoints.
REPORT_FILE = re.compile(rf"comparison\.(md|png)|checkpoints|({'|'.join(FRAMEWORKS)})-"
                         rf"({'|'.join(BATCHINGS)})-seed\d+\.(log|jsonl)")
COLUMNS = ("framework", "batching", "epochs", "train ppl", "valid ppl", "test ppl",
           "best epoch: test ppl", "test words", "words/s", "s/epoch", "peak memory, GB", "padding")


def parse_args(argv):
    # allow_abbrev off: --seed is the scripts' flag, not short for --seeds.
    parser = OneLineParser(
        description=__doc__.split("\n")[0], allow_abbrev=False,
        epilog="All other flags are the training scripts' (see rnnlm_fluid.py --help).")
    parser.add_argument("--scripts", type=names_of(SCRIPTS, "script"), default="fluid,tensorflow",
                        help=f"the training scripts to run, comma-separated, of {', '.join(SCRIPTS)}")
    ways = parser.add_mutually_exclusive_group()
    ways.add_argument("--matrix", action="store_true",
                      help=f"run each script batching every way ({', '.join(BATCHINGS)}), not "
                           "only its default way")
    ways.add_argument("--batchings", type=names_of(BATCHINGS, "batching"),
                      help="run each script batching each of these ways, comma-separated, of "
                           f"{', '.join(BATCHINGS)} (default: each script's own way)")
    parser.add_argument("--seeds", type=seed_list,
                        help="run each configuration once per seed, comma-separated (for example "
                             "1,2,3): the report gives each number's mean and range over them "
                             "(default: one run, with the scripts' --seed)")
    parser.add_argument("--out", help="output folder: a new or empty one, or an earlier "
                                      "compare.py's (default: results/compare-MODEL)")
    parser.add_argument("--reports_only", action="store_true",
                        help="delete each run's checkpoints when it ends, keeping its log and "
                             "metrics (by default they stay, for generate.py, export.py, ...)")
    parser.add_argument("--logdir", default="",
                        help="TensorBoard event files, each run's in a subfolder named after it "
                             "(tensorboard --logdir DIR shows them side by side)")
    args, script_flags = parser.parse_known_args(argv)
    given = [flag for flag in script_flags if flag.split("=")[0] in SET_BY_COMPARE]
    if given:
        raise UserError(f"{given[0]}: compare.py sets this for each run itself; leave it out")
    # The scripts' own parser, so a bad flag stops here and not in every run.
    config_args = build_parser("fluid").parse_args(script_flags)
    seed_given = [flag for flag in script_flags if flag.split("=")[0] == "--seed"]
    if args.seeds and seed_given:
        raise UserError("--seed and --seeds: give one of them (--seeds 1,2,3 runs each seed)")
    args.seeds = args.seeds or [config_args.seed]
    script_flags = without_seed(script_flags)  # each run gets its own --seed
    args.out = args.out or os.path.join("results", f"compare-{config_args.model}")
    args.batchings = list(BATCHINGS) if args.matrix else args.batchings
    return args, script_flags, config_args


def seed_list(text):
    """--seeds: distinct seeds, comma-separated, each one --seed would take."""
    seeds = [seed_number(part) for part in text.split(",")]
    if len(set(seeds)) < len(seeds):
        raise argparse.ArgumentTypeError(f"{text!r} names a seed twice")
    return seeds


def without_seed(flags):
    """The flags less any --seed N or --seed=N."""
    kept, skip = [], False
    for flag in flags:
        if not skip and flag.split("=")[0] != "--seed":
            kept.append(flag)
        skip = flag == "--seed"
    return kept


def names_of(choices, kind):
    """The type of a flag naming some of `choices`, comma-separated: the
    names, in the order of `choices`."""
    def names(text):
        given = text.split(",")
        unknown = [name for name in given if name not in choices]
        if unknown:
            raise argparse.ArgumentTypeError(f"unknown {kind} {unknown[0]!r}; "
                                             f"choose from {', '.join(choices)}")
        return [name for name in choices if name in given]
    return names


def planned_runs(scripts, batchings):
    """(framework, batching) pairs: each script's default batching, or each of `batchings`."""
    if not batchings:
        return [(framework, DEFAULT_BATCHING[framework]) for framework in scripts]
    return [(framework, batching) for framework in scripts for batching in batchings]


def run_training(framework, batching, seed, script_flags, options):
    """Run one training script to its end; return its record (run_record)
    and the stop compare.py received, if any.
    options: compare.py's own arguments (--out, --reports_only, --logdir)."""
    name = f"{framework}-{batching}-seed{seed}"
    out, reports_only = options.out, options.reports_only
    metrics_file = os.path.join(out, f"{name}.jsonl")
    save_dir = os.path.join(out, "checkpoints", name)
    # --overwrite: each compare.py run starts its runs afresh in its own folder.
    args = [*script_flags, "--batching", batching, "--seed", str(seed),
            "--metrics_file", metrics_file, "--save_dir", save_dir, "--overwrite",
            *(["--logdir", os.path.join(options.logdir, name)] if options.logdir else [])]
    command = repo_command(SCRIPTS[framework], args)
    print(f"running {name}: {command}", flush=True)
    log_path = os.path.join(out, f"{name}.log")
    with open(log_path, "w", encoding="utf-8", buffering=1) as log:  # each line as it comes
        code, stop = run_passing_on_stops([sys.executable, os.path.join(HERE, SCRIPTS[framework]),
                                           *args], log)
    try:
        with stops_deferred():  # the run is recorded whole, whatever stop comes meanwhile
            if reports_only:
                shutil.rmtree(save_dir, ignore_errors=True)
            run = run_record(dict(framework=framework, batching=batching, seed=seed,
                                  command=command, log=log_path), metrics_file, code, stop)
    except KeyboardInterrupt as interrupt:
        stop_handled()
        stop = stop or interrupt
    return run, stop


def run_record(run, metrics_file, code, stop):
    """`run` (its names, command and log) with how it ended: its status
    (done, stopped or failed), epochs, test line and error."""
    epochs, test = read_metrics(metrics_file)
    finished = code == 0 and test is not None and not test["interrupted"]
    status = "done" if finished else "stopped" if epochs or test or stop else "failed"
    error = None if finished else describe_stop(stop) if stop else last_error_line(run["log"], code)
    return dict(run, status=status, epochs=epochs, test=test, error=error)


def run_passing_on_stops(argv, log):
    """Run `argv`, its output copied into `log` as it comes and its SHOWN
    lines shown, until it ends; a Ctrl-C or SIGTERM meanwhile, or while it
    starts, is passed on to it. Return its exit code and the stop
    compare.py received, if any."""
    stop = None
    try:
        with stops_deferred():  # until there is a child to pass a stop on to
            # A session of its own: Ctrl-C in the terminal reaches only
            # compare.py, which passes it on once.
            child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, errors="replace", start_new_session=True)
    except KeyboardInterrupt as interrupt:
        stop = passed_on(interrupt, child)
    while True:
        try:
            for line in child.stdout:
                log.write(line)
                if SHOWN.match(line):
                    print(f"  {line}", end="", flush=True)
            return child.wait(), stop
        except KeyboardInterrupt as interrupt:
            stop = passed_on(interrupt, child)


def passed_on(stop, child):
    """`stop`, handled here by passing it on to `child` as the signal it came as."""
    stop_handled()
    child.send_signal(signal.SIGTERM if isinstance(stop, Terminated) else signal.SIGINT)
    return stop


def last_error_line(log_path, code):
    with open(log_path, encoding="utf-8", errors="replace") as log:
        lines = [line.strip() for line in log if line.strip()]
    errors = [line for line in lines if line.startswith(("error:", "stopped by"))]
    return (errors or lines or [f"exit code {code}"])[-1]


def read_metrics(path):
    """The epoch lines and the test line (or None) of a run, as far as it got."""
    lines = read_json_lines(path) if os.path.exists(path) else []
    tests = [line for line in lines if "test_ppl" in line]
    return [line for line in lines if "epoch" in line], (tests[-1] if tests else None)


def groups(runs):
    """The runs of each (framework, batching), in the order they ran."""
    grouped = {}
    for run in runs:
        grouped.setdefault((run["framework"], run["batching"]), []).append(run)
    return list(grouped.values())


def counted(group):
    """The runs a row's numbers come from: those that finished, or else
    those that stopped early (their numbers are of fewer epochs)."""
    return ([run for run in group if run["status"] == "done"]
            or [run for run in group if run["status"] == "stopped"])


def table_rows(runs):
    """One row of COLUMNS per (framework, batching), formatted for reading:
    each number the mean of its seeds' runs, their range in brackets."""
    for group in groups(runs):
        framework, batching = group[0]["framework"], group[0]["batching"]
        runs_counted = counted(group)
        if not runs_counted:
            yield [framework, batching, "failed", group[0]["error"]] + [""] * 8
            continue
        last = [run["epochs"][-1] if run["epochs"] else {} for run in runs_counted]
        tests = [run["test"] or {} for run in runs_counted]
        yield [framework, batching, epochs_cell(group),
               spread_cell(last, "train_ppl", "{:.2f}"), spread_cell(last, "valid_ppl", "{:.2f}"),
               spread_cell(tests, "test_ppl", "{:.2f}"), best_cell(tests),
               spread_cell(tests, "test_words", "{:,}"),
               spread_cell(per_run(runs_counted, "words_per_sec"), "value", "{:,.0f}"),
               spread_cell(per_run(runs_counted, "seconds"), "value", "{:.1f}"),
               spread_cell(tests, "peak_memory_mb", lambda mb: f"{mb / 1000:.2f}"),
               spread_cell(per_run(runs_counted, "padding", statistics.mean), "value", "{:.1%}")]


def epochs_cell(group):
    """`13`, `stopped after 4`, or each kind with its count: `13 (2), failed (1)`."""
    kinds = collections.Counter(
        {"done": str(len(run["epochs"])), "failed": "failed"}.get(
            run["status"], f"stopped after {len(run['epochs'])}") for run in group)
    if len(kinds) == 1:
        return next(iter(kinds))
    return ", ".join(f"{kind} ({count})" for kind, count in kinds.items())


def spread_cell(lines, key, show):
    """The mean of `key` over metrics lines and, for several, (min-max);
    blank if no line has it, "not finite" if one is a JSON null. `show` is a
    format string or a function."""
    values = [line[key] for line in lines if key in line]
    if not values:
        return ""
    if None in values:
        return "not finite"
    show = show if callable(show) else show.format
    mean = show(statistics.mean(values))
    return mean if len(values) == 1 else f"{mean} ({show(min(values))}-{show(max(values))})"


def per_run(runs, key, summary=statistics.median):
    """Each run's `summary` of `key` over its training epochs, as lines for spread_cell."""
    return [{"value": summary(e[key] for e in run["epochs"])} for run in runs if run["epochs"]]


def best_cell(tests):
    """`9: 199.12`, the best epoch (by valid ppl) and its test perplexity;
    over several seeds, the range of the epochs and the spread of the ppl."""
    with_best = [test for test in tests if test.get("best_epoch") is not None]
    if not with_best:
        return ""
    epochs = sorted({test["best_epoch"] for test in with_best})
    shown = str(epochs[0]) if len(epochs) == 1 else f"{epochs[0]}-{epochs[-1]}"
    return f"{shown}: {spread_cell(with_best, 'best_test_ppl', '{:.2f}')}"


def test_ranges(runs):
    """{(framework, batching): (lowest, highest) test ppl of its counted runs}."""
    ranges = {}
    for group in groups(runs):
        ppls = [run["test"]["test_ppl"] for run in counted(group)
                if run["test"] and run["test"]["test_ppl"] is not None]
        if ppls:
            ranges[(group[0]["framework"], group[0]["batching"])] = (min(ppls), max(ppls))
    return ranges


def apart(first, second):
    """Whether two (lowest, highest) ranges do not overlap."""
    return first[1] < second[0] or second[1] < first[0]


def spread_note(runs, seeds):
    """One sentence: which differences of test perplexity between frameworks
    or batchings are larger than the spread over the seeds, and which not."""
    if len(seeds) == 1:
        return ("One seed: the seed alone moves a run's numbers, so differences between rows "
                "are not yet known to be larger than that (--seeds 1,2,3 measures it).")
    ranges = test_ranges(runs)
    frameworks = list(dict.fromkeys(framework for framework, _ in ranges))
    parts = []
    for ways in itertools.combinations(BATCHINGS, 2):
        by_batching = {True: [], False: []}
        for framework in frameworks:
            pair = [ranges.get((framework, batching)) for batching in ways]
            if None not in pair:
                by_batching[apart(*pair)].append(framework)
        clauses = [f"{kind} for {', '.join(by_batching[key])}" for key, kind in
                   ((True, "apart"), (False, "within the spread")) if by_batching[key]]
        if clauses:
            parts.append(f"by batching, {ways[0]} and {ways[1]} are " + " and ".join(clauses))
    between = {True: [], False: []}
    for batching in BATCHINGS:
        present = [framework for framework in frameworks if (framework, batching) in ranges]
        for i, first in enumerate(present):
            for second in present[i + 1:]:
                low, high = sorted((first, second), key=lambda name: ranges[(name, batching)][0])
                between[apart(ranges[(first, batching)], ranges[(second, batching)])].append(
                    f"{low} < {high} by {batching}")
    if between[True] or between[False]:
        count = len(between[True]) + len(between[False])
        listed = f" ({'; '.join(between[True])})" if between[True] else ""
        parts.append(f"between frameworks with one batching, {len(between[True])} of {count} pairs "
                     f"are apart{listed}, {len(between[False])} within the spread")
    parts += unpaired_note(ranges)
    return (f"Test perplexity over seeds {', '.join(map(str, seeds))}, two rows counting as apart "
            "when their ranges do not overlap: " + "; ".join(parts or ["no two rows to compare"]) + ".")


def unpaired_note(ranges):
    """For the rows that share neither framework nor batching with any
    other (compare.py's defaults, fluid by sentences and tensorflow by
    chunks): whether each two of them are apart, and that two things differ."""
    alone = [row for row in ranges
             if not any(other != row and (other[0] == row[0] or other[1] == row[1])
                        for other in ranges)]
    notes = []
    for i, first in enumerate(alone):
        for second in alone[i + 1:]:
            low, high = sorted((first, second), key=lambda row: ranges[row][0])
            kind = f"apart ({low[0]} lower)" if apart(ranges[first], ranges[second]) else \
                "within the spread"
            notes.append(f"{low[0]} by {low[1]} and {high[0]} by {high[1]} are {kind}, "
                         "with framework and batching both different, so either may be the cause")
    return notes


def markdown_table(runs):
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + " --- |" * len(COLUMNS)]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(runs)]
    return "\n".join(lines)


def scored_tokens_note(runs, expected):
    """Say whether every run scored the same W + L test tokens."""
    scored = {run["test"]["test_words"] for run in runs if run["test"]}
    if not scored:
        return "No run reached its test."
    if scored == {expected}:
        return f"Every run scored the same {expected:,} test tokens (W + L of the test split)."
    return f"**Warning:** test tokens scored differ: {sorted(scored)} against W + L = {expected:,}."


def unfinished_notes(runs):
    """A line for each run that did not finish, with why and where its log is."""
    notes = [f"- {label(run)}: {run['status']}, {run['error']} "
             f"(log: {os.path.basename(run['log'])}, beside this report)"
             for run in runs if run["status"] != "done"]
    return ["## Runs that did not finish\n\n" + "\n".join(notes)] if notes else []


def label(run):
    return f"{run['framework']}/{run['batching']} seed {run['seed']}"


def write_report(runs, seeds, command, test_targets, out):
    each = ("each number is the mean of one run per seed, the lowest and highest in brackets; "
            if len(seeds) > 1 else "")
    text = "\n\n".join([
        "# Side by side: " + ", ".join(dict.fromkeys(run["framework"] for run in runs)),
        f"    {command}",
        f"Machine: {machine_summary()}.\nVersions: {versions_line()}.",
        markdown_table(runs),
        f"Seeds {', '.join(map(str, seeds))}: {each}words/s and s/epoch are the median over the "
        "training epochs; padding is the fraction of the time steps computed in training that "
        "were padding; peak memory is each process's peak resident size. "
        + scored_tokens_note(runs, test_targets),
        spread_note(runs, seeds),
        "![valid perplexity per epoch, and training words/s](comparison.png)",
        "## The runs\n\n" + "\n".join(f"    {run['command']}" for run in runs),
        *unfinished_notes(runs),
    ])
    with open(os.path.join(out, "comparison.md"), "w", encoding="utf-8") as report:
        report.write(text + "\n")


def plot(runs, out):
    """valid perplexity per epoch, a line per framework and batching (the
    mean over its seeds, their range as a band); training words/s beside it
    (the range as error bars)."""
    import matplotlib
    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    shown = [(group, [run for run in counted(group) if run["epochs"]]) for group in groups(runs)]
    shown = [(group[0], with_epochs) for group, with_epochs in shown if with_epochs]
    figure, (curves, speed) = plt.subplots(1, 2, figsize=(11, 4))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for (first, with_epochs), color in zip(shown, colors):
        epochs = range(1, min(len(run["epochs"]) for run in with_epochs) + 1)
        valid = [[run["epochs"][epoch - 1]["valid_ppl"] for run in with_epochs] for epoch in epochs]
        curves.plot(epochs, [statistics.mean(values) for values in valid], marker="o", color=color,
                    label=f"{first['framework']} / {first['batching']}")
        if len(with_epochs) > 1:
            curves.fill_between(epochs, [min(v) for v in valid], [max(v) for v in valid],
                                color=color, alpha=0.2)
    curves.set(xlabel="epoch", ylabel="valid perplexity", title="Validation perplexity")
    curves.xaxis.get_major_locator().set_params(integer=True)
    if shown:  # a run stopped before its first epoch has no curve
        curves.legend()
    speeds = [[line["value"] for line in per_run(with_epochs, "words_per_sec")]
              for _, with_epochs in shown]
    means = [statistics.mean(values) for values in speeds]
    speed.bar([f"{first['framework']}\n{first['batching']}" for first, _ in shown], means,
              yerr=[[mean - min(values) for mean, values in zip(means, speeds)],
                    [max(values) - mean for mean, values in zip(means, speeds)]],
              color=colors[:len(shown)], capsize=4)
    speed.set(ylabel="words/s", title="Training speed (median epoch)")
    figure.tight_layout()
    figure.savefig(os.path.join(out, "comparison.png"), dpi=100)
    plt.close(figure)


def folder_size(folder):
    return sum(os.path.getsize(os.path.join(root, name))
               for root, _, names in os.walk(folder) for name in names)


def kept_note(out):
    """What --out holds beside the report, and how much of the disk it takes."""
    checkpoints = os.path.join(out, "checkpoints")
    if not os.path.isdir(checkpoints) or not os.listdir(checkpoints):
        return f"beside it, each run's log and metrics ({folder_size(out) / 1e6:.1f} MB in all)"
    return (f"beside it, each run's log, metrics and checkpoints (last and best epoch) in "
            f"{checkpoints}, {folder_size(checkpoints) / 1e6:.1f} MB; --reports_only keeps no "
            "checkpoints")


def claim_report_folder(out):
    """--out is new or empty, or an earlier compare.py's, whose runs of the
    same names are done again."""
    refuse_other_files(out, REPORT_FILE.fullmatch, "--out", "compare.py's")
    writable_folder(out, "--out")


def run_all(planned, script_flags, args):
    """Run the planned (framework, batching, seed) in turn until a stop;
    return the runs' records and the stop, if any."""
    runs = []
    for framework, batching, seed in planned:
        try:
            run, stop = run_training(framework, batching, seed, script_flags, args)
        except KeyboardInterrupt as interrupt:  # before its script started: left out
            stop_handled()
            return runs, interrupt
        runs.append(run)
        if stop:
            return runs, stop  # the runs not started are left out of the report
    return runs, None


def report(runs, seeds, command, test_targets, out):
    """Write the report and its chart into `out`, and print its table:
    whole, whatever stop comes meanwhile."""
    with stops_deferred(), writes_told(f"the report in --out {out}", "each run's log and "
                                       "metrics are there: free the space, or give another --out"):
        write_report(runs, seeds, command, test_targets, out)
        plot(runs, out)
        print(f"\n{markdown_table(runs)}\n\n{scored_tokens_note(runs, test_targets)}\n"
              f"{spread_note(runs, seeds)}")
        print(f"report: {os.path.join(out, 'comparison.md')}; {kept_note(out)}")


def main(argv=None):
    args, script_flags, config_args = parse_args(argv)
    data = corpus.load_corpus(config_args.data_dir)  # fails here, before any run, if it must
    if args.logdir:  # each run's event files go into a subfolder: refused here, not in each run
        refuse_inside_checkpoint(args.logdir, "--logdir", os.path.join(args.out, "checkpoints"),
                                 "--out's checkpoints")
        writable_folder(args.logdir, "--logdir")
    claim_report_folder(args.out)
    # Seed by seed: a report cut short by a stop still covers every configuration.
    planned = [(framework, batching, seed) for seed in args.seeds
               for framework, batching in planned_runs(args.scripts, args.batchings)]
    runs, stop = run_all(planned, script_flags, args)
    report(runs, args.seeds, repo_command("compare.py", sys.argv[1:] if argv is None else argv),
           count_targets(data.test), args.out)
    if stop:
        raise stop
    unfinished = [label(run) for run in runs if run["status"] != "done"]
    if unfinished:
        raise UserError(f"{', '.join(unfinished)} did not finish; the report says why")


if __name__ == "__main__":
    run_cli(main)
