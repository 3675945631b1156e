"""rnnlm_keras.py on N workers: tf.distribute.MultiWorkerMirroredStrategy.

TF_CONFIG names the workers (launch_tf.py sets it for N local processes).
The model, its optimizer and its steps are built in the strategy's scope
(`build`), and the training step runs by the strategy it was built under.
A Keras optimizer clips before it sums the replicas' gradients, so
`global_gradient` averages them over the workers and clips the global
batch's gradient first, and the optimizer applies it as it is. One worker
builds none of this: its optimizer clips (global_clipnorm).
"""
from keras.src.backend.tensorflow.optimizer import TFOptimizer

from compat.keras3 import tf
from distributed import shards
from distributed.workers import ONE_WORKER


class Workers(shards.Workers):
    """One of N workers of a MultiWorkerMirroredStrategy."""

    collective_errors = tuple(getattr(tf.errors, name) for name in shards.TF_COLLECTIVE_ERRORS)

    def __init__(self, rank, count):
        super().__init__(rank, count)
        self.strategy = tf.distribute.MultiWorkerMirroredStrategy(
            communication_options=shards.tensorflow_options(tf))
        TFOptimizer._all_reduce_sum_gradients = gradients_summed_already

    def build(self, make, *args):
        """make(*args) in the strategy's scope, which places the weights on
        every worker, and whose `run` the steps built there run by."""
        with self.strategy.scope():
            return make(*args)

    def all_reduce(self, values):
        mine = self.strategy.run(tf.identity, args=(tf.constant(values, tf.float64),))
        return self.strategy.reduce(tf.distribute.ReduceOp.SUM, mine, axis=None).numpy().tolist()


def gradients_summed_already(optimizer, grads_and_vars):
    """Keras 3's TensorFlow optimizer, in a replica context, sums the
    replicas' gradients in apply() (keras/src/backend/tensorflow/
    optimizer.py, _all_reduce_sum_gradients), a second all-reduce of the
    whole gradient a step, and has no switch to leave them as they are
    (Keras 2's apply_gradients took skip_gradients_aggregation): the
    workers' optimizers take them as global_gradient summed them."""
    return list(grads_and_vars)


def global_gradient(grads, config):
    """`grads` as they are, with one worker; in a replica of several, the
    global batch's gradient, clipped (distributed/shards.py)."""
    return shards.tensorflow_global_gradient(tf, grads, config)


def join_workers():
    """This process's place among the workers that TF_CONFIG names."""
    rank, count = shards.tf_config_worker()
    return Workers(rank, count) if count > 1 else ONE_WORKER
