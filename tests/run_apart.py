"""Run a training script several times in one process of its own:

    python -m tests.run_apart FRAMEWORK JOB.json [--each]

JOB.json is a list of argument lists, run one after another through the
script's command-line entry; the first that fails ends the process as the
command would (one line, exit 1). With --each, every run is made, failed
or not, and stdout ends with one JSON list of each run's exit code and
stderr. Today's-API scripts cannot run in the test process
(tests/conftest.py); one process for a test's runs pays their framework's
start-up once.
"""
import contextlib
import importlib
import io
import json
import sys

from training.errors import run_cli


def exit_code_and_stderr(script, argv):
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        try:
            run_cli(script.main, argv)
        except SystemExit as ended:
            return ended.code, stderr.getvalue()
    return 0, stderr.getvalue()


def main(framework, job_path, *options):
    script = importlib.import_module(f"rnnlm_{framework}")
    with open(job_path, encoding="utf-8") as job:
        jobs = json.load(job)
    if options == ("--each",):
        print(json.dumps([exit_code_and_stderr(script, argv) for argv in jobs]))
        return
    for argv in jobs:
        run_cli(script.main, argv)


if __name__ == "__main__":
    main(*sys.argv[1:])
