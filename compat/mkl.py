"""MKL's AVX2 kernels on AMD CPUs, for Paddle, whichever of its modes a script uses."""
import os


def _amd_cpu_with_avx2():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            text = info.read(8192)
    except OSError:
        return False
    return "AuthenticAMD" in text and " avx2" in text


def use_avx2_kernels_on_amd():
    """Call before the first `import paddle`.

    Paddle's CPU matrix products run on the MKL it bundles (2019.0.5). That
    MKL picks its AVX2 kernels only on Intel CPUs; on an AMD CPU it falls
    back to a generic path about 2.5 times slower (docs/performance.md).
    MKL_DEBUG_CPU_TYPE=5 selects the AVX2 kernels; set it only on AMD CPUs
    with AVX2 (on Intel it could only hold MKL back), and never over a value
    the user has set. MKL reads it once, when paddle loads it.
    """
    if _amd_cpu_with_avx2():
        os.environ.setdefault("MKL_DEBUG_CPU_TYPE", "5")
