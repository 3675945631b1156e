"""Measuring apart: an experiment runs each measurement in a process of its
own (a fresh framework, or a setting made before an import), which prints
its result as JSON on its last line."""
import json
import subprocess
import sys

from training.errors import child_error


def measured_apart(argv, what):
    """The JSON of the last line that `argv` prints. If it cannot start, or
    it fails, the experiment ends with one line: `what` failed, and why."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True)
    except OSError as error:
        sys.exit(f"error: {what}: cannot run {argv[0]} ({error.strerror})")
    if done.returncode:
        sys.exit(f"error: {what} failed: "
                 f"{child_error(done.stdout + done.stderr, f'exit {done.returncode}')}")
    return json.loads(done.stdout.strip().splitlines()[-1])
