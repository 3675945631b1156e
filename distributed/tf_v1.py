"""rnnlm_tensorflow.py on N workers: MultiWorkerMirroredStrategy in the v1 graph.

TF_CONFIG names the workers (launch_tf.py sets it for N local processes).
Each worker runs a tf.distribute.Server and a Session on it; the training
network is built once per replica by strategy.extended.call_for_each_replica,
and `global_gradient` averages its gradients over the workers and clips
them, so that the clipping sees the global batch's gradient. One worker
builds none of this.
"""
import contextlib

from compat.tf_v1 import tf
from distributed import shards
from training import run


class OneWorker(run.OneWorker):
    target = ""

    def scope(self, device):
        return tf.device(device)

    def each_replica(self, build):
        return build()

    def global_gradient(self, grads, max_grad_norm):
        return grads

    def session_options(self, options):
        return options


class Workers(shards.Workers, OneWorker):
    """One of N workers of a MultiWorkerMirroredStrategy."""

    collective_errors = tuple(getattr(tf.errors, name) for name in shards.TF_COLLECTIVE_ERRORS)

    def __init__(self, rank, count):
        super().__init__(rank, count)
        self.strategy = tf.distribute.experimental.MultiWorkerMirroredStrategy()
        self.options = tf.distribute.experimental.CommunicationOptions(
            timeout_seconds=shards.TIMEOUT_SECONDS)
        self.proto = self.strategy.update_config_proto(tf.ConfigProto())
        self.server = tf.distribute.Server(self.strategy.cluster_resolver.cluster_spec(),
                                           job_name="worker", task_index=rank, config=self.proto,
                                           protocol="grpc")
        self.target = self.server.target
        self.numbers_session = None

    @contextlib.contextmanager
    def scope(self, device):
        """The strategy's scope, which places each replica on its worker;
        the op that sums numbers over the workers is added as it closes."""
        with self.strategy.scope():
            yield
            self.numbers = tf.placeholder(tf.float64, [3], "numbers")
            self.numbers_sum = self.each_replica(lambda: self._all_reduce_sum(self.numbers))
            self.graph = tf.get_default_graph()

    def each_replica(self, build):
        return self.strategy.extended.call_for_each_replica(build)

    def _all_reduce_sum(self, values):
        context = tf.distribute.get_replica_context()
        return context.all_reduce(tf.distribute.ReduceOp.SUM, values, options=self.options)

    def global_gradient(self, grads, max_grad_norm):
        # Dense, to be summed over the workers (the embedding's is sparse).
        grads = [tf.convert_to_tensor(grad) for grad in grads]
        return shards.tensorflow_global_gradient(tf, grads, self.count, max_grad_norm,
                                                 self.options)

    def session_options(self, options):
        options.MergeFrom(self.proto)
        return options

    def all_reduce(self, values):
        """Three `values`, through a Session of its own on this worker's server."""
        if self.numbers_session is None:
            self.numbers_session = tf.Session(self.target, graph=self.graph, config=self.proto)
        return list(self.numbers_session.run(self.numbers_sum, {self.numbers: values}))


def join_workers():
    """This process's place among the workers that TF_CONFIG names."""
    rank, count = shards.tf_config_worker()
    return Workers(rank, count) if count > 1 else ONE_WORKER


ONE_WORKER = OneWorker()
