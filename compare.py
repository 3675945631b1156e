"""Train with several scripts on the same data and settings, and report side by side.

    python compare.py --model small --data_dir data            # each script's own batching
    python compare.py --matrix --model small --data_dir data   # framework x batching, 4 runs
    python compare.py --scripts fluid,tensorflow,paddle,keras --matrix --data_dir data  # 8 runs

Every other flag (--epochs, --seed, --device, ...) goes to every script
unchanged. Each run is a subprocess with its own log, metrics file and
checkpoints under --out; then comparison.md and comparison.png are written
there and the table is printed. A run that fails, or stops early, is
reported as such, the others still run, and compare.py exits non-zero.
Ctrl-C or SIGTERM is passed on to the running script, which stops as it
does on its own; the report then covers the runs so far.
"""
import argparse
import os
import signal
import statistics
import subprocess
import sys

from config import DEFAULT_BATCHING, OneLineParser, build_parser
from ptb import corpus
from training.errors import Terminated, UserError, run_cli
from training.reports import machine_summary, read_json_lines, repo_command, versions_line

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = {framework: f"rnnlm_{framework}.py" for framework in DEFAULT_BATCHING}
SET_BY_COMPARE = ("--batching", "--save_dir", "--metrics_file", "--resume", "--overwrite")
COLUMNS = ("framework", "batching", "epochs", "train ppl", "valid ppl", "test ppl",
           "best epoch: test ppl", "test words", "words/s", "s/epoch", "peak memory", "padding")


def parse_args(argv):
    parser = OneLineParser(
        description=__doc__.split("\n")[0],
        epilog="All other flags are the training scripts' (see rnnlm_fluid.py --help).")
    parser.add_argument("--scripts", type=script_list, default="fluid,tensorflow",
                        help=f"the training scripts to run, comma-separated, of {', '.join(SCRIPTS)}")
    parser.add_argument("--matrix", action="store_true",
                        help="run each script batching both ways, not only its default way")
    parser.add_argument("--out", help="output folder (default: results/compare-MODEL)")
    args, script_flags = parser.parse_known_args(argv)
    given = [flag for flag in script_flags if flag.split("=")[0] in SET_BY_COMPARE]
    if given:
        raise UserError(f"{given[0]}: compare.py sets this for each run itself; leave it out")
    # The scripts' own parser, so a bad flag stops here and not in every run.
    config_args = build_parser("fluid").parse_args(script_flags)
    args.out = args.out or os.path.join("results", f"compare-{config_args.model}")
    return args, script_flags, config_args


def script_list(text):
    """--scripts: names of SCRIPTS, returned in SCRIPTS' order."""
    names = text.split(",")
    unknown = [name for name in names if name not in SCRIPTS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown script {unknown[0]!r}; "
                                         f"choose from {', '.join(SCRIPTS)}")
    return [name for name in SCRIPTS if name in names]


def planned_runs(scripts, matrix):
    """(framework, batching) pairs: each script's default batching, or both."""
    if not matrix:
        return [(framework, DEFAULT_BATCHING[framework]) for framework in scripts]
    return [(framework, batching) for framework in scripts for batching in ("sentences", "chunks")]


def run_training(framework, batching, script_flags, out):
    """Run one training script to its end; return its record: the command,
    log, status (done, stopped or failed), epochs, test line and error."""
    name = f"{framework}-{batching}"
    metrics_file = os.path.join(out, f"{name}.jsonl")
    # --overwrite: each compare.py run starts its runs afresh in its own folder.
    args = [*script_flags, "--batching", batching, "--metrics_file", metrics_file,
            "--save_dir", os.path.join(out, "checkpoints", name), "--overwrite"]
    command = repo_command(SCRIPTS[framework], args)
    print(f"running {name}: {command}", flush=True)
    log_path = os.path.join(out, f"{name}.log")
    with open(log_path, "w", encoding="utf-8") as log:
        # A session of its own: Ctrl-C in the terminal reaches only compare.py,
        # which passes it on once.
        child = subprocess.Popen([sys.executable, os.path.join(HERE, SCRIPTS[framework]), *args],
                                 stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        code, stop = wait_passing_on_stops(child)
    epochs, test = read_metrics(metrics_file)
    finished = code == 0 and test is not None and not test["interrupted"]
    status = "done" if finished else "stopped" if epochs or test else "failed"
    run = dict(framework=framework, batching=batching, command=command, log=log_path,
               status=status, epochs=epochs, test=test,
               error=None if finished else last_error_line(log_path, code))
    return run, stop


def wait_passing_on_stops(child):
    """Wait for `child`; a Ctrl-C or SIGTERM meanwhile is passed on to it.
    Return its exit code and the stop compare.py received, if any."""
    stop = None
    while True:
        try:
            return child.wait(), stop
        except KeyboardInterrupt as interrupt:
            stop = interrupt
            child.send_signal(signal.SIGTERM if isinstance(interrupt, Terminated) else signal.SIGINT)


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


def table_rows(runs):
    """One row of COLUMNS per run, formatted for reading."""
    for run in runs:
        epochs, test = run["epochs"], run["test"]
        if run["status"] == "failed":
            yield [run["framework"], run["batching"], "failed", run["error"]] + [""] * 8
            continue
        last = epochs[-1] if epochs else None
        done = str(len(epochs)) if run["status"] == "done" else f"stopped after {len(epochs)}"
        words_per_sec, seconds, padding = epoch_cells(epochs)
        yield [run["framework"], run["batching"], done,
               cell(last, "train_ppl", "{:.2f}"), cell(last, "valid_ppl", "{:.2f}"),
               cell(test, "test_ppl", "{:.2f}"), best_cell(test), cell(test, "test_words", "{:,}"),
               words_per_sec, seconds,
               cell(test, "peak_memory_mb", lambda mb: f"{mb / 1000:.2f} GB"), padding]


def cell(line, key, show):
    """A table cell from a metrics line: blank if there is no line, "not
    finite" for a JSON null, else show (a format string or a function)."""
    if line is None:
        return ""
    if line[key] is None:
        return "not finite"
    return show(line[key]) if callable(show) else show.format(line[key])


def best_cell(test):
    """`9: 199.12`, the best epoch (by valid ppl) and its test perplexity."""
    if test is None or test.get("best_epoch") is None:
        return ""
    return f"{test['best_epoch']}: {cell(test, 'best_test_ppl', '{:.2f}')}"


def epoch_cells(epochs):
    """Median training words/s and seconds per epoch, and the mean padding."""
    if not epochs:
        return ["", "", ""]
    return [f"{statistics.median(e['words_per_sec'] for e in epochs):,.0f}",
            f"{statistics.median(e['seconds'] for e in epochs):.1f}",
            f"{statistics.mean(e['padding'] for e in epochs):.1%}"]


def markdown_table(runs):
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + " --- |" * len(COLUMNS)]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(runs)]
    return "\n".join(lines)


def scored_tokens_note(runs, expected):
    """Say whether every run scored the same W + L test tokens."""
    scored = {run["test"]["test_words"] for run in runs if run["test"]}
    if scored == {expected}:
        return f"Every run scored the same {expected:,} test tokens (W + L of the test split)."
    return f"**Warning:** test tokens scored differ: {sorted(scored)} against W + L = {expected:,}."


def unfinished_notes(runs):
    """A line for each run that did not finish, with why and where its log is."""
    notes = [f"- {run['framework']}/{run['batching']}: {run['status']}, {run['error']} "
             f"(log: {os.path.basename(run['log'])}, beside this report)"
             for run in runs if run["status"] != "done"]
    return ["## Runs that did not finish\n\n" + "\n".join(notes)] if notes else []


def write_report(runs, command, test_targets, out):
    text = "\n\n".join([
        "# Side by side: " + ", ".join(dict.fromkeys(run["framework"] for run in runs)),
        f"    {command}",
        f"Machine: {machine_summary()}.\nVersions: {versions_line()}.",
        markdown_table(runs),
        "words/s and s/epoch are the median over the training epochs; padding is the "
        "fraction of the time steps computed in training that were padding; peak memory "
        "is each process's peak resident size. " + scored_tokens_note(runs, test_targets),
        "![valid perplexity per epoch, and training words/s](comparison.png)",
        "## The runs\n\n" + "\n".join(f"    {run['command']}" for run in runs),
        *unfinished_notes(runs),
    ])
    with open(os.path.join(out, "comparison.md"), "w", encoding="utf-8") as report:
        report.write(text + "\n")


def plot(runs, out):
    """valid perplexity per epoch, every run on one chart; training words/s beside it."""
    import matplotlib
    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    done = [run for run in runs if run["epochs"]]
    figure, (curves, speed) = plt.subplots(1, 2, figsize=(11, 4))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for run, color in zip(done, colors):
        epochs = run["epochs"]
        curves.plot([e["epoch"] for e in epochs], [e["valid_ppl"] for e in epochs], marker="o",
                    color=color, label=f"{run['framework']} / {run['batching']}")
    curves.set(xlabel="epoch", ylabel="valid perplexity", title="Validation perplexity")
    curves.xaxis.get_major_locator().set_params(integer=True)
    curves.legend()
    speed.bar([f"{run['framework']}\n{run['batching']}" for run in done],
              [statistics.median(e["words_per_sec"] for e in run["epochs"]) for run in done],
              color=colors[:len(done)])
    speed.set(ylabel="words/s", title="Training speed (median epoch)")
    figure.tight_layout()
    figure.savefig(os.path.join(out, "comparison.png"), dpi=100)
    plt.close(figure)


def main(argv=None):
    args, script_flags, config_args = parse_args(argv)
    data = corpus.load_corpus(config_args.data_dir)  # fails here, before any run, if it must
    os.makedirs(args.out, exist_ok=True)
    runs, stop = [], None
    for framework, batching in planned_runs(args.scripts, args.matrix):
        run, stop = run_training(framework, batching, script_flags, args.out)
        runs.append(run)
        if stop:
            break  # the runs not started are left out of the report
    test_targets = corpus.count_targets(data.test)
    command = repo_command("compare.py", sys.argv[1:] if argv is None else argv)
    write_report(runs, command, test_targets, args.out)
    plot(runs, args.out)
    print(f"\n{markdown_table(runs)}\n\n{scored_tokens_note(runs, test_targets)}")
    print(f"report: {os.path.join(args.out, 'comparison.md')}")
    if stop:
        raise stop
    unfinished = [f"{run['framework']}/{run['batching']}" for run in runs if run["status"] != "done"]
    if unfinished:
        raise UserError(f"{', '.join(unfinished)} did not finish; the report says why")


if __name__ == "__main__":
    run_cli(main)
