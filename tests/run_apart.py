"""Run a training script several times in one process of its own:

    python -m tests.run_apart FRAMEWORK JOB.json

JOB.json is a list of argument lists, run one after another through the
script's command-line entry; the first that fails ends the process as the
command would (one line, exit 1). Today's-API scripts cannot run in the
test process (tests/conftest.py); one process for a test's runs pays their
framework's start-up once.
"""
import importlib
import json
import sys

from training.errors import run_cli


def main(framework, job_path):
    script = importlib.import_module(f"rnnlm_{framework}")
    with open(job_path, encoding="utf-8") as job:
        for argv in json.load(job):
            run_cli(script.main, argv)


if __name__ == "__main__":
    main(*sys.argv[1:])
