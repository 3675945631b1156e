"""Which worker this process is, its share of every batch and of the cores: framework-free.

With N workers and --batch_size B, each step takes one global batch of N x B
rows, batched exactly as one worker with --batch_size N x B would batch it,
and worker k takes rows k x B to (k + 1) x B:

    global batch (N = 2, B = 2)    row 0  row 1 | row 2  row 3
    worker                           0      0   |   1      1

Chunks keep their rows from batch to batch, so each worker carries the
state of its own rows. Sentences come in the epoch's shuffled order. A
global batch of fewer than N x B rows (the chunks' one-row tail, the
sentences' short last batch) is dropped, as every framework's
drop_remainder drops it: every worker's share of every step is full, and
one worker, which drops nothing, still trains every target. Evaluation is
worker 0's alone, and scores every token.

Each worker's loss is its rows' cost over B; the mean of the workers'
gradients is the gradient of the global batch's cost over N x B: the update
one worker makes with N x B rows.
"""
import json
import os

from compat.indexed_slices import each_word_once
from config import global_batch_config
from distributed.workers import OneWorker
from errors import UserError
from ptb.batching import Batches, count_batches, make_batches
from training.errors import stops_deferred
from training.reports import counted

# A collective that waits longer than this has lost a worker. It must
# outlast worker 0's test evaluation at the end, which the others wait for.
TIMEOUT_SECONDS = 600
# TensorFlow's collectives sum a step's gradients in packs of about this
# many bytes, not all in one: the v1 script's medium all-reduce took 85-91
# ms so, against 101-113 ms in one (benchmarks/all_reduce.py, 2 workers on
# loopback); Keras's took as long either way, and small's (8 MB) too.
BYTES_PER_PACK = 4_000_000
# What TensorFlow's collectives raise when a worker is gone, by name in tf.errors.
TF_COLLECTIVE_ERRORS = ("DeadlineExceededError", "UnavailableError", "CancelledError",
                        "InternalError")


class Workers(OneWorker):
    """One of `count` workers; each engine adds how it sums numbers over
    them (`all_reduce`) and which errors mean a collective lost a worker."""

    def __init__(self, rank, count):
        self.rank, self.count = rank, count

    def sum(self, values):
        """`values` summed over the workers; every worker must call it."""
        with stops_deferred():  # a stop lands after the collective, never inside the framework
            return self.all_reduce(values)

    def from_worker_0(self, value):
        """Worker 0's whole number `value`, on every worker; every worker
        must call it, so it also waits for worker 0 to get there."""
        return int(self.sum([value if self.rank == 0 else 0, 0, 0])[0])

    def batches(self, loader, sentences, vocab, config, seed):
        """This worker's part of each full global batch of an epoch (load_data_tf's arrays)."""
        whole = global_batch_config(config)
        batches = make_batches(loader, sentences, vocab, whole, seed)
        return Batches(lambda: shares(batches, config.batch_size, self.rank, self.count),
                       count_batches(sentences, whole, drop_remainder=True), batches.fields)


def tensorflow_global_gradient(tf, grads, config):
    """For TensorFlow's two engines (`tf` in the mode of either), in the
    replica context the step is built in: of one replica, `grads` as they
    are; of several workers, their mean gradient, the global batch's,
    clipped to config.max_grad_norm. It is the step's one all-reduce: the
    optimizer applies it without summing it over the replicas again (a v1
    optimizer told skip_gradients_aggregation, Keras's as
    distributed/keras.py sets it up), and its own clipping, if any, leaves
    it as it is."""
    context = tf.distribute.get_replica_context()
    count = context.num_replicas_in_sync
    if count == 1:
        return grads
    # The embedding's gradient, a row per word of the batch, is gathered:
    # the workers' rows, not [vocab, hidden] summed. The others are summed.
    sparse = [isinstance(grad, tf.IndexedSlices) for grad in grads]
    dense = iter(tensorflow_all_reduce_sum(tf, [grad for grad, rows in zip(grads, sparse)
                                                if not rows]))
    summed = [each_word_once(tf, gathered_rows(tf, grad, most_rows(config))) if rows
              else next(dense) for grad, rows in zip(grads, sparse)]
    clipped, _ = tf.clip_by_global_norm([mean_of(tf, grad, count) for grad in summed],
                                        config.max_grad_norm)
    return clipped


def most_rows(config):
    """The most rows a worker's sparse gradient (the embedding's, a row
    per word of its share of a batch) can have: sentences are cut to
    max_sentence_length, and each share is trimmed to its longest (shares)."""
    steps = config.num_steps if config.batching == "chunks" else config.max_sentence_length
    return config.batch_size * steps


def gathered_rows(tf, slices, rows):
    """Every worker's rows of a sparse gradient, in one IndexedSlices: a
    few hundred rows of [vocab, hidden], where summing it would send all
    of them. The v1 graph's collectives take one shape each for the whole
    run (and a compiled Keras step one per shape of batch), so each worker
    pads its rows to `rows`, with zero rows of index 0, which add nothing."""
    context = tf.distribute.get_replica_context()
    more = rows - tf.shape(slices.indices)[0]
    checked = tf.debugging.assert_non_negative(more, message="more rows than most_rows allows")
    with tf.control_dependencies([checked]):
        values = tf.pad(slices.values, [[0, more], [0, 0]])
        indices = tf.pad(slices.indices, [[0, more]])
    options = tensorflow_options(tf)
    return tf.IndexedSlices(context.all_gather(values, axis=0, options=options),
                            context.all_gather(indices, axis=0, options=options),
                            slices.dense_shape)


def mean_of(tf, grad, count):
    if isinstance(grad, tf.IndexedSlices):
        return tf.IndexedSlices(grad.values / count, grad.indices, grad.dense_shape)
    return grad / count


def tensorflow_all_reduce_sum(tf, values):
    """`values` (a tensor or a list of them) summed over the replicas, in the
    replica context of either TensorFlow engine."""
    return tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, values,
                                                          options=tensorflow_options(tf))


def tensorflow_options(tf):
    """The options of TensorFlow's collectives: a worker lost is a timeout;
    the gradients summed in packs of BYTES_PER_PACK."""
    return tf.distribute.experimental.CommunicationOptions(bytes_per_pack=BYTES_PER_PACK,
                                                           timeout_seconds=TIMEOUT_SECONDS)


def shares(batches, batch_size, rank, count):
    """Yield worker `rank`'s rows of each global batch of `count` x
    `batch_size` rows, dropping the batches that have fewer."""
    for batch in batches:
        if len(batch[0]) < batch_size * count:
            continue
        part = tuple(array[rank * batch_size:(rank + 1) * batch_size] for array in batch)
        if len(part) == 3:  # padded sentences: only as long as this part's longest
            longest = int(part[2].max())
            part = (part[0][:, :longest], part[1][:, :longest], part[2])
        yield part


def core_shares(count, cores=None):
    """The cores each of `count` workers is bound to: this process's cores
    split into `count` runs, one each if there are fewer; None where the
    system cannot bind a process (not Linux).

    Unbound, two one-thread TensorFlow v1 workers on 2 cores each trained at
    0.6x the speed of one alone, their threads moving between the two cores;
    bound, at its speed (docs/more-than-one-worker.md). launch_tf.py binds
    its workers so; Paddle's launcher does not, and Paddle's hardly slows."""
    if cores is None:
        if not hasattr(os, "sched_getaffinity"):
            return None
        cores = sorted(os.sched_getaffinity(0))
    if count >= len(cores):
        return [{cores[index % len(cores)]} for index in range(count)]
    return [set(cores[index * len(cores) // count:(index + 1) * len(cores) // count])
            for index in range(count)]


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
        raise UserError(f"TF_CONFIG: task index {rank} is not one of the {counted(len(workers), 'worker')}")
    return rank, len(workers)


def paddle_launch_worker():
    """(rank, count) as python -m paddle.distributed.launch sets them; (0, 1) without it."""
    return (int(os.environ.get("PADDLE_TRAINER_ID", "0")),
            int(os.environ.get("PADDLE_TRAINERS_NUM", "1")))
