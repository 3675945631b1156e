"""Paddle 3.3.1's CPU lstm operator: a wrong float32 gradient when hidden % 8 == 0.

A minimal reproduction for docs/paddle-3.3.1.md. One LoD batch of two
sequences goes through the legacy `lstm` operator (what
fluid.layers.dynamic_lstm appends); the loss is a fixed random weighting of
its hidden output. The operator's gradient with respect to its input is
compared, along a random direction, with a central finite difference of the
loss. Run from the repository's folder:

    python experiments/paddle_lstm_float32_gradient.py

float32 at hidden sizes 8 and 16 (the AVX path) disagrees with the finite
difference; float32 at 7 and 9 (the scalar path) and float64 at every size
agree. rnnlm_fluid.py therefore runs the operator in float64 at hidden sizes
that are a multiple of 8.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from compat.paddle_fluid import lstm_operator, paddle  # noqa: E402

LENGTHS = [5, 3]  # two sequences, 8 time steps in all


def gradient_check(hidden_size, dtype, seed=0):
    """(analytic, numeric) directional derivative of the loss in the input."""
    rng = np.random.default_rng(seed)
    steps, size = sum(LENGTHS), 4 * hidden_size
    program, startup = paddle.static.Program(), paddle.static.Program()
    with paddle.static.program_guard(program, startup), paddle.utils.unique_name.guard():
        gates = paddle.static.data("gates", [-1, size], "float32", lod_level=1)
        gates.stop_gradient = False
        init = paddle.nn.initializer.Uniform(-0.5, 0.5)
        hidden, _ = lstm_operator(gates, size, None, None, paddle.ParamAttr(initializer=init),
                                  paddle.ParamAttr(initializer=init), "lstm", dtype)
        weighting = paddle.static.data("weighting", [-1, hidden_size], "float32")
        loss = paddle.mean(hidden * weighting)
        (gradient,) = paddle.static.gradients([loss], [gates])
    exe = paddle.static.Executor(paddle.CPUPlace())
    exe.run(startup)

    values = rng.uniform(-1, 1, (steps, size)).astype("float32")
    feed_weighting = rng.standard_normal((steps, hidden_size)).astype("float32")
    direction = rng.standard_normal((steps, size)).astype("float32")

    def run(inputs, fetch):
        tensor = paddle.base.create_lod_tensor(inputs, [LENGTHS], paddle.CPUPlace())
        return np.array(exe.run(program, feed={"gates": tensor, "weighting": feed_weighting},
                                fetch_list=[fetch], return_numpy=False)[0])

    analytic = float((run(values, gradient) * direction).sum())
    step = 1e-3
    plus, minus = (float(run(values + sign * step * direction, loss)) for sign in (1, -1))
    return analytic, (plus - minus) / (2 * step)


def main():
    print(f"PaddlePaddle {paddle.__version__}, CPU lstm operator, d loss / d input along a "
          "random direction")
    print("hidden  dtype     analytic     numeric  relative error")
    for hidden_size in (7, 8, 9, 16):
        for dtype in ("float32", "float64"):
            analytic, numeric = gradient_check(hidden_size, dtype)
            error = abs(analytic - numeric) / max(abs(numeric), 1e-12)
            print(f"{hidden_size:6}  {dtype}  {analytic:10.5f}  {numeric:10.5f}  {error:14.1%}")


if __name__ == "__main__":
    main()
