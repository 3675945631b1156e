"""Ctrl-C inside TensorFlow's session.run breaks it: why the scripts hold stops.

    python experiments/ctrl_c_inside_session_run.py [--runs 4] [--seconds 10]

Builds rnnlm_tensorflow.py's training graph (the test preset), runs its
training step over and over in a process that catches every
KeyboardInterrupt, and sends that process SIGINT every 3 ms; then the same
with each session.run inside training.errors.stops_deferred, as the
training scripts call their framework. A KeyboardInterrupt raised while
session.run's C++ (FlattenDictItems, on the feed) has called back into
Python leaves TensorFlow 2.21 broken: the process dies by a segfault with
no message (the kernel log shows PyDict_SetItem given NULL, called from
tensorflow::FlattenDictItems) or fails on a feed that is right ("Cannot
interpret feed_dict key as Tensor"). Held, a stop lands only between
calls, and the process is still running when the time is up.
"""
import os
import signal
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
from config import OneLineParser, positive_float, positive_int  # noqa: E402
from training.errors import run_cli  # noqa: E402

VICTIM = """
import contextlib
import os
import signal
import sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
sys.path.insert(0, {repo!r})
import numpy as np
import rnnlm_tensorflow as script
from config import PRESETS, Config
from training.errors import stops_deferred
from training.state import carried_state, state_feed
hold = stops_deferred if {held} else contextlib.nullcontext
config = Config(**PRESETS["test"], vocab_size=50, batching="chunks")
trainer = script.build_trainer(config, "/CPU:0")
session, net = trainer.session, trainer.graph.net
words = np.random.default_rng(0).integers(0, 50, [2, config.batch_size, config.num_steps])
feed = dict(zip(net.feeds, words.astype(np.int32)))
feed.update(state_feed(net.initial_state, carried_state(None, config.batch_size, net.initial_state)))
fetches = [net.loss, net.final_state, trainer.graph.optimizer.train_op]
signal.signal(signal.SIGINT, signal.SIG_IGN)  # until the loop has started
print("ready", flush=True)
while True:
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        while True:
            try:
                with hold():
                    session.run(fetches, feed)
            except KeyboardInterrupt:
                pass
    except KeyboardInterrupt:  # one that landed in the handler above
        pass
"""


def parse_args(argv):
    parser = OneLineParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=positive_int, default=4)
    parser.add_argument("--seconds", type=positive_float, default=10, help="of SIGINTs per process")
    return parser.parse_args(argv)


def interrupted(held, seconds):
    """How the process ended under a SIGINT every 3 ms, and the last line on
    its stderr; or that it was still running when the time was up."""
    process = subprocess.Popen([sys.executable, "-c", VICTIM.format(repo=REPO, held=held)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    process.stdout.readline()  # "ready"
    sent, end = 0, time.monotonic() + seconds
    while time.monotonic() < end and process.poll() is None:
        process.send_signal(signal.SIGINT)
        sent += 1
        time.sleep(0.003)
    if process.poll() is None:
        process.kill()
        process.wait()
        return f"still running after {sent} signals"
    code = process.returncode
    how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit {code}"
    last_line = (process.stderr.read().strip().splitlines() or ["nothing"])[-1]
    return f"{how} after {sent} signals; last on stderr: {last_line[:80]}"


def main(argv=None):
    args = parse_args(argv)
    for run in range(1, args.runs + 1):
        for held in (False, True):
            name = "held by stops_deferred" if held else "bare"
            print(f"run {run}, session.run {name}: {interrupted(held, args.seconds)}", flush=True)


if __name__ == "__main__":
    run_cli(main)
