"""Time one engine's all-reduce of a training step's gradients, among the
workers its launcher started (bench.py --workers runs it; benchmarks/workers.py):

    python launch_tf.py's way (TF_CONFIG) or python -m paddle.distributed.launch ...
        benchmarks/all_reduce.py ENGINE MODEL BATCHING VOCAB_SIZE

Each worker sums float32 tensors of the shapes of the model's gradients
(benchmarks/workers.py: gradient_shapes) over the workers, by the engine's
own collective, as the training step does: each variable's alone, and all
of them in one call (TensorFlow's two engines gather the embedding's rows
instead: distributed/shards.py, tensorflow_global_gradient). Worker 0
prints one JSON line, {name: seconds} (the median of REPEATS, after
WARMUP), "all" for the one call.
"""
import functools
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from benchmarks.workers import gradient_shapes  # noqa: E402
from config import PRESETS, Config  # noqa: E402

WARMUP, REPEATS = 2, 7


def median_seconds(call):
    for _ in range(WARMUP):
        call()
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def tensorflow_exchanges(tf, config):
    """{name: a function that makes, in a replica context, a step's
    exchange of that gradient}, "all" the whole step's
    (distributed/shards.py: tensorflow_global_gradient), for `tf` in the
    mode of either TensorFlow engine; the embedding's gradient as the rows
    of a batch, as both their steps give it."""
    from distributed.shards import (
        gathered_rows,
        most_rows,
        tensorflow_all_reduce_sum,
        tensorflow_global_gradient,
    )
    rows = most_rows(config)
    shapes = model_shapes(config)

    def gradient(name):
        if name == "embedding":
            return tf.IndexedSlices(tf.ones([rows, config.hidden_size]), tf.zeros([rows], tf.int32),
                                    tf.constant([config.vocab_size, config.hidden_size]))
        return tf.ones(shapes[name])

    def exchange(name):
        if name == "all":
            return tensorflow_global_gradient(tf, [gradient(part) for part in shapes], config)
        if name == "embedding":
            return gathered_rows(tf, gradient(name), rows)
        return tensorflow_all_reduce_sum(tf, gradient(name))
    return {name: functools.partial(exchange, name) for name in [*shapes, "all"]}


def tensorflow_calls(config):
    """{name: a call that exchanges it}, in the v1 graph under the
    MultiWorkerMirroredStrategy that rnnlm_tensorflow.py trains with; and the worker's rank."""
    from compat.tf_v1 import tf
    from distributed.tf_v1 import join_workers
    workers = join_workers()
    exchanges = tensorflow_exchanges(tf, config)
    graph = tf.Graph()
    with graph.as_default():
        ops = workers.build(lambda: {name: make() for name, make in exchanges.items()})
    session = tf.Session(workers.target, graph=graph)
    return {name: (lambda op=op: session.run(op)) for name, op in ops.items()}, workers.rank


def keras_calls(config):
    """The same in eager TensorFlow under rnnlm_keras.py's strategy, each a tf.function."""
    from compat.keras3 import tf
    from distributed.keras import join_workers
    workers = join_workers()

    def call(make):
        step = tf.function(lambda: workers.strategy.run(make))
        return lambda: tf.nest.map_structure(lambda part: part.numpy(),
                                             workers.strategy.experimental_local_results(step()),
                                             expand_composites=True)
    calls = {name: call(make) for name, make in tensorflow_exchanges(tf, config).items()}
    return calls, workers.rank


def paddle_calls(config):
    """The same by paddle.distributed.all_reduce, as DataParallel calls it: "all"
    is one flat buffer of every gradient, as it packs them (comm_buffer_size)."""
    from compat.paddle_dygraph import paddle
    from distributed.paddle import join_workers
    workers = join_workers()
    values = {name: paddle.ones(shape) for name, shape in model_shapes(config).items()}
    values["all"] = paddle.concat([value.flatten() for value in values.values()])

    def call(value):
        def reduce():
            paddle.distributed.all_reduce(value)
            value.numpy()  # waits for it
        return reduce
    return {name: call(value) for name, value in values.items()}, workers.rank


ENGINES = {"tensorflow": tensorflow_calls, "keras": keras_calls, "paddle": paddle_calls}


def model_shapes(config):
    return gradient_shapes(config.hidden_size, config.num_layers, config.vocab_size)


def main(engine, model, batching, vocab_size):
    config = Config(**PRESETS[model], batching=batching, vocab_size=vocab_size)
    calls, rank = ENGINES[engine](config)
    seconds = {name: median_seconds(call) for name, call in calls.items()}
    if rank == 0:
        print(json.dumps(seconds), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
