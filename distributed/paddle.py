"""rnnlm_paddle.py on N workers: paddle.DataParallel.

python -m paddle.distributed.launch starts the workers and tells each its
rank (gloo on CPUs, NCCL on GPUs). DataParallel broadcasts worker 0's
weights when it wraps the model, and averages the gradients over the
workers during backward(), before the optimizer clips them: the clipping
sees the global batch's gradient, as each worker's loss is its share's cost
over --batch_size (distributed/shards.py). One worker builds none of this.
"""
from compat.paddle_dygraph import init_parallel_env, paddle
from distributed import shards
from training import run


class OneWorker(run.OneWorker):
    def parallel(self, model):
        return model


class Workers(shards.Workers, OneWorker):
    """One of N workers that paddle.distributed.launch started."""

    collective_errors = (RuntimeError, OSError)

    def __init__(self, rank, count):
        super().__init__(rank, count)
        init_parallel_env()

    def parallel(self, model):
        """The model to train, its gradients averaged over the workers."""
        return paddle.DataParallel(model)

    def all_reduce(self, values):
        total = paddle.to_tensor(values, dtype="float64")
        paddle.distributed.all_reduce(total)
        return total.numpy().tolist()


def join_workers():
    """This process's place among the workers paddle.distributed.launch started."""
    rank, count = shards.paddle_launch_worker()
    return Workers(rank, count) if count > 1 else ONE_WORKER


ONE_WORKER = OneWorker()
