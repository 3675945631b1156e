"""What bench.py --workers and --on_paper measure and work out: data-parallel training.

For each script that trains on several workers, two epochs with 1 worker and
two with N (python launch_tf.py or python -m paddle.distributed.launch),
each worker with --batch_size B and 1 thread; the words/s is worker 0's
metrics line of the second epoch: the global batch's target words over its
training seconds. The first warms, as bench's one-process runs warm each
shape: XLA compiles each shape of batch in it (3 of an 11 s epoch of Keras's
`small`, docs/performance.md), and the engines make their first all-reduce.
N workers train on N x B rows a step, one worker on B: what a user gains by
adding workers at a fixed per-worker batch.

On paper instead, from the model's size alone: the gradient bytes a step
exchanges, the ring all-reduce time they take on a 100 Gb/s network and on
NVLink, and where that stops the scaling, against the step time of one GPU
in TensorFlow's PTB tutorial (docs/more-than-one-worker.md says how).
"""
import dataclasses
import functools
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

import launch_tf
import load_data_tf
from config import PRESETS, Config
from distributed.shards import core_shares, most_rows
from errors import UserError
from ptb import corpus
from ptb.batching import count_batches, count_targets, make_batches
from training.errors import child_error
from training.reports import counted

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# TensorFlow's PTB tutorial (ptb_word_lm.py): words/s on one Titan X.
GPU_WORDS_PER_SEC = {"small": 17_200, "medium": 13_600, "large": 5_000}
LINKS = {"100 Gb/s network": 12.5e9, "NVLink, 300 GB/s": 300e9}  # bytes/s each way
PTB_VOCAB = 10_000
PROBE = os.path.join("benchmarks", "all_reduce.py")
POLL_SECONDS = 0.2  # how often run_together looks at its processes
WARMED_EPOCH = 2  # the epoch timed, after one that compiles and starts up


def gradient_shapes(hidden_size, num_layers, vocab_size):
    """{name: shape} of every weight's gradient: embedding, LSTM layers
    (kernel [2H, 4H] and bias), softmax."""
    shapes = {"embedding": [vocab_size, hidden_size]}
    for layer in range(num_layers):
        shapes[f"lstm {layer} kernel"] = [2 * hidden_size, 4 * hidden_size]
        shapes[f"lstm {layer} bias"] = [4 * hidden_size]
    shapes.update({"softmax weights": [hidden_size, vocab_size], "softmax bias": [vocab_size]})
    return shapes


def size_text(size):
    return f"{size / 1e6:.2f} MB" if size >= 1e5 else f"{size / 1e3:.1f} kB"


def float32_bytes(shape):
    return 4 * math.prod(shape)


def gradient_bytes(config, vocab_size=PTB_VOCAB):
    """float32 bytes of every weight's gradient."""
    return sum(map(float32_bytes, gradient_shapes(config.hidden_size, config.num_layers,
                                                  vocab_size).values()))


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
        return paddle_launch(workers, log_dir, "rnnlm_paddle.py", flags)
    return [sys.executable, "launch_tf.py", "--workers", str(workers), f"rnnlm_{script}.py", *flags]


def paddle_launch(workers, log_dir, script, args):
    return [sys.executable, "-W", "ignore", "-m", "paddle.distributed.launch", "--log_level",
            "WARNING", "--log_dir", log_dir, "--nproc_per_node", str(workers), script, *args]


def all_reduce_seconds(engine, model, batching, vocab_size, workers):
    """{gradient: seconds} of the engine's all-reduce of each of a step's
    gradients on `workers` workers, and of all of them ("all"), worker 0's
    (benchmarks/all_reduce.py)."""
    args = [engine, model, batching, str(vocab_size)]
    with tempfile.TemporaryDirectory() as folder:
        cores = None
        if engine == "paddle":
            commands = [(paddle_launch(workers, folder, PROBE, args), None)]
        else:  # each worker as launch_tf.py starts it
            commands = [([sys.executable, PROBE, *args], env)
                        for env in launch_tf.worker_environments(workers)]
            cores = core_shares(workers)
        output = run_together(commands, f"{engine}'s all-reduce on {counted(workers, 'worker')}",
                              cores)[0]
        return json.loads(output.strip().splitlines()[-1])


def run_together(commands, what, cores=None):
    """Start every (argv, environment or None) at once, each bound to its
    cores if given, and wait for all: their outputs, or one line if one
    failed (the others stopped)."""
    outputs = [tempfile.TemporaryFile("w+") for _ in commands]
    binds = [cores and functools.partial(os.sched_setaffinity, 0, cores[index])
             for index in range(len(commands))]
    started = [subprocess.Popen(argv, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                                text=True, preexec_fn=bind)
               for (argv, env), out, bind in zip(commands, outputs, binds)]
    try:
        while (any(process.poll() is None for process in started)
               and not any(process.poll() for process in started)):  # until all end, or one fails
            time.sleep(POLL_SECONDS)
        texts = []
        for process, out in zip(started, outputs):
            out.seek(0)
            texts.append(out.read())
            if process.poll():  # the first that failed says why
                raise UserError(f"{what} failed: "
                                f"{child_error(texts[-1], f'exit {process.returncode}')}")
        return texts
    finally:
        for process, out in zip(started, outputs):
            if process.poll() is None:  # a peer of one that failed, or of a Ctrl-C
                process.kill()
                process.wait()
            out.close()


def epochs(script, batching, workers, model, data_dir, runs=1):
    """Worker 0's metrics line of the second of two epochs of `model` on
    `workers` workers, for each of `runs` such runs started at once:
    several one-worker runs of a TensorFlow engine bound to their share of
    the cores, as launch_tf.py binds its workers (Paddle's launcher binds
    none)."""
    with tempfile.TemporaryDirectory() as folder:
        places = [os.path.join(folder, str(run)) for run in range(runs)]
        commands = [(command(script, workers, [
            "--model", model, "--batching", batching, "--data_dir", data_dir,
            "--epochs", str(WARMED_EPOCH),
            "--threads", "1", "--device", "cpu", "--save_dir", os.path.join(place, "ck"),
            "--metrics_file", os.path.join(place, "metrics.jsonl")], os.path.join(place, "logs")),
            None) for place in places]
        cores = core_shares(runs) if runs > 1 and script != "paddle" else None
        run_together(commands, f"{script} on {counted(workers, 'worker')}", cores)
        lines = []
        for place in places:
            with open(os.path.join(place, "metrics.jsonl"), encoding="utf-8") as metrics:
                lines.append(json.loads(metrics.readlines()[WARMED_EPOCH - 1]))
        return lines


def targets_a_step(batching, config, data):
    """The mean target words of one worker's training step."""
    steps = count_batches(data.train, dataclasses.replace(config, batching=batching))
    return count_targets(data.train) / steps


def slowest_part(batching, config, data, workers):
    """How much longer `workers` workers compute a step than one worker
    does, in padded steps: each trims its part of the global batch to the
    part's longest sentence, and all wait for the longest (by chunks every
    batch has num_steps steps but the stream's last)."""
    def mean_steps(batch_size):
        whole = dataclasses.replace(config, batching=batching, batch_size=batch_size)
        return statistics.mean(len(batch[0][0]) for batch in make_batches(
            load_data_tf, data.train, data.vocab, whole, seed=1) if len(batch[0]) == batch_size)
    return mean_steps(workers * config.batch_size) / mean_steps(config.batch_size)


def scaling_table(runs, models, workers, data_dir):
    """One row per (script, batching) run and preset: 1 worker against
    `workers`, each printed as it is done; with where the step's time goes
    and the speed-up that predicts (docs/more-than-one-worker.md): a step's
    compute (1 worker's, alone and beside as many lone workers as the run
    has, and how much longer the slowest part of a global batch is), and
    the all-reduce of the whole gradient, which every engine does
    once a step (TensorFlow's two to clip it, distributed/shards.py:
    tensorflow_global_gradient, and their optimizers apply it as it is;
    Paddle's DataParallel during backward()); and the all-reduce of each
    gradient, once per engine and preset."""
    data = corpus.load_corpus(data_dir)
    rows = ["| script | model | batching | 1 worker, words/s | "
            f"{counted(workers, 'worker')}, words/s | speed-up | 1 worker's step, alone and "
            f"beside {workers - 1} more | slowest part | all-reduce a step | "
            f"predicted speed-up | valid ppl, 1 / {workers} |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    breakdown = {}
    for model in models:
        config = Config(**PRESETS[model])
        for script, batching in runs:
            if (script, model, batching) not in breakdown:
                breakdown[script, model, batching] = all_reduce_seconds(
                    script, model, batching, len(data.vocab), workers)
            (one,), (many,) = (epochs(script, batching, count, model, data_dir)
                               for count in (1, workers))
            # N lone workers at once: a step's compute as it is with N on the machine.
            beside = epochs(script, batching, 1, model, data_dir, runs=workers)
            targets = targets_a_step(batching, config, data)
            step = targets / one["words_per_sec"]
            shared = targets / statistics.mean(line["words_per_sec"] for line in beside)
            slowest = slowest_part(batching, config, data, workers)
            reduce = breakdown[script, model, batching]["all"]
            rows.append(f"| {script} | {model} | {one['batching']} | {one['words_per_sec']:,.0f} | "
                        f"{many['words_per_sec']:,.0f} | "
                        f"{many['words_per_sec'] / one['words_per_sec']:.2f} | "
                        f"{step * 1e3:.1f} ms, {shared * 1e3:.1f} ms | {slowest:.2f}x | "
                        f"{reduce * 1e3:.1f} ms | "
                        f"{workers * step / (shared * slowest + reduce):.2f} | "
                        f"{one['valid_ppl']:.1f} / {many['valid_ppl']:.1f} |")
            print(rows[-1], flush=True)
    return "\n".join(rows) + "\n\n" + all_reduce_table(breakdown, len(data.vocab), workers)


def all_reduce_table(breakdown, vocab_size, workers):
    """Each gradient's all-reduce on `workers` workers, by engine and
    preset: its seconds and bytes a second (its size over the time), each
    engine's row under a row of the sizes it exchanges."""
    names = list(next(iter(breakdown.values())))
    rows = [f"All-reduce on {counted(workers, 'worker')}, by gradient (vocabulary {vocab_size:,}):",
            "", "| engine | model | " + " | ".join(names) + " |", "|" + " --- |" * (2 + len(names))]
    shown = None
    for (engine, model, batching), seconds in breakdown.items():
        config = Config(**PRESETS[model], batching=batching, vocab_size=vocab_size)
        sizes = exchanged_bytes(engine, config)
        if (model, sizes) != shown:
            shown = model, sizes
            rows.append(f"| size | {model} | "
                        + " | ".join(size_text(sizes[name]) for name in names) + " |")
        rows.append(f"| {engine} | {model} | " + " | ".join(
            f"{seconds[name] * 1e3:.2f} ms, {sizes[name] / seconds[name] / 1e6:,.0f} MB/s"
            for name in names) + " |")
    return "\n".join(rows)


def exchanged_bytes(engine, config):
    """{gradient: bytes} that each worker puts into a step's all-reduce,
    "all" their sum: every gradient's float32, but the TensorFlow engines'
    embedding, whose rows of the batch they gather, each with its int32
    index (distributed/shards.py: tensorflow_global_gradient)."""
    sizes = {name: float32_bytes(shape) for name, shape in
             gradient_shapes(config.hidden_size, config.num_layers, config.vocab_size).items()}
    if engine != "paddle":
        sizes["embedding"] = most_rows(config) * (config.hidden_size + 1) * 4
    sizes["all"] = sum(sizes.values())
    return sizes
