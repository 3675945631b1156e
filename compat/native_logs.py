"""Quiet the notices TensorFlow's native libraries print while they load."""
import contextlib
import os
import sys


@contextlib.contextmanager
def native_stderr_silenced():
    """TF's native libraries log "oneDNN custom operations are on" and "Could
    not find cuda drivers" while loading, before any log level applies."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
