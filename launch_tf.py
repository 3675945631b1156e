"""Start N workers of rnnlm_tensorflow.py or rnnlm_keras.py on this machine.

    python launch_tf.py --workers 2 rnnlm_tensorflow.py --model small --data_dir data

Each worker is the same script with TF_CONFIG naming all of them on
loopback ports and its own index, as a cluster manager would set it; the
framework's MultiWorkerMirroredStrategy does the rest. Across hosts, run
the script on each host with TF_CONFIG set by hand (README, "More than one
worker"). Only worker 0 prints the epoch lines. If a worker fails, the
others are stopped, and the launcher ends with that worker's error line;
Ctrl-C and SIGTERM are passed on to every worker, and the run ends as one
worker's would: worker 0 tests the model first.
"""
import argparse
import functools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from config import OneLineParser, positive_int
from distributed.shards import core_shares
from errors import UserError
from training.errors import run_cli

# How long a stopped worker has to end on its own before it is killed.
GRACE_SECONDS = 10


def parse_args(argv):
    parser = OneLineParser(prog="launch_tf.py",
                           description="Start N local workers of a TensorFlow training script.")
    parser.add_argument("--workers", type=positive_int, required=True, help="how many")
    parser.add_argument("script", choices=["rnnlm_tensorflow.py", "rnnlm_keras.py"])
    parser.add_argument("args", nargs=argparse.REMAINDER, help="the script's own flags")
    return parser.parse_args(argv)


def free_ports(count):
    """Ports on loopback that nothing listens on now."""
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("localhost", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def start_workers(script, args, count):
    """The workers, started, each bound to its share of this machine's cores
    (distributed/shards.py: core_shares). Worker 0's stdout is this one's (the epoch lines and the
    progress bar); the others' is dropped, as it says what worker 0 says.
    Every worker's stderr comes through a Relay."""
    here = os.path.dirname(os.path.abspath(__file__))
    shares = core_shares(count)
    return [subprocess.Popen([sys.executable, os.path.join(here, script), *args], env=env,
                             stdout=None if index == 0 else subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True, errors="replace",
                             preexec_fn=shares and functools.partial(os.sched_setaffinity, 0,
                                                                     shares[index]))
            for index, env in enumerate(worker_environments(count))]


def worker_environments(count):
    """Each worker's environment: TF_CONFIG names all `count` of them, on
    free loopback ports, and its own index."""
    addresses = [f"localhost:{port}" for port in free_ports(count)]
    return [dict(os.environ, TF_CONFIG=json.dumps({"cluster": {"worker": addresses},
                                                   "task": {"type": "worker", "index": index}}))
            for index in range(count)]


class Relay:
    """Passes each worker's stderr on as it comes, but for its last `error:`
    line, which the launcher says once, as its own. Once one worker has
    ended the run, the others' lines are dropped: they only say that they
    lost it or were stopped."""

    def __init__(self, workers):
        self.errors = [None] * len(workers)  # each worker's last line if it was an error
        self.heard = None  # the one worker still passed on, once chosen
        self.threads = [threading.Thread(target=self._pass_on, args=(index, worker.stderr),
                                         daemon=True)
                        for index, worker in enumerate(workers)]
        for thread in self.threads:
            thread.start()

    def hear_only(self, index):
        self.heard = index

    def _pass_on(self, index, stream):
        held = None  # an error line, passed on only if another line follows it
        for line in stream:
            if held is not None:
                self._write(index, held)
                held = None
            if line.startswith("error: "):
                held = line
            else:
                self._write(index, line)
        self.errors[index] = held and held.rstrip("\n").removeprefix("error: ")

    def _write(self, index, line):
        if self.heard in (None, index):
            sys.stderr.write(line)
            sys.stderr.flush()

    def error_of(self, index):
        """The error line worker `index` ended with, once its stderr is closed."""
        self.threads[index].join()
        return self.errors[index]


def next_to_end(workers):
    """The index of the next worker to end, and its exit code; waits for it."""
    pid = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOWAIT).si_pid  # not reaped: Popen does it
    index = next(index for index, worker in enumerate(workers) if worker.pid == pid)
    return index, workers[index].wait()


def stop_workers(workers):
    """SIGTERM, then SIGKILL those still running after GRACE_SECONDS: a
    worker blocked inside TensorFlow's C++ (waiting for a peer that will
    never come) cannot run its SIGTERM handler."""
    for worker in workers:
        worker.terminate()
    deadline = time.monotonic() + GRACE_SECONDS
    for worker in workers:
        try:
            worker.wait(timeout=max(deadline - time.monotonic(), 0))
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def wait_for(workers, relay, stop):
    """Wait for the workers. The first to fail ends the run: the others are
    stopped and the launcher says its error. After a Ctrl-C or SIGTERM that
    `stop` records, each worker ends on its own (worker 0 tests first)."""
    running = set(range(len(workers)))
    while running:
        index, code = next_to_end(workers)
        running.discard(index)
        if code and not stop:
            relay.hear_only(index)
            stop_workers([workers[other] for other in running])
            error = relay.error_of(index) or f"exited with code {code}; its output is above"
            raise UserError(f"worker {index} stopped the run: {error}")
    relay.hear_only(0)
    error = relay.error_of(0)
    if error:
        raise UserError(error)
    return shell_status(workers[0].returncode)


def shell_status(code):
    """A process's exit code as a shell reports it: 128 + N for one that
    signal N ended (Popen's -N; sys.exit(-N) would exit 256 - N)."""
    return 128 - code if code < 0 else code


def main(argv=None):
    args = parse_args(argv)
    workers = start_workers(args.script, args.args, args.workers)
    relay = Relay(workers)
    stop = []

    def pass_on(signum, frame):
        stop.append(signum)
        relay.hear_only(0)
        for worker in workers:
            if worker.returncode is None:  # not poll(): wait_for reaps them
                os.kill(worker.pid, signum)
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, pass_on)
    sys.exit(wait_for(workers, relay, stop))


if __name__ == "__main__":
    run_cli(main)
