"""One training epoch in which each framework call gets Ctrl-C as it starts.

A script that holds stops while its framework works lets the call finish
and stops after it, between batches; unheld, the KeyboardInterrupt comes
through inside the call (docs/faults-and-recovery.md says why that
matters). For a script that needs a process of its own:

    python -m tests.interrupting DATA_DIR keras

prints the framework and the calls that finished before the stop.
"""
import importlib
import os
import signal
import sys
import types

from config import PRESETS, Config
from ptb import corpus
from ptb.batching import make_batches


class Interrupting:
    """A framework call that gets SIGINT as it starts, counting the calls that finish."""

    def __init__(self, call):
        self.call, self.finished = call, 0

    def __call__(self, *args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)
        result = self.call(*args, **kwargs)
        self.finished += 1
        return result


# For each script: (the object, the name of its method that runs the
# framework, the Trainer whose training epoch calls it).

def fluid(script, config, data):
    trainer = script.build_trainer(config, script.choose_place("cpu"))
    return trainer.exe, "run", trainer


def tensorflow(script, config, data):
    trainer = script.build_trainer(config, "/CPU:0")
    return trainer.session, "run", trainer


def paddle(script, config, data):
    trainer = script.build_trainer(config)
    return trainer.optimizer, "step", trainer


def keras(script, config, data):
    trainer = script.build_trainer(config, "/CPU:0")
    # A tf.function's attributes are read-only: the step goes in a namespace.
    steps = types.SimpleNamespace(train=trainer.train_step)
    return steps, "train", trainer._replace(train_step=lambda *args: steps.train(*args))


EPOCHS = {"fluid": fluid, "tensorflow": tensorflow, "paddle": paddle, "keras": keras}


def calls_finished_before_the_stop(framework, data_dir):
    """1 if the stop landed after the first batch's call, 0 if inside it."""
    data = corpus.load_corpus(data_dir)
    config = Config(**PRESETS["test"], vocab_size=len(data.vocab), batching="chunks")
    script = importlib.import_module(f"rnnlm_{framework}")
    owner, name, trainer = EPOCHS[framework](script, config, data)
    interrupting = Interrupting(getattr(owner, name))
    setattr(owner, name, interrupting)
    loader = script.load_data_fluid if framework == "fluid" else script.load_data_tf
    try:
        script.run_epoch(trainer, make_batches(loader, data.train, data.vocab, config), "x",
                         training=True)
    except KeyboardInterrupt:
        return interrupting.finished
    raise AssertionError(f"{framework}: the epoch ended without stopping")


if __name__ == "__main__":
    print(sys.argv[2], calls_finished_before_the_stop(sys.argv[2], sys.argv[1]))
