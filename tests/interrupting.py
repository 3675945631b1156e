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
from distributed.shards import alone
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
# framework, a function that runs one training epoch).

def fluid(script, config, data):
    main_program, _, startup_program, net, _ = script.build_programs(config)
    place = script.choose_place("cpu")
    exe = script.create_executor(place, config)
    exe.run(startup_program)
    batches = make_batches(script.load_data_fluid, data.train, data.vocab, config)
    return exe, "run", lambda: script.run_epoch(exe, main_program, net, batches, 1, place, "x")


def tensorflow(script, config, data):
    graph, net, _, optimizer, _, initializer = script.build_graph(config, "/CPU:0",
                                                                  script.ONE_WORKER)
    session = script.create_session(graph, config, script.ONE_WORKER)
    session.run(initializer)
    batches = alone(make_batches(script.load_data_tf, data.train, data.vocab, config))
    return session, "run", lambda: script.run_epoch(session, optimizer, net, batches, 1, "x")


def paddle(script, config, data):
    model = script.build_network(config)
    optimizer, _ = script.add_optimizer(config, model)
    batches = alone(make_batches(script.load_data_tf, data.train, data.vocab, config))
    return optimizer, "step", lambda: script.run_epoch(model, optimizer, batches, 1,
                                                       config.batch_size, "x")


def keras(script, config, data):
    model = script.build_network(config)
    steps = types.SimpleNamespace(train=script.make_steps(model, script.add_optimizer(config),
                                                          config)[0])
    batches = alone(make_batches(script.load_data_tf, data.train, data.vocab, config))
    return steps, "train", lambda: script.run_epoch(steps.train, batches, 1, "x")


EPOCHS = {"fluid": fluid, "tensorflow": tensorflow, "paddle": paddle, "keras": keras}


def calls_finished_before_the_stop(framework, data_dir):
    """1 if the stop landed after the first batch's call, 0 if inside it."""
    data = corpus.load_corpus(data_dir)
    config = Config(**PRESETS["test"], vocab_size=len(data.vocab), batching="chunks")
    script = importlib.import_module(f"rnnlm_{framework}")
    owner, name, run_one_epoch = EPOCHS[framework](script, config, data)
    interrupting = Interrupting(getattr(owner, name))
    setattr(owner, name, interrupting)
    try:
        run_one_epoch()
    except KeyboardInterrupt:
        return interrupting.finished
    raise AssertionError(f"{framework}: the epoch ended without stopping")


if __name__ == "__main__":
    print(sys.argv[2], calls_finished_before_the_stop(sys.argv[2], sys.argv[1]))
