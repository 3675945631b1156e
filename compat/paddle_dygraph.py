"""Paddle 3 as its users write it today: the dynamic graph in the default IR.

Import Paddle as `from compat.paddle_dygraph import paddle`. Nothing here
changes what Paddle computes; it selects MKL's fast kernels on AMD CPUs
before Paddle loads, quiets its start-up notices and a warning of its own
compiler's, and gives nn.Linear's bias a faster way in (Linear). No legacy flag: a
process that has imported compat.paddle_fluid cannot use this module, and
one started by such a process drops the flag it inherited.
"""
import contextlib
import io
import os
import sys
import warnings

from compat.loading import stops_end_it_quietly
from compat.mkl import use_avx2_kernels_on_amd

if "paddle" in sys.modules and os.environ.get("FLAGS_enable_pir_api") == "0":
    raise ImportError("this process runs Paddle's legacy graph (compat.paddle_fluid); "
                      "run the dynamic graph in a process of its own")
# The legacy flag, if a parent process that ran the legacy graph passed it on.
os.environ.pop("FLAGS_enable_pir_api", None)
if "paddle" not in sys.modules:
    use_avx2_kernels_on_amd()
os.environ.setdefault("GLOG_minloglevel", "2")
warnings.filterwarnings("ignore", message="No ccache found")
# paddle.jit.to_static (--compile) warns once a program, from Paddle's own
# backward: paddle.full_like (tensor/creation.py:1391) reads `x.place`, which
# a PIR value does not have (pir/math_op_patch.py:241). Nothing of ours reads it.
warnings.filterwarnings("ignore", message="Tensor do not have 'place' interface for pir graph")

with stops_end_it_quietly():
    import paddle  # noqa: F401  the scripts import it from here


def init_parallel_env():
    """paddle.distributed.init_parallel_env, without the "Modified FLAGS
    detected" banner it prints on every worker: it lists a flag Paddle's
    own dynamic graph sets (FLAGS_enable_pir_in_executor), nothing a user
    changed. If it fails, what it printed comes out with the error."""
    with contextlib.redirect_stderr(io.StringIO()) as printed:
        try:
            paddle.distributed.init_parallel_env()
        except BaseException:
            sys.__stderr__.write(printed.getvalue())
            raise


class Linear(paddle.nn.Linear):
    """nn.Linear, its bias added inside the matrix product: [x, 1] @ [W; b].

    The same parameters (weight [in, out], bias [out]) and the same outputs,
    as compat.paddle_fluid.fc computes Fluid's: Paddle 3.3.1's CPU kernels
    for adding the bias to [words, vocab] logits, and for its gradient,
    took 18% of the operator time of a training step at `small`
    (docs/paddle-3.3.1.md); inside the product the bias is one more row.
    """

    def forward(self, x):
        ones = paddle.ones_like(x[..., :1])
        weight_and_bias = paddle.concat([self.weight, self.bias.unsqueeze(0)], 0)
        return paddle.matmul(paddle.concat([x, ones], -1), weight_and_bias)
