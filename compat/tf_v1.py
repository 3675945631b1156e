"""TensorFlow's v1 graph API, as migrated TF1 code imports it.

`from compat.tf_v1 import tf` gives `tf` = `tensorflow.compat.v1`, so the
script reads `tf.placeholder`, `tf.get_variable`, `tf.Session`, like
TensorFlow's own PTB tutorial, with eager execution off.

BasicLSTMCell lives in tf-keras (Keras 2); with Keras 3 it raises "not
available with Keras 3". TF_USE_LEGACY_KERAS=1 must be in the environment
before the first `import tensorflow`, so this module sets it and refuses to
load after TensorFlow has been imported without it.
"""
import os
import sys
import warnings

from compat.loading import native_stderr_silenced, stops_end_it_quietly

if "tensorflow" in sys.modules and os.environ.get("TF_USE_LEGACY_KERAS") != "1":
    raise ImportError("tensorflow was imported before compat.tf_v1; import it first")
os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# A Session's global_jit_level (--compile) clusters operators for XLA only on
# GPUs unless this flag is set; it does nothing where no jit level is asked for.
os.environ["TF_XLA_FLAGS"] = " ".join(filter(None, [os.environ.get("TF_XLA_FLAGS"),
                                                    "--tf_xla_cpu_global_jit"]))


with native_stderr_silenced(), stops_end_it_quietly():
    import tensorflow
    import tf_keras  # noqa: F401  loads the rest of the native code now, quietly

tf = tensorflow.compat.v1
tf.get_logger().setLevel("ERROR")  # deprecation notices of the v1 API we use on purpose
warnings.filterwarnings("ignore", message=r".*BasicLSTMCell. is deprecated")
tf.disable_eager_execution()
