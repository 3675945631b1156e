"""Keras 3 on the TensorFlow backend, as its users write it today.

Import it as `from compat.keras3 import keras, tf`. TF_USE_LEGACY_KERAS
(which compat.tf_v1 sets for BasicLSTMCell) would make `tf.keras` Keras 2;
this module drops it if a parent process passed it on, and refuses to load
in a process that runs the v1 graph, whose eager execution is off. It also
keeps the C heap's freed memory for the next step (compat/heap.py), and
starts Keras without matplotlib, which it would import for nothing.
"""
import contextlib
import os
import sys

from compat.heap import keep_freed_memory
from compat.loading import native_stderr_silenced, stops_end_it_quietly

if "tensorflow" in sys.modules and os.environ.get("TF_USE_LEGACY_KERAS") == "1":
    raise ImportError("this process runs TensorFlow's v1 graph (compat.tf_v1); "
                      "run Keras 3 in a process of its own")
os.environ.pop("TF_USE_LEGACY_KERAS", None)
os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@contextlib.contextmanager
def not_installed(name):
    """Inside, `import name` fails as if the package were not installed (a
    None in sys.modules); after, it imports as usual."""
    if name in sys.modules:
        yield
        return
    sys.modules[name] = None
    try:
        yield
    finally:
        del sys.modules[name]


# Keras imports matplotlib, if it is there, for image galleries that a
# language model never draws: 0.45 s of a Keras process's 3.2 s start-up.
with native_stderr_silenced(), stops_end_it_quietly(), not_installed("matplotlib"):
    import keras  # noqa: F401  the scripts import it from here
    import tensorflow as tf

tf.get_logger().setLevel("ERROR")
keep_freed_memory()
