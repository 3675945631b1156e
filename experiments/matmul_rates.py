"""The smallest reproduction of bench's matmul column: one float32 product
[m, k] x [k, n] at each of the model's shapes, timed as each way of calling
it runs it, each in a process of its own, with the math libraries that
process has loaded:

    python experiments/matmul_rates.py --model small [--threads 2] [--torch /tmp/torch/bin/python]

The rows, from the most framework around the product to the least:
- fluid: the legacy `matmul_v2` operator, one product per `exe.run` of a
  static program (what rnnlm_fluid.py's executor pays per operator call
  comes with it);
- fluid-10: ten products per `exe.run` (bench's MATMUL_REPEATS), so the
  executor's call counts a tenth;
- paddle: `paddle.matmul` on eager tensors, one call a product;
- paddle-onednn: the same with FLAGS_use_mkldnn, oneDNN's kernels instead of MKL's sgemm;
- tensorflow: `tf.matmul` eagerly, one call a product;
- tensorflow-10: ten products in one `tf.function`;
- numpy (OpenBLAS) and, with --torch, torch: the same product, for scale.
Each rate is the best of 5 timings of 20 calls. docs/performance.md has a run.
"""
import argparse
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from benchmarks.speed import MATMUL_REPEATS, model_shapes, seconds  # noqa: E402
from config import PRESETS, Config, OneLineParser, positive_int  # noqa: E402
from experiments.children import measured_apart  # noqa: E402
from training.errors import run_cli  # noqa: E402

CALLS = 20  # calls in each timing
SHAPE_NAMES = ("input projection", "recurrent step", "softmax")  # model_shapes' order
LIBRARIES = ("mkl", "dnnl", "openblas", "iomp", "gomp", "tensorflow_framework", "phi_core")


def shapes(config):
    """{name: (m, k, n)} of the products one training step computes, as bench times them."""
    return {name: (m, k, n) for name, (m, k, n, _) in zip(SHAPE_NAMES, model_shapes(config))}


def best_seconds(call):
    """The best of 5 timings of CALLS calls, after one untimed call."""
    def calls():
        for _ in range(CALLS):
            call()  # each product dropped at once, its memory reused by the next
    timed = seconds(calls)
    return min(timed() for _ in range(5))


def fluid_timer(products_per_call, threads):
    os.environ["FLAGS_enable_pir_api"] = "0"
    from compat.paddle_fluid import legacy_op, paddle
    paddle.enable_static()
    paddle.base.core.set_num_threads(threads)  # as rnnlm_fluid.py's create_executor
    paddle.set_flags({"FLAGS_new_executor_serial_run": True})
    exe = paddle.static.Executor(paddle.CPUPlace())

    def timer(m, k, n):
        program, startup = paddle.static.Program(), paddle.static.Program()
        with paddle.static.program_guard(program, startup):
            w = paddle.static.create_parameter([k, n], "float32")
            x = paddle.static.create_parameter([m, k], "float32")
            products = [legacy_op("matmul_v2", X=x, Y=w) for _ in range(products_per_call)]
        exe.run(startup)
        return lambda: exe.run(program, fetch_list=[products[-1]], return_numpy=False)
    return timer


def paddle_timer(threads, onednn=False):
    import paddle
    paddle.base.core.set_num_threads(threads)  # as rnnlm_paddle.py
    if onednn:  # oneDNN's kernels, as TensorFlow's, where Paddle's CPU default is MKL's sgemm
        paddle.set_flags({"FLAGS_use_mkldnn": True})

    def timer(m, k, n):
        x, w = paddle.randn([m, k]), paddle.randn([k, n])
        return lambda: paddle.matmul(x, w)  # eager CPU kernels run synchronously
    return timer


def tensorflow_timer(products_per_call, threads):
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)

    def timer(m, k, n):
        w = tf.random.normal([k, n])
        inputs = [tf.random.normal([m, k]) for _ in range(products_per_call)]
        if products_per_call == 1:
            return lambda: tf.matmul(inputs[0], w).numpy()
        products = tf.function(lambda: [tf.matmul(x, w) for x in inputs])
        return lambda: products()[-1].numpy()
    return timer


def numpy_timer(threads):
    def timer(m, k, n):
        x = np.random.randn(m, k).astype(np.float32)
        w = np.random.randn(k, n).astype(np.float32)
        return lambda: x @ w
    return timer


def torch_timer(threads):
    import torch
    torch.set_num_threads(threads)

    def timer(m, k, n):
        x, w = torch.randn(m, k), torch.randn(k, n)
        return lambda: torch.mm(x, w)
    return timer


# way: (its timer for a number of threads, products per call)
WAYS = {"fluid": (lambda t: fluid_timer(1, t), 1),
        "fluid-10": (lambda t: fluid_timer(MATMUL_REPEATS, t), MATMUL_REPEATS),
        "paddle": (paddle_timer, 1),
        "paddle-onednn": (lambda t: paddle_timer(t, onednn=True), 1),
        "tensorflow": (lambda t: tensorflow_timer(1, t), 1),
        "tensorflow-10": (lambda t: tensorflow_timer(MATMUL_REPEATS, t), MATMUL_REPEATS),
        "numpy": (numpy_timer, 1),
        "torch": (torch_timer, 1)}


def loaded_libraries():
    """The math and framework libraries this process has mapped."""
    with open("/proc/self/maps", encoding="utf-8") as maps:
        paths = {line.split()[-1] for line in maps if ".so" in line}
    return sorted({os.path.basename(path) for path in paths
                   if any(name in os.path.basename(path) for name in LIBRARIES)})


def measure(way, model, threads):
    """{shape: GFLOP/s} and the libraries loaded, of one way in this process."""
    make_timer, products = WAYS[way]
    timer = make_timer(threads)
    config = Config(**PRESETS[model])
    rates = {}
    for name, (m, k, n) in shapes(config).items():
        rates[name] = round(CALLS * products * 2 * m * k * n / best_seconds(timer(m, k, n)) / 1e9, 1)
    return {"way": way, "rates": rates, "libraries": loaded_libraries()}


def main(argv=None):
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="small", choices=sorted(PRESETS))
    parser.add_argument("--threads", type=positive_int, default=os.cpu_count())
    parser.add_argument("--torch", metavar="PYTHON", help="a Python that has torch")
    parser.add_argument("--way", choices=sorted(WAYS), help=argparse.SUPPRESS)  # one child's
    args = parser.parse_args(argv)
    if args.way:
        print(json.dumps(measure(args.way, args.model, args.threads)))
        return
    ways = [way for way in WAYS if way != "torch"] + (["torch"] if args.torch else [])
    config = Config(**PRESETS[args.model])
    names = list(shapes(config))
    print(f"| way | {' | '.join(f'{name} {m}x{k}x{n}' for name, (m, k, n) in shapes(config).items())}"
          " | libraries |")
    print("| --- " * (len(names) + 2) + "|")
    for way in ways:
        python = args.torch if way == "torch" else sys.executable
        row = measured_apart([python, os.path.abspath(__file__), "--way", way, "--model",
                              args.model, "--threads", str(args.threads)], f"the {way} row")
        print(f"| {way} | {' | '.join(str(row['rates'][name]) for name in names)} | "
              f"{', '.join(row['libraries'])} |")


if __name__ == "__main__":
    run_cli(main)
