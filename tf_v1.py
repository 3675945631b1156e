"""Import TensorFlow with its v1 graph API: BasicLSTMCell, dynamic_rnn, Session.

BasicLSTMCell lives in tf-keras (Keras 2); with Keras 3 it raises "not
available with Keras 3". TF_USE_LEGACY_KERAS=1 must be in the environment
before the first `import tensorflow`. This is the one place that sets it:
import TensorFlow as `from tf_v1 import tf`.
"""
import os
import sys

if "tensorflow" in sys.modules and os.environ.get("TF_USE_LEGACY_KERAS") != "1":
    raise ImportError("tensorflow was imported before tf_v1; import tf_v1 first")
os.environ["TF_USE_LEGACY_KERAS"] = "1"
# Level 3 also hides the "failed call to cuInit" line on machines without a GPU.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402

tf.get_logger().setLevel("ERROR")  # deprecation notices of the v1 API we use on purpose
tf.compat.v1.disable_eager_execution()
