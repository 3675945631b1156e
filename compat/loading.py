"""How the frameworks load: quietly, and ended quietly by a stop meanwhile."""
import contextlib
import os
import signal
import sys


@contextlib.contextmanager
def silenced(fd):
    """Inside, what is written to file descriptor `fd` (1: stdout, 2:
    stderr) goes nowhere, native libraries' writes too."""
    (sys.stdout if fd == 1 else sys.stderr).flush()
    saved = os.dup(fd)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), fd)
    try:
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


def native_stderr_silenced():
    """TF's native libraries log "oneDNN custom operations are on" and "Could
    not find cuda drivers" while loading, before any log level applies."""
    return silenced(2)


@contextlib.contextmanager
def stops_end_it_quietly():
    """Inside, Ctrl-C or SIGTERM ends the program as either ends any
    program: with no output, its exit status 130 or 143. A training script
    spends its first seconds here, loading its framework, before run_cli
    handles stops. Left to themselves, Ctrl-C printed the traceback of the
    imports it cut short, and SIGTERM, once Paddle's import had installed
    glog's handler for it, a C++ stack dump on stdout, which is silenced
    here: a thread that numpy's math library started may take the signal,
    so it cannot be held for the main thread. After, each signal has the
    handler it had before (glog's goes)."""
    before = {number: signal.signal(number, signal.SIG_DFL)
              for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        with silenced(1):
            yield
    finally:
        for number, handler in before.items():
            signal.signal(number, handler)
