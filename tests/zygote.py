"""A process that has imported one training script, and forks a child for
each run asked of it: each run is a process of its own, as `python
rnnlm_X.py ARGS` would be, without paying its framework's start-up again
(TensorFlow and Keras take 3-5 s to import). For the tests only
(tests/conftest.py: run_command).

    python -m tests.zygote FRAMEWORK

Each line on stdin asks for one run: {"argv": [...], "cwd", "stdout",
"stderr", "unbuffered"}, argv as `python` would take it (a script's path,
or -m and a module); the run's output goes to those two files (or FIFOs,
read as it prints: "unbuffered", as PYTHONUNBUFFERED=1 has it). For each
run the zygote answers two lines: {"pid"} when it starts, {"returncode"}
when it ends.
"""
import importlib
import json
import os
import runpy
import sys


def run_child(request):
    """In the forked child: run the command as its own process would, then exit."""
    os.chdir(request["cwd"])
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)  # the zygote's requests are not the child's input
    for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
        out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(out, fd)
    if request["unbuffered"]:
        sys.stdout.reconfigure(line_buffering=True, write_through=True)
    argv = request["argv"]
    code = 0
    try:
        if argv[0] == "-m":
            sys.argv = [argv[1], *argv[2:]]
            runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
        else:
            sys.argv = argv
            sys.path[0] = os.path.dirname(os.path.abspath(argv[0]))
            runpy.run_path(argv[0], run_name="__main__")
    except SystemExit as ended:
        code = ended.code if isinstance(ended.code, int) else int(ended.code is not None)
        if isinstance(ended.code, str):
            print(ended.code, file=sys.stderr)
    except BaseException:  # a crash, reported as the interpreter would
        import traceback
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main(framework):
    importlib.import_module(f"rnnlm_{framework}")
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            run_child(request)
        print(json.dumps({"pid": pid}), flush=True)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
