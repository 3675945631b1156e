"""--device auto|cpu|gpu, decided one way for each framework family.

`auto` takes a GPU if the build has CUDA and one is visible; `gpu` without
one is one line that says what to install; `cpu` runs on the CPU even on a
GPU machine. The framework comes in as an argument, in the mode its
script imported it (the v1 graph or Keras 3; the legacy graph or Paddle 3).
"""
from errors import UserError


def paddle_uses_gpu(paddle, device):
    """Whether a Paddle script runs on GPU 0; printed as the start-up's device line."""
    has_gpu = paddle.is_compiled_with_cuda() and paddle.device.cuda.device_count() > 0
    if device == "gpu" and not has_gpu:
        raise UserError("--device gpu: this PaddlePaddle build has no CUDA or no GPU is visible; "
                        "install Paddle's GPU build on a GPU machine (README), or use --device cpu")
    return announced(has_gpu and device != "cpu")


def tensorflow_device(tf, device):
    """'/GPU:0' or '/CPU:0' for a TensorFlow script; `cpu` hides the GPUs."""
    has_gpu = bool(tf.config.list_physical_devices("GPU"))
    if device == "gpu" and not has_gpu:
        raise UserError("--device gpu: this TensorFlow build has no CUDA or no GPU is visible; "
                        "install tensorflow[and-cuda] on a GPU machine, or use --device cpu")
    if device == "cpu" and has_gpu:
        tf.config.set_visible_devices([], "GPU")
    return "/GPU:0" if announced(has_gpu and device != "cpu") else "/CPU:0"


def announced(uses_gpu):
    print(f"device: {'GPU 0' if uses_gpu else 'CPU'}")
    return uses_gpu
