"""rnnlm_keras.py on N workers: tf.distribute.MultiWorkerMirroredStrategy.

TF_CONFIG names the workers (launch_tf.py sets it for N local processes).
The model and optimizer are made in the strategy's scope and the training
step runs by strategy.run. A Keras optimizer clips before it sums the
replicas' gradients, so `global_gradient` averages them over the workers
and clips the global batch's gradient first. One worker builds none of
this: its optimizer clips (global_clipnorm).
"""
from compat.keras3 import tf
from distributed import shards
from training import run


class OneWorker(run.OneWorker):
    def scope(self, device):
        return tf.device(device)

    def run(self, step, args):
        return step(*args)

    def global_gradient(self, grads, max_grad_norm):
        return grads


class Workers(shards.Workers, OneWorker):
    """One of N workers of a MultiWorkerMirroredStrategy."""

    collective_errors = tuple(getattr(tf.errors, name) for name in shards.TF_COLLECTIVE_ERRORS)

    def __init__(self, rank, count):
        super().__init__(rank, count)
        self.options = tf.distribute.experimental.CommunicationOptions(
            timeout_seconds=shards.TIMEOUT_SECONDS)
        self.strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=self.options)

    def scope(self, device):
        return self.strategy.scope()  # which places each replica on its worker

    def run(self, step, args):
        return self.strategy.run(step, args=args)

    def global_gradient(self, grads, max_grad_norm):
        return shards.tensorflow_global_gradient(tf, grads, self.count, max_grad_norm,
                                                 self.options)

    def all_reduce(self, values):
        mine = self.strategy.run(tf.identity, args=(tf.constant(values, tf.float64),))
        return self.strategy.reduce(tf.distribute.ReduceOp.SUM, mine, axis=None).numpy().tolist()


def join_workers():
    """This process's place among the workers that TF_CONFIG names."""
    rank, count = shards.tf_config_worker()
    return Workers(rank, count) if count > 1 else ONE_WORKER


ONE_WORKER = OneWorker()
