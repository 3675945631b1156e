"""Paddle 3.3.1 in Fluid's mode, and the Fluid layers it no longer builds.

Import Paddle as `from compat.paddle_fluid import paddle`: this module sets
FLAGS_enable_pir_api=0 before the first `import paddle`, because Paddle 3's
default IR (PIR) has no LoD tensors, and then turns on the static graph.

Four things the 2018 Fluid API did that Paddle 3.3.1 cannot do as written
live here, each under the name the 2018 API used:

- `dynamic_lstm`: the LoD lstm operator, run in float64 at hidden sizes
  where its float32 CPU backward is wrong (below, and docs/paddle-3.3.1.md);
- `fc`: with a bias, computed as [x, 1] @ [W; b], because Paddle's CPU bias
  add over [words, vocab] is slow;
- `GradientClipByGlobalNorm`: paddle.nn.ClipGradByGlobalNorm can no longer
  build a legacy graph;
- `reduce_sum`: paddle.sum builds only PIR.
"""
import os
import sys
import warnings

from compat.loading import stops_end_it_quietly
from compat.mkl import use_avx2_kernels_on_amd

if "paddle" in sys.modules and os.environ.get("FLAGS_enable_pir_api") != "0":
    raise ImportError("paddle was imported before compat.paddle_fluid; import it first")
os.environ["FLAGS_enable_pir_api"] = "0"
os.environ.setdefault("GLOG_minloglevel", "2")  # hide the executor's INFO lines
warnings.filterwarnings("ignore", message="No ccache found")
use_avx2_kernels_on_amd()

with stops_end_it_quietly():
    import paddle
    from paddle.base.data_feeder import convert_dtype
    from paddle.base.layer_helper import LayerHelper
    from paddle.utils.deprecated import VisibleDeprecationWarning

# The legacy graph is deprecated, and using it is the point here.
warnings.filterwarnings("ignore", category=VisibleDeprecationWarning)
warnings.filterwarnings("ignore", message=".*softmax_with_cross_entropy.*deprecated")
paddle.enable_static()

def lstm_dtype(hidden_size):
    """The dtype the lstm operator computes in: float32 unless that is wrong.

    Paddle 3.3.1's CPU backward of this operator takes an AVX path for
    float32 whenever the hidden size is a multiple of 8 (`small`'s 200, not
    `medium`'s 650 or `large`'s 1500), and that path never adds the output's
    gradient into the cell state: in phi/kernels/funcs/detail/lstm_kernel.h,
    backward::lstm (the __m256 overload), the update of state_grad sits only
    inside `if (*cell_clip > 0.0f)`, and LSTMGradKernel passes cell_clip 0.
    float64 takes the scalar path, which is correct, at about half the speed.
    experiments/paddle_lstm_float32_gradient.py shows it;
    tests/test_networks.py fails if float32 is used where it is wrong.
    """
    return "float64" if hidden_size % 8 == 0 else "float32"


def dynamic_lstm(input, size, h_0=None, c_0=None, param_attr=None, bias_attr=None, name=None):
    """fluid.layers.dynamic_lstm(..., use_peepholes=False) as of 2018.

    input: the four gates' input projections, float32 [total_words, size]
    with LoD; size is 4 x hidden. Gate order {candidate, input, forget,
    output}; the bias [1, size] is the layer's only bias. h_0, c_0: None
    (start from zeros) or float32 [sequences, hidden] to start from.
    Returns float32 (hidden, cell), each [total_words, hidden] with LoD.
    """
    return lstm_operator(input, size, h_0, c_0, param_attr, bias_attr, name, lstm_dtype(size // 4))


def lstm_operator(input, size, h_0, c_0, param_attr, bias_attr, name, dtype):
    """dynamic_lstm, its operator computing in `dtype` (cast in and out if not float32)."""
    hidden_size = size // 4
    helper = LayerHelper("lstm", name=name)
    weight = helper.create_parameter(param_attr, [hidden_size, size], dtype)
    bias = helper.create_parameter(bias_attr, [1, size], dtype, is_bias=True)
    inputs = {"Input": cast(input, dtype), "Weight": weight, "Bias": bias}
    if h_0 is not None:
        inputs["H0"], inputs["C0"] = cast(h_0, dtype), cast(c_0, dtype)
    outputs = {key: helper.create_variable_for_type_inference(dtype)
               for key in ("Hidden", "Cell", "BatchGate", "BatchCellPreAct")}
    helper.append_op(type="lstm", inputs=inputs, outputs=outputs,
                     attrs={"use_peepholes": False, "is_reverse": False, "is_test": False,
                            "gate_activation": "sigmoid", "cell_activation": "tanh",
                            "candidate_activation": "tanh"})
    return tuple(cast(outputs[key], "float32") for key in ("Hidden", "Cell"))


def cast(tensor, dtype):
    """paddle.cast, with no operator where `tensor` is `dtype` already."""
    return tensor if convert_dtype(tensor.dtype) == dtype else paddle.cast(tensor, dtype)


def fc(input, size, param_attr=None, bias_attr=None):
    """fluid.layers.fc for a 2-D input: input @ W, plus b unless bias_attr is False.

    With a bias it computes [input, 1] @ [W; b]: the same parameters and
    numbers as a bias add, but Paddle 3.3.1's CPU kernels for adding a bias
    to [words, vocab] and for its gradient are slow (docs/performance.md);
    inside the matrix product the bias costs almost nothing.
    """
    if bias_attr is False:
        return paddle.static.nn.fc(input, size, weight_attr=param_attr, bias_attr=False)
    in_size = input.shape[-1]
    weight = paddle.static.create_parameter([in_size, size], "float32", attr=param_attr)
    bias = paddle.static.create_parameter([1, size], "float32", attr=bias_attr)
    first_column = legacy_op("slice", Input=input, attrs=dict(axes=[1], starts=[0], ends=[1],
                                                              infer_flags=[1], decrease_axis=[]))
    ones = legacy_op("scale", X=first_column, attrs=dict(scale=0.0, bias=1.0))
    ones.stop_gradient = True
    input_and_one = legacy_op("concat", X=[input, ones], attrs=dict(axis=1))
    weight_and_bias = legacy_op("concat", X=[weight, bias], attrs=dict(axis=0))
    return legacy_op("matmul_v2", X=input_and_one, Y=weight_and_bias)


def reduce_sum(input):
    """fluid.layers.reduce_sum(input): the sum of every element, shape [1]."""
    return legacy_op("reduce_sum", X=input, attrs=dict(dim=[0], keep_dim=False, reduce_all=True))


class GradientClipByGlobalNorm(paddle.nn.clip.ClipGradBase):
    """fluid.clip.GradientClipByGlobalNorm: scale every gradient by
    clip_norm / max(global norm, clip_norm). Pass it as an optimizer's grad_clip.

    paddle.nn.ClipGradByGlobalNorm cannot build a legacy graph in Paddle 3.3:
    it calls paddle.sqrt and paddle.maximum, which make only PIR ops now.
    These are the legacy ops it used to append.
    """

    def __init__(self, clip_norm):
        super().__init__()
        self.clip_norm = clip_norm

    def __str__(self):
        return f"Gradient Clip By GlobalNorm, global_norm={self.clip_norm}"

    def _static_clip(self, params_grads):
        op = legacy_op
        # float32 throughout, though the lstm's gradients may be float64.
        squares = [paddle.cast(op("squared_l2_norm", X=grad), "float32") for _, grad in params_grads]
        norm = op("sqrt", X=op("sum", X=squares))
        limit = paddle.full([1], self.clip_norm, "float32")
        scale = op("elementwise_div", X=limit, Y=op("elementwise_max", X=norm, Y=limit))
        # The scale operator: the same product as elementwise_mul, without its
        # slow broadcasting path (docs/performance.md).
        return [(param, op("scale", X=grad, ScaleTensor=paddle.cast(scale, grad.dtype)))
                for param, grad in params_grads]


def legacy_op(kind, attrs=None, **inputs):
    """Append a legacy operator with one output, "Out", of its first input's
    dtype; for operators whose Python API now builds only PIR, or has none."""
    helper = LayerHelper(kind)
    first = next(iter(inputs.values()))
    first = first[0] if isinstance(first, list) else first
    out = helper.create_variable_for_type_inference(first.dtype)
    helper.append_op(type=kind, inputs=inputs, outputs={"Out": out}, attrs=attrs or {})
    return out
