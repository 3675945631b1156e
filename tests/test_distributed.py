"""Data-parallel training on each framework's own engine, on 2 local CPU
processes at the `test` preset: 2 workers with batch b end an epoch with
the weights of 1 worker with batch 2b, and a worker that dies stops the
others with one line."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import load_data_tf
from benchmarks.workers import command
from config import Config, global_batch_config
from distributed.shards import Workers, core_shares, most_rows, shares
from model_io import layout
from model_io.saved import open_checkpoint
from ptb import corpus
from ptb.batching import count_batches
from tests.conftest import EAGER_STEP, ON_ONE_CPU, REPO, made_once, run_command, train_runs
from tests.corpora import write_grammar_corpus

BATCH = 7  # each worker's; 2 workers make global batches of 14
# Corpora whose training splits batch into global batches of 14 rows or
# sentences with no remainder, which several workers would drop: 2 workers
# then train on exactly what 1 worker with batch 14 trains on.
EVEN = 2 * BATCH


@pytest.fixture(scope="session")
def data_dir(grammar_corpus):
    return grammar_corpus(294, even_for=EVEN)


@pytest.fixture(scope="session")
def larger_data_dir(grammar_corpus):
    return grammar_corpus(494, even_for=EVEN)


def arange_batches(rows, steps, tail=0):
    """Chunk batches of ids numbered row by row, and an optional one-row tail."""
    ids = np.arange(rows * steps, dtype=np.int32).reshape(rows, steps)
    batches = [(ids, ids + 1)]
    if tail:
        batches.append((np.full((1, tail), -1, np.int32), np.full((1, tail), -1, np.int32)))
    return batches


def test_each_worker_takes_its_rows_and_the_tail_is_dropped():
    batches = arange_batches(rows=4, steps=3, tail=2)
    first = list(shares(batches, batch_size=2, rank=0, count=2))
    last = list(shares(batches, batch_size=2, rank=1, count=2))
    assert [part[0].tolist() for part in first] == [[[0, 1, 2], [3, 4, 5]]]
    assert [part[0].tolist() for part in last] == [[[6, 7, 8], [9, 10, 11]]]


def test_each_local_worker_is_bound_to_its_share_of_the_cores():
    """launch_tf.py binds each worker to a run of the cores it may use, one
    core each when there are fewer cores than workers."""
    assert core_shares(2, [0, 1]) == [{0}, {1}]
    assert core_shares(2, [0, 1, 2, 3]) == [{0, 1}, {2, 3}]
    assert core_shares(2, [4, 5, 6]) == [{4}, {5, 6}]
    assert core_shares(3, [0, 1]) == [{0}, {1}, {0}]


def test_a_full_batch_of_sentences_is_shared_by_rows_and_a_short_one_dropped():
    lengths = np.array([3, 1, 2, 1], np.int32)
    words = np.array([[1, 2, 3], [4, 0, 0], [5, 6, 0], [7, 0, 0]], np.int32)
    short = (words[:3], words[:3], lengths[:3])
    (part0,) = shares([(words, words, lengths), short], batch_size=2, rank=0, count=2)
    (part1,) = shares([(words, words, lengths), short], batch_size=2, rank=1, count=2)
    assert part0[0].tolist() == [[1, 2, 3], [4, 0, 0]]
    assert part1[0].tolist() == [[5, 6], [7, 0]]  # its own longest


@pytest.mark.parametrize("batching", ["chunks", "sentences"])
def test_a_worker_counts_the_batches_it_is_given(batching, tmp_path):
    """len() of a worker's batches is what it iterates: its progress and
    the collectives count on it. 301 sentences in global batches of 14 leave
    a short one, and chunks a one-row tail."""
    data = corpus.load_corpus(str(write_grammar_corpus(tmp_path, train_lines=301)))
    config = Config(batching=batching, batch_size=BATCH, num_steps=5, workers=2)
    for rank in (0, 1):
        batches = Workers(rank, 2).batches(load_data_tf, data.train, data.vocab, config, seed=1)
        assert len(list(batches)) == len(batches) < count_batches(data.train, global_batch_config(config))


@pytest.mark.parametrize("batching", ["chunks", "sentences", "buckets"])
@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("longest", [21, 24])
def test_no_share_of_a_batch_has_more_words_than_the_gathered_rows(batching, compiled, longest,
                                                                   tmp_path):
    """TensorFlow's engines gather each worker's embedding rows padded to
    most_rows (the v1 graph's collectives take one shape for the run): no share may
    hold more words, sentences cut into pieces, compiled or not."""
    write_grammar_corpus(tmp_path, train_lines=60)
    with open(tmp_path / "ptb.train.txt", "a", encoding="utf-8") as train:
        train.write(" " + " ".join(["the"] * 250) + " \n")  # cut into pieces
    data = corpus.load_corpus(str(tmp_path))
    config = Config(vocab_size=len(data.vocab), batch_size=3, num_steps=6, batching=batching,
                    compile=compiled, max_sentence_length=longest, workers=2)
    parts = [part for rank in range(2) for part in
             Workers(rank, 2).batches(load_data_tf, data.train, data.vocab, config, seed=1)]
    assert max(part[0].size for part in parts) == most_rows(config)


def launch(framework, *args):
    """The command line that starts 2 workers of rnnlm_FRAMEWORK.py, as README's."""
    return command(framework, 2, list(args), args[args.index("--save_dir") + 1] + "-logs")


def flags(data_dir, folder, batching, batch_size, *more):
    """The flags of a one-epoch run; `more` comes last, so it may override them."""
    return ["--model", "test", "--data_dir", data_dir, *ON_ONE_CPU, *EAGER_STEP,
            "--batching", batching, "--batch_size", str(batch_size), "--epochs", "1",
            "--save_dir", os.path.join(folder, "ck"),
            "--metrics_file", os.path.join(folder, "metrics.jsonl"), *more]


def run(command):
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def weights(folder, framework):
    saved = open_checkpoint(os.path.join(folder, "ck"))
    path = os.path.join(folder, "ck", f"epoch{saved.epoch}", "model")
    return saved.config, layout.read_weights(framework, path, saved.config)


def metrics(folder):
    with open(os.path.join(folder, "metrics.jsonl"), encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


# The runs that 2 workers with batch BATCH and 1 worker with batch 2 x BATCH
# must end alike: one epoch of sentences at the `test` preset, and a larger
# model (hidden size 16, 5 steps) for two epochs of chunks, 92 steps,
# clipped at first. Paddle's engine takes both; TensorFlow's two take the
# larger run, which clips through their shared global_gradient and each
# optimizer's own clipping; the v1 script also the sentences, whose
# embedding rows vary from batch to batch and are padded to be gathered
# (distributed/shards.py: gathered_rows; the shares are framework-free).
LARGER = ["--hidden_size", "16", "--num_steps", "5", "--epochs", "2"]
RUNS = {"tensorflow": ["sentences", "larger"], "keras": ["larger"],
        "paddle": ["sentences", "larger"]}


@pytest.fixture(scope="session")
def run_flags(data_dir, larger_data_dir):
    """run_flags(run, folder, batch_size) -> the flags of that run."""
    def of(run_name, folder, batch_size):
        if run_name == "larger":
            return flags(larger_data_dir, folder, "chunks", batch_size, *LARGER)
        return flags(data_dir, folder, "sentences", batch_size)
    return of


@pytest.fixture(scope="session")
def two_workers(tmp_path_factory, run_flags):
    """two_workers(framework, run) -> the folder of that run on 2 workers
    with batch BATCH each: ck/ and metrics.jsonl. Copy before changing it."""
    def run_folder(framework, run_name):
        return str(made_once(tmp_path_factory, f"two-workers-{framework}-{run_name}",
                             lambda folder: run(launch(framework,
                                                       *run_flags(run_name, str(folder), BATCH)))))
    return run_folder


@pytest.fixture(scope="session")
def one_worker(tmp_path_factory, run_flags):
    """one_worker(framework, run) -> the folder of that run on 1 worker with
    batch 2 x BATCH."""
    def run_folder(framework, run_name):
        def train(folder):
            train_runs(framework, *(run_flags(name, str(folder / name), 2 * BATCH)
                                    for name in RUNS[framework]))
        return str(made_once(tmp_path_factory, f"one-worker-{framework}", train) / run_name)
    return run_folder


@pytest.mark.parametrize("framework, run_name",
                         [(framework, name) for framework, names in RUNS.items() for name in names])
def test_two_workers_update_as_one_worker_with_their_global_batch(framework, run_name,
                                                                 two_workers, one_worker):
    """Rounding apart, 2 workers hold 1 worker's weights and worker 0
    alone reports 1 worker's numbers, of the whole global batch."""
    two, one = two_workers(framework, run_name), one_worker(framework, run_name)
    (config_two, after_two), (config_one, after_one) = weights(two, framework), weights(one, framework)
    assert (config_two.workers, config_one.workers) == (2, 1)
    for name, value in after_one.items():
        np.testing.assert_allclose(after_two[name], value, rtol=0, atol=1e-5, err_msg=name)
    lines_two, lines_one = metrics(two), metrics(one)
    assert len(lines_two) == len(lines_one) == config_one.max_max_epoch + 1
    for line_two, line_one in zip(lines_two, lines_one):
        for key in ("train_ppl", "valid_ppl", "padding", "test_ppl", "best_test_ppl"):
            if key in line_one:
                assert line_two[key] == pytest.approx(line_one[key], rel=1e-4, abs=1e-9), key


@pytest.mark.parametrize("framework, run_name", [("tensorflow", "larger"),
                                                 ("paddle", "sentences")])
def test_a_resumed_pair_continues_and_another_number_of_workers_is_refused(framework, run_name,
                                                                          two_workers, run_flags,
                                                                          tmp_path):
    folder = str(tmp_path)
    shutil.copytree(two_workers(framework, run_name), folder, dirs_exist_ok=True)
    epochs = len(metrics(folder)) - 1
    more = run_flags(run_name, folder, BATCH) + ["--epochs", str(epochs + 1), "--resume"]
    printed = run(launch(framework, *more)).stdout.splitlines()
    # Worker 0 alone prints: its progress, of its rows; the epoch line, of all.
    assert [line for line in printed if line.startswith(f"epoch {epochs + 1} train ")]
    assert all(line.endswith(" (worker 0 of 2)") for line in printed
               if line.startswith(f"epoch {epochs + 1} train "))
    epoch_line, = [line for line in printed if line.startswith(f"epoch {epochs + 1}/")]
    assert re.search(r"words/s \d+ \(2 workers\)  seconds", epoch_line)
    assert [line.get("epoch") for line in metrics(folder)] == [*range(1, epochs + 2), None]
    alone = run_command(f"rnnlm_{framework}.py", *more)
    assert alone.returncode == 1 and "Traceback" not in alone.stderr
    assert "workers is 2 in the checkpoint, 1 asked" in alone.stderr.strip().splitlines()[-1]


def test_a_worker_that_dies_stops_the_others_with_one_line(data_dir, tmp_path):
    command = launch("tensorflow", *flags(data_dir, str(tmp_path), "chunks", BATCH,
                                          "--epochs", "1000"))
    launcher = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
    for line in launcher.stdout:  # worker 0 prints the epoch lines
        if line.startswith("epoch 1/"):
            break
    workers = subprocess.run(["pgrep", "-f", "-P", str(launcher.pid), "rnnlm_tensorflow.py"],
                             capture_output=True, text=True).stdout.split()
    started = time.monotonic()
    os.kill(int(workers[-1]), signal.SIGKILL)
    _, stderr = launcher.communicate(timeout=120)
    assert launcher.returncode == 1 and time.monotonic() - started < 60
    assert stderr.strip().splitlines()[-1] == ("error: worker 1 stopped the run: exited with code "
                                               "-9; its output is above")


def test_ctrl_c_while_the_workers_load_ends_the_launch_as_ctrl_c_ends_it(data_dir, tmp_path):
    """The launcher passes Ctrl-C on to the workers, which end as the
    signal ends them while TensorFlow loads: the launch then ends with 130,
    as a shell reports a process that Ctrl-C ended, not with the worker's
    -2 cut to a byte (254)."""
    launcher = subprocess.Popen(launch("tensorflow", *flags(data_dir, str(tmp_path), "chunks", BATCH)),
                                cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while len(subprocess.run(["pgrep", "-P", str(launcher.pid)], capture_output=True,
                             text=True).stdout.split()) < 2:
        time.sleep(0.05)
    time.sleep(0.2)  # the launcher passes stops on once both have started; TF loads for seconds
    launcher.send_signal(signal.SIGINT)
    stdout, stderr = launcher.communicate(timeout=120)
    assert (launcher.returncode, stdout, stderr) == (130, "", "")


def test_a_worker_refused_at_start_up_ends_the_launch_with_its_own_line(data_dir, tmp_path):
    """Worker 0 refuses a --save_dir that holds a checkpoint; worker 1,
    already waiting for it, loses it. The user sees worker 0's line, once,
    and the start-up log of worker 0 alone."""
    (tmp_path / "ck" / "epoch1").mkdir(parents=True)
    result = subprocess.run(launch("tensorflow", *flags(data_dir, str(tmp_path), "chunks", BATCH)),
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [f"error: worker 0 stopped the run: --save_dir {tmp_path / 'ck'} already "
                      "holds a checkpoint; pass --resume to continue it, --overwrite to start "
                      "over, or choose another --save_dir"]
    assert result.stdout.count("device: CPU") == 1


def test_the_fluid_script_refuses_workers_in_one_line(data_dir, tmp_path):
    env = dict(os.environ, PADDLE_TRAINERS_NUM="2", PADDLE_TRAINER_ID="0")
    result = subprocess.run([sys.executable, "rnnlm_fluid.py", *flags(data_dir, str(tmp_path),
                                                                      "sentences", BATCH)],
                            cwd=REPO, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: rnnlm_fluid.py trains on one worker") and "CUDA or XPU" in last
    assert os.listdir(tmp_path) == []
