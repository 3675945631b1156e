"""Which worker this process is, and its share of every batch: framework-free.

With N workers and --batch_size B, each step takes one global batch of N x B
rows, batched exactly as one worker with --batch_size N x B would batch it,
and worker k takes rows k x B to (k + 1) x B:

    global batch (N = 2, B = 2)    row 0  row 1 | row 2  row 3
    worker                           0      0   |   1      1

Chunks keep their rows from batch to batch, so each worker carries the
state of its own rows; the one-row tail continues the last row, so it goes
to the last worker. Sentences come in the epoch's shuffled order. A worker
whose share of a step is empty (the tail, or a short last batch) still
takes the step, with a weight of 0, so that the collectives stay in step.

Each worker's loss is its rows' cost over B (a batch's share of a step:
ptb/batching.py); weighted by 1 / N, the workers' gradients add up to the
gradient of the global batch's cost over N x B: the update one worker makes
with N x B rows, whether the global batch is full or not.
"""
import contextlib
import dataclasses
import json
import os

import numpy as np

from ptb.batching import count_batches, make_batches
from training.checkpoints import first_line
from training.errors import UserError, stops_deferred


class OneWorker:
    """Training on one worker: every engine's methods, leaving things as they are."""

    rank, count = 0, 1
    log_lines = 5  # the training progress lines to print (training.progress.Progress)

    def sum(self, values):
        return values

    def from_worker_0(self, value):
        return value

    def stopping_together(self):
        return contextlib.nullcontext()


class Workers(OneWorker):
    """One of `count` workers; each engine adds how it sums numbers over
    them (`all_reduce`) and which errors mean a collective lost a worker."""

    collective_errors = ()

    def __init__(self, rank, count):
        self.rank, self.count = rank, count
        self.log_lines = OneWorker.log_lines if rank == 0 else None  # worker 0 alone shows progress

    def sum(self, values):
        """`values` summed over the workers; every worker must call it."""
        with stops_deferred():  # a stop lands after the collective, never inside the framework
            return self.all_reduce(values)

    def from_worker_0(self, value):
        """Worker 0's whole number `value`, on every worker; every worker
        must call it, so it also waits for worker 0 to get there."""
        return int(self.sum([value if self.rank == 0 else 0, 0, 0])[0])

    @contextlib.contextmanager
    def stopping_together(self):
        """A collective that fails or times out means another worker stopped."""
        try:
            yield
        except self.collective_errors as error:
            raise UserError(f"worker {self.rank}: another worker stopped ({first_line(error)}); "
                            "this one stops too: rerun all workers with --resume") from None


def tf_config_worker():
    """(rank, count) from TF_CONFIG, as launch_tf.py or a cluster sets it; (0, 1) without it."""
    text = os.environ.get("TF_CONFIG")
    if not text:
        return 0, 1
    try:
        tf_config = json.loads(text)
        workers, task = tf_config["cluster"]["worker"], tf_config["task"]
        rank = int(task["index"])
    except (ValueError, KeyError, TypeError) as error:
        raise UserError(f"TF_CONFIG is not a worker's cluster description ({error}); set it as "
                        "launch_tf.py does") from None
    if task.get("type") != "worker" or set(tf_config["cluster"]) != {"worker"}:
        raise UserError("TF_CONFIG: only workers are supported (no chief, no parameter servers)")
    if not 0 <= rank < len(workers):
        raise UserError(f"TF_CONFIG: task index {rank} is not one of the {len(workers)} workers")
    return rank, len(workers)


def paddle_launch_worker():
    """(rank, count) as python -m paddle.distributed.launch sets them; (0, 1) without it."""
    return (int(os.environ.get("PADDLE_TRAINER_ID", "0")),
            int(os.environ.get("PADDLE_TRAINERS_NUM", "1")))


def epoch_shares(loader, sentences, vocab, config, workers, seed):
    """This worker's (part, weight) of each of an epoch's global batches
    (made by `loader`, shuffled by `seed`), and how many batches there are."""
    whole = global_batches(config, workers.count)
    batches = make_batches(loader, sentences, vocab, whole, seed=seed)
    return shares(batches, config, workers.rank, workers.count), count_batches(sentences, whole)


def shares(batches, config, rank, count):
    """Yield (this worker's part of each global batch, its weight): the part
    a tuple of arrays like the batch, or a stand-in if empty; the weight 1 /
    count, or 0 for a stand-in. On one worker, each batch with weight 1."""
    for batch in batches:
        rows = len(batch[0])
        if config.batching == "chunks" and rows < config.batch_size * count:
            mine = range(rows) if rank == count - 1 else range(0)  # the tail: the last row's
        else:
            mine = range(rank * config.batch_size, min((rank + 1) * config.batch_size, rows))
        if not mine:
            yield stand_in(config.batching), 0.0
            continue
        part = tuple(array[mine.start:mine.stop] for array in batch)
        if len(part) == 3:  # padded sentences: only as long as this part's longest
            longest = int(part[2].max())
            part = (part[0][:, :longest], part[1][:, :longest], part[2])
        yield part, 1 / count


def alone(batches):
    """Every batch whole, with weight 1: evaluation, which worker 0 does alone."""
    return ((batch, 1.0) for batch in batches)


def stand_in(batching):
    """A one-word batch (load_data_tf's arrays) for a step whose share is
    empty: it takes the step with a weight of 0."""
    word = np.zeros((1, 1), np.int32)
    return (word, word) if batching == "chunks" else (word, word, np.ones(1, np.int32))


def evaluation_config(config):
    """The config to evaluate with: worker 0 evaluates alone, batched as one
    worker with the global batch (config.workers x batch_size rows) would,
    so that N workers report the numbers of that one worker."""
    return dataclasses.replace(global_batches(config, config.workers), workers=1)


def global_batches(config, count):
    """The config whose batch_size is the global batch's: N workers' batches."""
    return dataclasses.replace(config, batch_size=config.batch_size * count)
