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


def _amd_cpu_with_avx2():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            text = info.read(8192)
    except OSError:
        return False
    return "AuthenticAMD" in text and " avx2" in text


# Paddle's CPU matrix products run on the MKL it bundles (2019.0.5). That
# MKL picks its AVX2 kernels only on Intel CPUs; on an AMD CPU it falls back
# to a generic path about 2.5 times slower (bench.py measures both).
# MKL_DEBUG_CPU_TYPE=5 selects the AVX2 kernels; set it only on AMD CPUs
# with AVX2 (on Intel it could only hold MKL back), and never over a value
# the user has set. MKL reads it once, when paddle loads it.
if _amd_cpu_with_avx2():
    os.environ.setdefault("MKL_DEBUG_CPU_TYPE", "5")

import paddle  # noqa: E402
from paddle.utils.deprecated import VisibleDeprecationWarning  # noqa: E402

# The legacy graph is deprecated, and using it is the point here.
warnings.filterwarnings("ignore", category=VisibleDeprecationWarning)
warnings.filterwarnings("ignore", message=".*softmax_with_cross_entropy.*deprecated")
paddle.enable_static()
