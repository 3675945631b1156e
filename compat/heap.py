"""Keep the C heap's freed memory for the next step, for Keras 3 on TensorFlow."""
import ctypes
import platform

# mallopt's parameter for the extra memory each heap takes when it grows,
# and keeps when memory is freed (glibc's malloc.h).
M_TOP_PAD = -2
HEADROOM = 64 << 20


def keep_freed_memory():
    """Call before the first training step.

    Keras's step frees and takes again blocks of several megabytes every
    step (the matrix products' packed operands among them), from threads
    whose glibc heaps then shrink and grow: each step the kernel hands the
    pages back, and the next step faults them in again. Without it, an
    epoch of `small` took 2.5 million page faults against 128,000 with 64
    MiB of headroom a heap, and trained 22-25% slower; `medium` 16 million
    against 190,000, 31% slower (experiments/keras_page_faults.py,
    docs/performance.md). Paddle's allocator is the other
    way round (6.4 million faults with the headroom), so only Keras sets it.
    Nothing to do where the C library is not glibc.
    """
    if platform.libc_ver()[0] == "glibc":
        ctypes.CDLL(None).mallopt(M_TOP_PAD, HEADROOM)
