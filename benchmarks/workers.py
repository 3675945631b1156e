"""What bench.py --workers and --on_paper measure and work out: data-parallel training.

For each script that trains on several workers, one epoch with 1 worker and
one with N (python launch_tf.py or python -m paddle.distributed.launch),
each worker with --batch_size B and 1 thread; the words/s is worker 0's
metrics line: the global batch's target words over its training seconds.
N workers train on N x B rows a step, one worker on B: what a user gains by
adding workers at a fixed per-worker batch.

On paper instead, from the model's size alone: the gradient bytes a step
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

from config import PRESETS, Config
from ptb.errors import UserError
from training.errors import child_error
from training.reports import counted

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# TensorFlow's PTB tutorial (ptb_word_lm.py): words/s on one Titan X.
GPU_WORDS_PER_SEC = {"small": 17_200, "medium": 13_600, "large": 5_000}
LINKS = {"100 Gb/s network": 12.5e9, "NVLink, 300 GB/s": 300e9}  # bytes/s each way
PTB_VOCAB = 10_000


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
            cells += [f"{ring * 1e3:.2f} ms", f"{counted(math.floor(workers), 'worker')}{cap}"]
        rows.append(f"| {model} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def command(script, workers, flags, log_dir):
    """The command line that trains `script` on `workers` local workers, as
    README's: Paddle's launcher says only its warnings and errors (-W ignore
    quiets its import's "No ccache found") and logs each worker in `log_dir`."""
    if workers == 1:
        return [sys.executable, f"rnnlm_{script}.py", *flags]
    if script == "paddle":
        return [sys.executable, "-W", "ignore", "-m", "paddle.distributed.launch", "--log_level",
                "WARNING", "--log_dir", log_dir, "--nproc_per_node", str(workers),
                "rnnlm_paddle.py", *flags]
    return [sys.executable, "launch_tf.py", "--workers", str(workers), f"rnnlm_{script}.py", *flags]


def one_epoch(script, batching, workers, model, data_dir):
    """Worker 0's metrics line of one epoch of `model` on `workers` workers."""
    with tempfile.TemporaryDirectory() as folder:
        metrics = os.path.join(folder, "metrics.jsonl")
        flags = ["--model", model, "--batching", batching, "--data_dir", data_dir, "--epochs", "1",
                 "--threads", "1", "--device", "cpu", "--save_dir", os.path.join(folder, "ck"),
                 "--metrics_file", metrics]
        result = subprocess.run(command(script, workers, flags, os.path.join(folder, "logs")), cwd=REPO,
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise UserError(f"{script} on {counted(workers, 'worker')} failed: "
                            f"{child_error(result.stdout + result.stderr, f'exit {result.returncode}')}")
        with open(metrics, encoding="utf-8") as lines:
            return json.loads(lines.readline())


def scaling_table(runs, models, workers, data_dir):
    """One row per (script, batching) run and preset: 1 worker against
    `workers`, each printed as it is done."""
    rows = ["| script | model | batching | 1 worker, words/s | "
            f"{counted(workers, 'worker')}, words/s | speed-up | valid ppl, 1 / {workers} |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    for model in models:
        for script, batching in runs:
            one, many = (one_epoch(script, batching, count, model, data_dir)
                         for count in (1, workers))
            rows.append(f"| {script} | {model} | {one['batching']} | {one['words_per_sec']:,.0f} | "
                        f"{many['words_per_sec']:,.0f} | "
                        f"{many['words_per_sec'] / one['words_per_sec']:.2f} | "
                        f"{one['valid_ppl']:.1f} / {many['valid_ppl']:.1f} |")
            print(rows[-1], flush=True)
    return "\n".join(rows)
