"""rnnlm_paddle.py on N workers: paddle.DataParallel.

python -m paddle.distributed.launch starts the workers and tells each its
rank (gloo on CPUs, NCCL on GPUs). `build` wraps the model in DataParallel,
which broadcasts worker 0's weights as it wraps it, and averages the
gradients over the workers during backward(), before the optimizer clips
them: the clipping sees the global batch's gradient, as each worker's loss
is its share's cost over --batch_size (distributed/shards.py). One worker
builds none of this (distributed/workers.py).
"""
from compat.paddle_dygraph import init_parallel_env, paddle
from distributed import shards
from distributed.workers import ONE_WORKER


class Workers(shards.Workers):
    """One of N workers that paddle.distributed.launch started."""

    collective_errors = (RuntimeError, OSError)

    def __init__(self, rank, count):
        super().__init__(rank, count)
        init_parallel_env()

    def build(self, make, *args):
        """The model make(*args) returns, its gradients averaged over the workers."""
        return paddle.DataParallel(make(*args))

    def all_reduce(self, values):
        total = paddle.to_tensor(values, dtype="float64")
        paddle.distributed.all_reduce(total)
        return total.numpy().tolist()


def join_workers():
    """This process's place among the workers paddle.distributed.launch started."""
    rank, count = shards.paddle_launch_worker()
    return Workers(rank, count) if count > 1 else ONE_WORKER
