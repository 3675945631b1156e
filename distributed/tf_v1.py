"""rnnlm_tensorflow.py on N workers: MultiWorkerMirroredStrategy in the v1 graph.

TF_CONFIG names the workers (launch_tf.py sets it for N local processes).
Each worker runs a tf.distribute.Server and a Session on it (`target`); the
script's graph is built once per replica by the strategy (`build`), and
`global_gradient` averages the gradients over the workers and clips them,
so that the clipping sees the global batch's gradient. One worker builds
none of this (distributed/workers.py).
"""
from compat.tf_v1 import tf
from distributed import shards, workers


class OneWorker(workers.OneWorker):
    target = ""  # the Session's: this process


class Workers(shards.Workers, OneWorker):
    """One of N workers of a MultiWorkerMirroredStrategy."""

    collective_errors = tuple(getattr(tf.errors, name) for name in shards.TF_COLLECTIVE_ERRORS)

    def __init__(self, rank, count):
        super().__init__(rank, count)
        self.strategy = tf.distribute.experimental.MultiWorkerMirroredStrategy()
        self.proto = self.strategy.update_config_proto(tf.ConfigProto())
        self.server = tf.distribute.Server(self.strategy.cluster_resolver.cluster_spec(),
                                           job_name="worker", task_index=rank, config=self.proto,
                                           protocol="grpc")
        self.target = self.server.target
        self.numbers_session = None

    def build(self, make, *args):
        """make(*args) in the strategy's scope, once for this worker's
        replica, which places it on this worker; then the op that sums
        numbers over the workers, in the same graph."""
        with self.strategy.scope():
            built = self.strategy.extended.call_for_each_replica(make, args)
            self.numbers = tf.placeholder(tf.float64, [3], "numbers")
            self.numbers_sum = self.strategy.extended.call_for_each_replica(
                lambda: shards.tensorflow_all_reduce_sum(tf, self.numbers))
            self.graph = tf.get_default_graph()
        return built

    def all_reduce(self, values):
        """Three `values`, through a Session of its own on this worker's server."""
        if self.numbers_session is None:
            self.numbers_session = tf.Session(self.target, graph=self.graph, config=self.proto)
        return list(self.numbers_session.run(self.numbers_sum, {self.numbers: values}))


def global_gradient(grads, config):
    """`grads` as they are, with one worker; in a replica of several, the
    global batch's gradient, clipped (distributed/shards.py)."""
    return shards.tensorflow_global_gradient(tf, grads, config)


def join_workers():
    """This process's place among the workers that TF_CONFIG names."""
    rank, count = shards.tf_config_worker()
    return Workers(rank, count) if count > 1 else ONE_WORKER


ONE_WORKER = OneWorker()
