"""Measure data-parallel training: words/s of 1 and of N workers, one math thread each.

    python bench_workers.py --data_dir ../shared/data/ptb-mini --model small

For each script that trains on several workers, one epoch with 1 worker and
one with N (python launch_tf.py or python -m paddle.distributed.launch),
each worker with --batch_size B and 1 thread; the words/s is worker 0's
metrics line: the global batch's target words over its training seconds.
N workers train on N x B rows a step, one worker on B: what a user gains by
adding workers at a fixed per-worker batch. Prints a table with the
machine and the versions.

    python bench_workers.py --on_paper

works out instead, from the model's size alone, the gradient bytes a step
exchanges, the ring all-reduce time they take on a 100 Gb/s network and on
NVLink, and where that stops the scaling, against the step time of one GPU
in TensorFlow's PTB tutorial (docs/more-than-one-worker.md says how).
"""
import json
import math
import os
import subprocess
import sys
import tempfile

from config import PRESETS, Config, OneLineParser, positive_int
from training.errors import UserError, run_cli
from training.reports import machine_summary, repo_command, versions_line

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = ("tensorflow", "paddle", "keras")
# TensorFlow's PTB tutorial (ptb_word_lm.py): words/s on one Titan X.
GPU_WORDS_PER_SEC = {"small": 17_200, "medium": 13_600, "large": 5_000}
LINKS = {"100 Gb/s network": 12.5e9, "NVLink, 300 GB/s": 300e9}  # bytes/s each way
PTB_VOCAB = 10_000


def parse_args(argv):
    parser = OneLineParser(prog="bench_workers.py", description=__doc__.splitlines()[0])
    parser.add_argument("--data_dir")
    parser.add_argument("--model", default="small")
    parser.add_argument("--workers", type=positive_int, default=2)
    parser.add_argument("--scripts", default=",".join(SCRIPTS))
    parser.add_argument("--on_paper", action="store_true",
                        help="the all-reduce arithmetic for each preset instead (no training)")
    args = parser.parse_args(argv)
    if not args.on_paper and not args.data_dir:
        parser.error("--data_dir is required unless --on_paper")
    return args


def gradient_bytes(config):
    """float32 bytes of every weight's gradient: embedding, LSTM layers
    (kernel [2H, 4H] and bias), softmax."""
    hidden, vocab = config.hidden_size, PTB_VOCAB
    lstm = config.num_layers * (2 * hidden * 4 * hidden + 4 * hidden)
    return 4 * (vocab * hidden + lstm + hidden * vocab + vocab)


def on_paper():
    """Per preset: the bytes, the all-reduce time on each link, the GPU's step
    time, and the workers at which a step of the preset's batch, split among
    them, runs at half efficiency."""
    rows = ["| preset | gradient per step | GPU step (words/s) | "
            + " | ".join(f"all-reduce, {link} | half efficiency at" for link in LINKS) + " |",
            "|" + " --- |" * (3 + 2 * len(LINKS))]
    for model in ("small", "medium", "large"):
        config = Config(**PRESETS[model])
        size = gradient_bytes(config)
        step = config.batch_size * config.num_steps / GPU_WORDS_PER_SEC[model]
        cells = [f"{size / 1e6:.1f} MB", f"{step * 1e3:.1f} ms ({GPU_WORDS_PER_SEC[model]:,})"]
        for bandwidth in LINKS.values():
            ring = 2 * size / bandwidth  # the most a ring all-reduce takes, at any N
            workers = 1 + step / ring
            cap = f" (but {config.batch_size} rows)" if workers > config.batch_size else ""
            cells += [f"{ring * 1e3:.2f} ms", f"{math.floor(workers)} workers{cap}"]
        rows.append(f"| {model} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def command(script, workers, flags, folder):
    """The command line that trains `script` on `workers` local workers."""
    if workers == 1:
        return [sys.executable, f"rnnlm_{script}.py", *flags]
    if script == "paddle":
        return [sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node",
                str(workers), "--log_dir", os.path.join(folder, "logs"), "rnnlm_paddle.py", *flags]
    return [sys.executable, "launch_tf.py", "--workers", str(workers), f"rnnlm_{script}.py", *flags]


def one_epoch(script, workers, args):
    """Worker 0's metrics line of one epoch on `workers` workers."""
    with tempfile.TemporaryDirectory() as folder:
        metrics = os.path.join(folder, "metrics.jsonl")
        flags = ["--model", args.model, "--data_dir", args.data_dir, "--epochs", "1",
                 "--threads", "1", "--device", "cpu", "--save_dir", os.path.join(folder, "ck"),
                 "--metrics_file", metrics]
        result = subprocess.run(command(script, workers, flags, folder), cwd=HERE,
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise UserError(f"{script} on {workers} workers failed: "
                            f"{(result.stderr.strip().splitlines() or ['?'])[-1]}")
        with open(metrics, encoding="utf-8") as lines:
            return json.loads(lines.readline())


def main(argv=None):
    args = parse_args(argv)
    if args.on_paper:
        print(f"    {repo_command('bench_workers.py', argv or sys.argv[1:])}\n\n{on_paper()}")
        return
    rows = ["| script | batching | 1 worker, words/s | "
            f"{args.workers} workers, words/s | speed-up | valid ppl, 1 / {args.workers} |",
            "| --- | --- | --- | --- | --- | --- |"]
    for script in args.scripts.split(","):
        one, many = one_epoch(script, 1, args), one_epoch(script, args.workers, args)
        rows.append(f"| {script} | {one['batching']} | {one['words_per_sec']:,.0f} | "
                    f"{many['words_per_sec']:,.0f} | "
                    f"{many['words_per_sec'] / one['words_per_sec']:.2f} | "
                    f"{one['valid_ppl']:.1f} / {many['valid_ppl']:.1f} |")
        print(rows[-1], flush=True)
    print(f"\n    {repo_command('bench_workers.py', argv or sys.argv[1:])}\n\n"
          f"{machine_summary()}; {versions_line()}\n\n" + "\n".join(rows))


if __name__ == "__main__":
    run_cli(main)
