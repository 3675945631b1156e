"""Keras's slow mode: one epoch of rnnlm_keras.py with the C heap's headroom
(compat/heap.py) and without it, in turns, with the page faults of each:

    python experiments/keras_page_faults.py --data_dir data/ptb-mini [--model small] [--rounds 3]

Each run is a process of its own, which trains one epoch as the script does
(its default step, or `--no-compile`'s) and reports its training words/s and
the minor page faults of its run (from the script's main() to its end,
imports left out). Without the headroom, glibc gives back to the kernel the
blocks of several megabytes that every Keras step frees, and the next step
faults them in again.
"""
import argparse
import json
import os
import resource
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from config import PRESETS, OneLineParser, existing_dir, positive_int  # noqa: E402
from experiments.children import measured_apart  # noqa: E402
from training.errors import run_cli  # noqa: E402

HEADROOM = ("on", "off")


def run_one(headroom, script_args):
    """{words_per_sec, page_faults} of one epoch in this process."""
    if headroom == "off":
        import compat.heap
        compat.heap.keep_freed_memory = lambda: None  # before compat.keras3 calls it
    import rnnlm_keras
    with tempfile.TemporaryDirectory() as folder:
        metrics = os.path.join(folder, "metrics.jsonl")
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        rnnlm_keras.main([*script_args, "--epochs", "1", "--save_dir", os.path.join(folder, "ck"),
                          "--metrics_file", metrics])
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
        with open(metrics, encoding="utf-8") as lines:
            epoch = json.loads(lines.readline())
    return dict(words_per_sec=epoch["words_per_sec"], page_faults=faults)


def run_apart(headroom, script_args):
    """run_one in a process of its own."""
    return measured_apart([sys.executable, os.path.abspath(__file__), "--one", headroom,
                           "--", *script_args], f"the run with the heap headroom {headroom}")


def main(argv=None):
    parser = OneLineParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data_dir", type=existing_dir, default="data")
    parser.add_argument("--model", default="small", choices=sorted(PRESETS))
    parser.add_argument("--rounds", type=positive_int, default=3)
    parser.add_argument("--no-compile", dest="compile", action="store_false",
                        help="Keras's own LSTM layers, eagerly (default: the script's default)")
    parser.add_argument("--one", choices=HEADROOM, help=argparse.SUPPRESS)
    args, script_args = parser.parse_known_args(argv)
    if args.one:
        print(json.dumps(run_one(args.one, [arg for arg in script_args if arg != "--"])))
        return
    script_args = ["--model", args.model, "--data_dir", args.data_dir,
                   *([] if args.compile else ["--no-compile"])]
    print("| round | heap headroom | words/s | minor page faults |\n| --- | --- | --- | --- |")
    for index in range(args.rounds):
        for headroom in HEADROOM:
            run = run_apart(headroom, script_args)
            print(f"| {index + 1} | {headroom} | {run['words_per_sec']:,.0f} | "
                  f"{run['page_faults']:,} |", flush=True)


if __name__ == "__main__":
    run_cli(main)
