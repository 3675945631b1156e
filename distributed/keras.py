"""rnnlm_keras.py on N workers: tf.distribute.MultiWorkerMirroredStrategy.

TF_CONFIG names the workers (launch_tf.py sets it for N local processes).
The model and optimizer are made in the strategy's scope and the training
step runs by strategy.run. A Keras optimizer clips before it sums the
replicas' gradients, so with several workers the step sums them itself,
then clips the global batch's gradient. One worker builds none of this:
its optimizer clips (global_clipnorm).
"""
from compat.keras3 import tf
from distributed import shards

# A collective that waits longer than this has lost a worker. It must
# outlast worker 0's evaluation, which the others wait for.
TIMEOUT_SECONDS = 600


class OneWorker(shards.OneWorker):
    def scope(self, device):
        return tf.device(device)

    def run(self, step, args):
        return step(*args)

    def clip_norm(self, max_grad_norm):
        return max_grad_norm  # the optimizer clips

    def summed_and_clipped(self, grads, max_grad_norm):
        return grads


class Workers(shards.Workers, OneWorker):
    """One of N workers of a MultiWorkerMirroredStrategy."""

    collective_errors = (tf.errors.DeadlineExceededError, tf.errors.UnavailableError,
                         tf.errors.CancelledError, tf.errors.InternalError)

    def __init__(self, rank, count):
        super().__init__(rank, count)
        self.options = tf.distribute.experimental.CommunicationOptions(
            timeout_seconds=TIMEOUT_SECONDS)
        self.strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=self.options)

    def scope(self, device):
        return self.strategy.scope()  # which places each replica on its worker

    def run(self, step, args):
        return self.strategy.run(step, args=args)

    def clip_norm(self, max_grad_norm):
        return None  # it would clip this worker's gradient alone

    def summed_and_clipped(self, grads, max_grad_norm):
        """The gradients of every worker, summed (the global batch's) and
        clipped; divided by the workers, as the optimizer sums them again."""
        context = tf.distribute.get_replica_context()
        summed = context.all_reduce(tf.distribute.ReduceOp.SUM, grads, options=self.options)
        clipped, _ = tf.clip_by_global_norm(summed, max_grad_norm)
        return [grad / self.count for grad in clipped]

    def all_reduce(self, values):
        mine = self.strategy.run(tf.identity, args=(tf.constant(values, tf.float64),))
        return self.strategy.reduce(tf.distribute.ReduceOp.SUM, mine, axis=None).numpy().tolist()


def join_workers():
    """This process's place among the workers that TF_CONFIG names."""
    rank, count = shards.tf_config_worker()
    return Workers(rank, count) if count > 1 else ONE_WORKER


ONE_WORKER = OneWorker()
