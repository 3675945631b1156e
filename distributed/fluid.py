"""rnnlm_fluid.py trains on one worker: why, and what to run instead.

Data parallelism for Paddle's static graph is fleet, and neither of its
modes runs on the CPU build of paddlepaddle 3.3.1: collective mode stops at
"comm_id must be generated in paddlepaddle-xpu" (it needs a CUDA or XPU
build), and parameter-server mode at "ImportError: cannot import name
'CommContext'" (experiments/paddle_static_distributed.py shows both). A
distributed Fluid script could not be run here, so none is shipped.
"""
from config import WORKERS_HELP
from distributed.shards import paddle_launch_worker, tf_config_worker
from distributed.workers import ONE_WORKER
from errors import UserError


def one_worker_only():
    """The one worker, or one line if a launcher asked for more."""
    if max(paddle_launch_worker()[1], tf_config_worker()[1]) > 1:
        raise UserError(WORKERS_HELP["fluid"])
    return ONE_WORKER
