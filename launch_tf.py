"""Start N workers of rnnlm_tensorflow.py or rnnlm_keras.py on this machine.

    python launch_tf.py --workers 2 rnnlm_tensorflow.py --model small --data_dir data

Each worker is the same script with TF_CONFIG naming all of them on
loopback ports and its own index, as a cluster manager would set it; the
framework's MultiWorkerMirroredStrategy does the rest. Across hosts, run
the script on each host with TF_CONFIG set by hand (README, "More than one
worker"). Only worker 0 prints the epoch lines. If a worker fails, the
others are stopped, and the launcher exits with its code; Ctrl-C and
SIGTERM are passed on to every worker.
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time

from config import OneLineParser, positive_int
from ptb.errors import UserError
from training.errors import run_cli


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
    addresses = [f"localhost:{port}" for port in free_ports(count)]
    here = os.path.dirname(os.path.abspath(__file__))
    workers = []
    for index in range(count):
        tf_config = {"cluster": {"worker": addresses}, "task": {"type": "worker", "index": index}}
        env = dict(os.environ, TF_CONFIG=json.dumps(tf_config))
        workers.append(subprocess.Popen([sys.executable, os.path.join(here, script), *args],
                                        env=env))
    return workers


def wait_for(workers):
    """The first non-zero exit code, having stopped the rest; else 0."""
    while True:
        codes = [worker.poll() for worker in workers]
        failed = [code for code in codes if code not in (None, 0)]
        if failed or all(code == 0 for code in codes):
            break
        time.sleep(0.2)
    for worker in workers:
        if worker.poll() is None:
            worker.terminate()
    for worker in workers:
        worker.wait()
    return failed[0] if failed else 0


def main(argv=None):
    args = parse_args(argv)
    workers = start_workers(args.script, args.args, args.workers)

    def pass_on(signum, frame):
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signum)
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, pass_on)
    code = wait_for(workers)
    if code:
        raise UserError(f"a worker of {args.script} exited with code {code}; the others were "
                        "stopped (its error is above)")


if __name__ == "__main__":
    run_cli(main)
