"""rnnlm_tensorflow.py on N workers: MultiWorkerMirroredStrategy in the v1 graph.

TF_CONFIG names the workers (launch_tf.py sets it for N local processes).
Each worker runs a tf.distribute.Server and a Session on it; the training
network is built once per replica by strategy.extended.call_for_each_replica,
and its gradients are summed over the workers by the replica context's
all_reduce before the global-norm clipping, so that the clipping sees the
global batch's gradient. One worker builds none of this.
"""
from compat.tf_v1 import tf
from distributed import shards

# A collective that waits longer than this has lost a worker. It must
# outlast worker 0's evaluation, which the others wait for.
TIMEOUT_SECONDS = 600


class OneWorker(shards.OneWorker):
    target = ""

    def scope(self, device):
        return tf.device(device)

    def each_replica(self, build):
        return build()

    def summed(self, grads):
        return grads

    def for_optimizer(self, grads):
        return grads

    def session_options(self, options):
        return options

    def add_sum(self):
        pass


class Workers(shards.Workers, OneWorker):
    """One of N workers of a MultiWorkerMirroredStrategy. `session` is set
    once the Session exists: summing numbers runs an op in it."""

    collective_errors = (tf.errors.DeadlineExceededError, tf.errors.UnavailableError,
                         tf.errors.CancelledError, tf.errors.InternalError)

    def __init__(self, rank, count):
        super().__init__(rank, count)
        self.strategy = tf.distribute.experimental.MultiWorkerMirroredStrategy()
        self.options = tf.distribute.experimental.CommunicationOptions(
            timeout_seconds=TIMEOUT_SECONDS)
        self.proto = self.strategy.update_config_proto(tf.ConfigProto())
        self.server = tf.distribute.Server(self.strategy.cluster_resolver.cluster_spec(),
                                           job_name="worker", task_index=rank, config=self.proto,
                                           protocol="grpc")
        self.target = self.server.target

    def scope(self, device):
        return self.strategy.scope()  # which places each replica on its worker

    def each_replica(self, build):
        return self.strategy.extended.call_for_each_replica(build)

    def summed(self, grads):
        """The gradients of every worker, summed: the global batch's."""
        context = tf.distribute.get_replica_context()
        return context.all_reduce(tf.distribute.ReduceOp.SUM, grads, options=self.options)

    def for_optimizer(self, grads):
        # A v1 optimizer in a replica context sums its gradients over the
        # replicas itself; these are the sum already.
        return [grad / self.count for grad in grads]

    def session_options(self, options):
        options.MergeFrom(self.proto)
        return options

    def add_sum(self):
        """The op that sums three numbers over the workers (see `all_reduce`): one
        shape, which a collective keeps from one run to the next."""
        self.numbers = tf.placeholder(tf.float64, [3], "numbers")

        def replica_sum():
            context = tf.distribute.get_replica_context()
            return context.all_reduce(tf.distribute.ReduceOp.SUM, self.numbers,
                                      options=self.options)
        self.numbers_sum = self.each_replica(replica_sum)

    def all_reduce(self, values):
        """Three `values`: the op add_sum built has that shape."""
        return list(self.session.run(self.numbers_sum, {self.numbers: values}))


def join_workers():
    """This process's place among the workers that TF_CONFIG names."""
    rank, count = shards.tf_config_worker()
    return Workers(rank, count) if count > 1 else ONE_WORKER


ONE_WORKER = OneWorker()
