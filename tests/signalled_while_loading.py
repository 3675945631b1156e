"""Run a training script that gets a signal as it imports a given module:
a Ctrl-C or SIGTERM that arrives while the script's framework loads, at a
point of the test's choosing rather than after a guessed delay.

    python -m tests.signalled_while_loading SIGTERM paddle.incubate rnnlm_fluid.py ARGS...
"""
import os
import runpy
import signal
import sys


class SignalledAt:
    """An import hook that sends this process `number` when `module` is
    first imported, and finds nothing itself."""

    def __init__(self, module, number):
        self.module, self.number = module, number

    def find_spec(self, name, path=None, target=None):
        if name == self.module:
            sys.meta_path.remove(self)
            os.kill(os.getpid(), self.number)
        return None


def main(signal_name, module, script, *args):
    sys.meta_path.insert(0, SignalledAt(module, getattr(signal, signal_name)))
    sys.argv = [script, *args]
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main(*sys.argv[1:])
