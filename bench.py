"""Benchmark the training scripts: speed, memory, and how near this machine's limit.

    python bench.py --data_dir data
    python bench.py --data_dir data --models small --threads 1
    python bench.py --data_dir data --models small --workers 2
    python bench.py --on_paper
    python bench.py --data_dir data --scoring --repeats 3
    python bench.py --data_dir data --reference tf-tutorial ../models --reference pytorch PYTHON

For every script x batching x mode x preset (--runs, --modes, --models), a fresh process
builds the network
with the training script's own functions and times the script's own
run_epoch on mini-batches of train (training) and valid (evaluation):
--warmup batches first, then --repeats timings of --batches batches each,
and reports the median words/s and the process's peak resident memory. The
modes: idiom, the script as it teaches its framework, and compiled, with
--compile (its framework's compiled path); and,
over the training batches as the script feeds them (today's scripts
through their input pipeline), the share of the time steps fed that are
padding, the words/s of reading them alone, with no model, and how many
shapes of batch an epoch of training and evaluation feeds (XLA compiles
each once). In
the same process it times the framework's own float32 matrix multiply at
the shapes the model uses, and with the model's FLOPs per word works out

    efficiency = training words/s x training FLOPs per word / matmul FLOP/s

Each row also gives, per training batch, the time run_epoch spends outside
the framework's call (feeding, state, progress, the stop hold). An input
pipeline's start-up, once an epoch, is left out of every timing. With
--reference tf-tutorial CLONE it also times TensorFlow's own PTB tutorial
from a git clone of tensorflow/models (benchmarks/tf_tutorial.py), in turns
with rnnlm_tensorflow.py's chunks in one process; with --reference pytorch
PYTHON, experiments/pytorch_reference.py in a Python that has torch; and
each row's speed as a multiple of theirs.

With --profile it also shows how a training step's operator time divides
among operator types (Paddle's profiler, both modes; the v1 Session's step
traces; not for Keras). The
table is printed and written as JSON (--out). Ctrl-C or SIGTERM stops the
measuring: what was measured is still printed and written, with where it
stopped. Nothing here asserts a speed; the tests only check that the
numbers are computed as documented.

With --workers N it measures data-parallel training instead: the second of
two epochs of each script that trains on several workers, on 1 worker and
on N, and where a step's time goes: its compute (1 worker's step) and its
engine's all-reduce of each gradient on N workers
(benchmarks/all_reduce.py), and the speed-up the two predict
(benchmarks/workers.py); with --on_paper it works out what the all-reduce
would cost on a real network, from the model's size alone; with --scoring
it times scoring instead: each script's export in its framework's runtime
and as ONNX in onnxruntime, with the ONNX graphs' operators
(benchmarks/scoring.py). What it measures of one training run, and the
table, are benchmarks/speed.py.
"""
import argparse
import json
import os
import sys

from benchmarks import scoring, workers
from benchmarks.speed import (
    REFERENCES,
    check_reference,
    measure_all,
    measure_one,
    table,
    write_results,
)
from config import (
    BATCHINGS,
    DEFAULT_BATCHING,
    FRAMEWORKS,
    PRESETS,
    OneLineParser,
    non_negative_int,
    positive_int,
)
from ptb import corpus
from training.errors import describe_stop, run_cli, stops_deferred
from training.files import refuse_output_file
from training.reports import (
    machine_summary,
    repo_command,
    versions_line,
)

# Every script batching every way, its own way first.
RUNS = [(framework, batching) for framework in FRAMEWORKS
        for batching in sorted(BATCHINGS,
                               key=lambda way, framework=framework: way != DEFAULT_BATCHING[framework])]
# Each script as it teaches its framework, and on its framework's compiled path (--compile).
MODES = ("idiom", "compiled")
# --profile reads Paddle's profiler (both modes) and the v1 Session's step traces.
PROFILED = ("fluid", "paddle", "tensorflow")
TUTORIAL_PRESETS = ("small", "medium", "large")  # its SmallConfig, ...
# rnnlm_fluid.py trains on one worker (distributed/fluid.py); the others by their own batching.
WORKER_RUNS_ALLOWED = [(framework, batching) for framework, batching in RUNS if framework != "fluid"]
WORKER_RUNS = [(framework, batching) for framework, batching in WORKER_RUNS_ALLOWED
               if batching == DEFAULT_BATCHING[framework]]


def parse_args(argv):
    parser = OneLineParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data_dir", default="data", help="folder with the PTB files")
    parser.add_argument("--models", default="small,medium", help="presets, comma-separated")
    parser.add_argument("--runs", help="FRAMEWORK/BATCHING pairs, comma-separated, for example "
                        "paddle/chunks,fluid/sentences (default: all twelve; with --workers, each "
                        "data-parallel script's own batching)")
    parser.add_argument("--modes", default=",".join(MODES),
                        help="idiom (each script as it teaches its framework) and compiled "
                             "(with --compile, its framework's compiled path), comma-separated")
    parser.add_argument("--threads", type=positive_int,
                        help="CPU threads for the math (default: one per core)")
    parser.add_argument("--warmup", type=non_negative_int, default=3, help="untimed batches first")
    parser.add_argument("--batches", type=positive_int, default=15, help="batches per timing")
    parser.add_argument("--repeats", type=positive_int, default=7,
                        help="timings; the median is reported")
    parser.add_argument("--reference", nargs=2, action="append", default=[],
                        metavar=("NAME", "PATH"),
                        help="also time a reference by chunks, for each preset: tf-tutorial CLONE "
                             "(TensorFlow's PTB tutorial, from a git clone of tensorflow/models) "
                             "or pytorch PYTHON (experiments/pytorch_reference.py, by a Python "
                             "that has torch); repeatable")
    parser.add_argument("--profile", action="store_true",
                        help="also show where a training step's operator time goes")
    parser.add_argument("--out", default=os.path.join("results", "bench.json"),
                        help="JSON file for the results")
    parser.add_argument("--workers", type=positive_int,
                        help="instead: words/s of a second epoch (the first warms) on 1 worker "
                             "and on this many, one thread each, for the scripts that train "
                             "on several")
    parser.add_argument("--on_paper", action="store_true",
                        help="instead: the all-reduce arithmetic of each preset (no training)")
    parser.add_argument("--scoring", action="store_true",
                        help="instead: scoring words/s of each script's export in its framework's "
                             "runtime and in onnxruntime (--repeats passes over the valid split), "
                             "and the ONNX graphs' operators")
    # One measurement in this process: what the parent runs in each child.
    parser.add_argument("--one", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.models = args.models.split(",")
    default_runs = WORKER_RUNS if args.workers else RUNS
    args.runs = ([tuple(run.split("/")) for run in args.runs.split(",")] if args.runs
                 else default_runs)
    if args.profile and not args.one and any(framework not in PROFILED for framework, _ in args.runs):
        parser.error(f"--profile: only {', '.join(PROFILED)} runs have an operator profile here; "
                     "leave the others out of --runs")
    args.modes = args.modes.split(",")
    for mode in args.modes:
        if mode not in MODES:
            parser.error(f"--modes: unknown mode {mode!r}; choose from {', '.join(MODES)}")
    for model in args.models:
        if model not in PRESETS:
            parser.error(f"--models: unknown preset {model!r}; choose from {sorted(PRESETS)}")
    allowed = WORKER_RUNS_ALLOWED if args.workers else RUNS
    for run in args.runs:
        if run not in allowed:
            why = "; rnnlm_fluid.py trains on one worker" if args.workers else ""
            parser.error(f"--runs: {'/'.join(run)!r} is not one of "
                         f"{', '.join(f'{f}/{b}' for f, b in allowed)}{why}")
    for name, _ in args.reference:
        if name not in REFERENCES:
            parser.error(f"--reference: unknown reference {name!r}; choose from "
                         f"{', '.join(REFERENCES)}")
        if args.workers or args.on_paper or args.scoring:
            parser.error("--reference: times one process's training; leave out --workers, "
                         "--on_paper and --scoring")
        if name == "tf-tutorial" and not set(args.models) <= set(TUTORIAL_PRESETS):
            parser.error(f"--reference tf-tutorial: the tutorial has the presets "
                         f"{', '.join(TUTORIAL_PRESETS)}; choose --models from them")
    return args

def main(argv=None):
    args = parse_args(argv)
    command = repo_command("bench.py", sys.argv[1:] if argv is None else argv)
    if args.on_paper:
        print(f"    {command}\n\n{workers.on_paper()}")
        return
    if args.one:
        print(json.dumps(measure_one(*args.one, args)))
        return
    corpus.load_corpus(args.data_dir)  # fails here, before any measurement, if it must
    if args.workers:
        rows = workers.scaling_table(args.runs, args.models, args.workers, args.data_dir)
        print(f"\n    {command}\n\n{machine_summary()}; {versions_line()}\n\n{rows}")
        return
    refuse_output_file(args.out, "--out", "bench.py's results", "machine")  # not after measuring
    if args.scoring:
        rows = scoring.scoring_rows(args.models, args.data_dir, args.repeats)
        write_results(args.out, command, onnx=scoring.onnx_versions(), scoring=rows)
        print(f"\n    {command}\n\n{machine_summary()}; {versions_line()}, "
              f"{scoring.onnx_versions()}\n\n"
              f"{scoring.scoring_table(rows)}\n\nwritten: {args.out}")
        return
    for name, path in args.reference:
        check_reference(name, path)
    runs = [(framework, batching, mode) for framework, batching in args.runs for mode in args.modes]
    runs += [(name, "chunks", "idiom") for name, _ in args.reference]
    plan = [(framework, batching, mode, model)
            for model in args.models for framework, batching, mode in runs]
    results, stop = measure_all(plan, args)
    stopped = (f"{describe_stop(stop)} after {len(results)} of {len(plan)} measurements"
               if stop else None)
    # What was measured is written whole, whatever stop comes meanwhile.
    with stops_deferred():
        write_results(args.out, command, results=results,
                      **({"stopped": stopped} if stopped else {}))
        report(command, results, stopped, args.out)
    if stop:
        raise stop


def report(command, results, stopped, out):
    """Print the table of `results`, the operator shares of those profiled,
    and where they were written."""
    print(f"\n{command}\n{machine_summary()}\n{versions_line()}\n\n{table(results)}\n")
    for r in results:
        if "operator_shares" in r:
            print(f"{r['framework']}/{r['batching']} {r['model']}, share of operator time in "
                  "training: " + ", ".join(f"{kind} {share:.0%}" for kind, share in r["operator_shares"]))
    print(f"written: {out}" + (f" ({stopped})" if stopped else ""))


if __name__ == "__main__":
    run_cli(main)
