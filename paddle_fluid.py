"""Import Paddle in its Fluid mode: the legacy static graph, which has LoD.

Paddle 3's default IR (PIR) has no LoD tensors, so FLAGS_enable_pir_api=0
must be in the environment before the first `import paddle`. This is the one
place that sets it: import paddle as `from paddle_fluid import paddle`.
"""
import os
import sys
import warnings

if "paddle" in sys.modules and os.environ.get("FLAGS_enable_pir_api") != "0":
    raise ImportError("paddle was imported before paddle_fluid; import paddle_fluid first")
os.environ["FLAGS_enable_pir_api"] = "0"
os.environ.setdefault("GLOG_minloglevel", "2")  # hide the executor's INFO lines
warnings.filterwarnings("ignore", message="No ccache found")

import paddle  # noqa: E402
from paddle.utils.deprecated import VisibleDeprecationWarning  # noqa: E402

# The legacy graph is deprecated, and using it is the point here.
warnings.filterwarnings("ignore", category=VisibleDeprecationWarning)
warnings.filterwarnings("ignore", message=".*softmax_with_cross_entropy.*deprecated")
paddle.enable_static()
