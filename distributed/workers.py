"""The workers interface: what a training run asks of its workers, one or several.

Every engine's workers (distributed/tf_v1.py, keras.py, paddle.py) have the
same shape as OneWorker, the one worker a script trains on by default:

- `rank`, `count`: this worker and how many there are;
- `build(make, *args)`: make(*args), built as the workers train it. One
  worker calls it as it is; several wrap it from outside: TensorFlow's two
  engines call it under their strategy (the v1 graph once a replica),
  Paddle's wraps the model it returns in DataParallel;
- `target` (TensorFlow v1's only): the server the Session runs on, "" for
  this process;
- `batches(...)`: this worker's share of an epoch's training batches;
- `sum(values)`, `from_worker_0(value)`: numbers shared among the workers,
  and `collective_errors`, what a collective raises when it lost a worker
  (training/run.py's Run uses these four).

Where the engine needs the gradient of every worker's batch (TensorFlow's
clip it before their optimizers sum the replicas), a function of its module
finds the workers from the replica context it runs in, so that with one
worker the script's code is the framework's own (`global_gradient`).
"""
from ptb.batching import make_batches


class OneWorker:
    """The workers of a run on one: distributed.shards.Workers is the same for several."""

    rank, count = 0, 1
    collective_errors = ()  # what a collective raises when it lost a worker

    def build(self, make, *args):
        """make(*args), as these workers train it: here, as it is."""
        return make(*args)

    def sum(self, values):
        """A list of numbers, summed over the workers."""
        return values

    def from_worker_0(self, value):
        """Worker 0's whole number `value`, on every worker."""
        return value

    def batches(self, loader, sentences, vocab, config, seed):
        """This worker's share of an epoch's training batches: here, all of them."""
        return make_batches(loader, sentences, vocab, config, seed)


ONE_WORKER = OneWorker()
