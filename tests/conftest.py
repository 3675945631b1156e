"""What the tests share: the repository, commands run as a user runs them,
the small corpora, and the expensive runs, each made once per session.

Two pytest-xdist workers run the tests (pyproject.toml), and each has its
own session fixtures; but they share one base folder: `made_once` makes a
thing there once, whichever worker asks first, and the other waits for it
and reuses it.
"""
import contextlib
import fcntl
import importlib
import json
import os
import pickle
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile

import pytest

# The 2018 scripts run in the test processes. Paddle's native libraries must
# load before TensorFlow's there: imported after them, Paddle segfaults.
import compat.paddle_fluid  # noqa: F401  isort: skip
import compat.tf_v1  # noqa: F401  isort: skip
from config import FRAMEWORKS
from tests import readme_commands
from tests.corpora import write_grammar_corpus

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Scripts that run in the test process (the 2018 APIs) and those that need
# one of their own (Paddle's dynamic graph cannot share it with the legacy
# graph, nor Keras 3 with the v1 graph).
IN_PROCESS = ("fluid", "tensorflow")
TODAYS = ("keras", "paddle")
# One small layer learns the grammar within seconds; two take far longer to
# leave the unigram plateau, on this little data.
TINY_MODEL = ["--num_layers", "1", "--hidden_size", "32", "--batch_size", "10"]
# Where the tests run the scripts: the CPU, one math thread. Two test workers
# share 2 cores, so two threads a run would oversubscribe them, and these
# small models gain nothing from a second (the suite took 167 s, 153 s so).
ON_ONE_CPU = ["--device", "cpu", "--threads", "1"]
# A run whose step is not what a test is about (stops, resumes, saves,
# workers): each script's eager step. Keras's default, XLA, compiles each
# shape of batch for a second or so, most of such a tiny run's time; its
# compiled step has the tests of the model (test_networks.py) and of
# learning (test_training.py, by chunks).
EAGER_STEP = ["--no-compile"]
RESUMED = "sentences-resumed"


def run_command(*args, timeout=300, cwd=REPO, **options):
    """`python ARGS` in the folder `cwd` (the repository's, or a copy of
    it); the finished process. A training script's run (or
    tests/evaluate_apart.py's or tests/interrupting.py's), export.py's of a
    checkpoint and score.py's of a native export are forked from a zygote
    that has imported their framework already (tests/zygote.py; a run to
    be signalled as it trains: Started)."""
    args = list(map(str, args))
    framework = forked_framework(args, cwd)
    if framework and not options:
        return forked_run(framework, args, timeout, cwd)
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, **options)


def forked_framework(args, cwd):
    """The framework whose zygote can run `python ARGS` in `cwd`, or None."""
    script = re.fullmatch(r"rnnlm_(\w+)\.py", args[0])
    if script and script.group(1) in FRAMEWORKS:
        return script.group(1)
    if args[:2] == ["-m", "tests.evaluate_apart"]:
        return args[2]
    if args[:2] == ["-m", "tests.interrupting"]:
        return args[3]
    if args[:2] == ["experiments/compilations.py", "--one"]:
        return args[2]
    if os.path.basename(args[0]) == "bench.py" and args[1:2] == ["--one"]:
        return args[2] if args[2] in FRAMEWORKS else None  # not a reference's
    if args[0] == "export.py" and "--checkpoint" in args:
        return checkpoint_framework(args, cwd)
    if args[0] == "generate.py" and "--format" not in args:
        # It samples through the checkpoint's native export (its export.py
        # runs in a process of its own).
        framework = checkpoint_framework(args, cwd)
        return framework and RUNTIME_ZYGOTE[NATIVE_RUNTIME[framework]]
    if args[0] == "score.py":
        meta = read_json(os.path.join(cwd, args[1], "export.json"))
        return meta and RUNTIME_ZYGOTE.get(meta["runtime"])
    return None


# The zygote that can load each runtime of an export: the SavedModel loader
# runs TensorFlow eagerly, as Keras's process does; onnxruntime loads no
# framework, and is checked to load none.
RUNTIME_ZYGOTE = {"saved_model": "keras", "paddle.inference": "paddle"}
# The runtime of each framework's native export (model_io/*.py).
NATIVE_RUNTIME = {"fluid": "paddle.inference", "paddle": "paddle.inference",
                  "tensorflow": "saved_model", "keras": "saved_model"}


def checkpoint_framework(args, cwd):
    """The framework of the checkpoint that ARGS' --checkpoint names (from
    `cwd`), or None."""
    marker = read_json(os.path.join(cwd, args[args.index("--checkpoint") + 1], "checkpoint.json"))
    return marker and marker["identity"]["framework"]


def read_json(path):
    """The JSON file's content, or None if there is none to read."""
    try:
        with open(path, encoding="utf-8") as text:
            return json.load(text)
    except (OSError, ValueError):
        return None


_zygotes = {}
_started = {}  # framework: the Started run its zygote serves


def zygote_of(framework):
    """This process's zygote for `framework`, started the first time it is
    asked for; free: a Started run it still serves (of a test that ended
    without waiting for it) is killed first."""
    running = _started.pop(framework, None)
    if running:
        running.kill()
        running.wait()
    zygote = _zygotes.get(framework)
    if zygote is None or zygote.poll() is not None:
        zygote = _zygotes[framework] = subprocess.Popen(
            [sys.executable, "-m", "tests.zygote", framework], cwd=REPO, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    return zygote


def forked(zygote, args, cwd, stdout, stderr, unbuffered=False):
    """The pid of the child that `zygote` forks to run `python ARGS` in `cwd`."""
    zygote.stdin.write(json.dumps(dict(argv=args, cwd=str(cwd), stdout=stdout, stderr=stderr,
                                       unbuffered=unbuffered)) + "\n")
    zygote.stdin.flush()
    return json.loads(zygote.stdout.readline())["pid"]


def exit_code(zygote, timeout):
    """The exit code of the child `zygote` runs now, or None if it runs past `timeout` s."""
    if not select.select([zygote.stdout], [], [], timeout)[0]:
        return None
    return json.loads(zygote.stdout.readline())["returncode"]


def forked_run(framework, args, timeout, cwd):
    """`python ARGS` in `cwd`, a child of this process's zygote for `framework`."""
    zygote = zygote_of(framework)
    with tempfile.TemporaryDirectory() as folder:
        out, err = os.path.join(folder, "stdout"), os.path.join(folder, "stderr")
        pid = forked(zygote, args, cwd, out, err)
        code = exit_code(zygote, timeout)
        if code is None:
            os.kill(pid, signal.SIGKILL)
            raise subprocess.TimeoutExpired(args, timeout)
        with open(out, encoding="utf-8") as stdout, open(err, encoding="utf-8") as stderr:
            return subprocess.CompletedProcess(args, code, stdout.read(), stderr.read())


class Started:
    """`python rnnlm_FRAMEWORK.py ARGS` forked from this process's zygote and
    left running, seen as subprocess.Popen with pipes shows a process: its
    stdout and stderr read as it prints them (unbuffered), send_signal(),
    kill() and wait(). For the tests that signal a run (the zygote serves
    no other run of its framework until this one ends)."""

    def __init__(self, framework, args):
        self.zygote = zygote_of(framework)
        _started[framework] = self
        self.folder = tempfile.mkdtemp()
        out, err = os.path.join(self.folder, "stdout"), os.path.join(self.folder, "stderr")
        os.mkfifo(out)
        os.mkfifo(err)
        self.pid = forked(self.zygote, [f"rnnlm_{framework}.py", *map(str, args)], REPO, out, err,
                          unbuffered=True)
        # In the order the child opens them: each open waits for the other end.
        self.stdout = open(out, encoding="utf-8")
        self.stderr = open(err, encoding="utf-8")
        self.returncode = None

    def send_signal(self, number):
        if self.returncode is None:
            os.kill(self.pid, number)

    def kill(self):
        self.send_signal(signal.SIGKILL)

    def wait(self, timeout=None):
        if self.returncode is None:
            self.returncode = exit_code(self.zygote, timeout)
            if self.returncode is None:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            shutil.rmtree(self.folder)
        return self.returncode


def succeeded(result):
    """The stdout of a command that must have succeeded."""
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result.stdout


def last_line(text):
    lines = text.strip().splitlines()
    return lines[-1] if lines else ""


def one_line_error(result, message, code=1):
    """The command failed with one `error:` line matching `message`, no traceback."""
    assert result.returncode == code and "Traceback" not in result.stderr, result.stderr
    last = last_line(result.stderr)
    assert last.startswith("error:") and re.search(message, last), last


def cli_error(capsys, main, argv):
    """(exit code, last stderr line) of a command's main(argv) run in this
    process through training.errors.run_cli, as its __main__ runs it."""
    from training.errors import run_cli
    with pytest.raises(SystemExit) as stopped:
        run_cli(main, argv)
    return stopped.value.code, last_line(capsys.readouterr().err)


def read_metrics(path):
    with open(path, encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def train_script(framework, *args):
    """rnnlm_FRAMEWORK.py with `args`: in this process if it can, else in its own."""
    train_runs(framework, args)


def train_runs(framework, *runs):
    """rnnlm_FRAMEWORK.py once with each of `runs` (argument lists), one
    after another, on the CPU: in this process if it can, else each in its
    own (forked: run_command)."""
    runs = [[*ON_ONE_CPU, *map(str, args)] for args in runs]
    for args in runs:
        if framework in IN_PROCESS:
            importlib.import_module(f"rnnlm_{framework}").main(args)
        else:
            succeeded(run_command(f"rnnlm_{framework}.py", *args))


def tried_runs(framework, *runs):
    """Each of `runs` of a today's-API script on the CPU, made whether or
    not the earlier ones failed: each one's finished process."""
    return [run_command(f"rnnlm_{framework}.py", *ON_ONE_CPU, *args) for args in runs]


@contextlib.contextmanager
def _locked(path):
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def made_once(tmp_path_factory, name, make):
    """The folder `name`, filled by make(folder) once per test session."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # shared by the workers of one session
    folder = root / f"shared-{name}"
    with _locked(root / f"shared-{name}.lock"):
        if not (folder / ".made").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            make(folder)
            (folder / ".made").touch()
    return folder


def computed_once(tmp_path_factory, name, compute):
    """compute()'s value, computed once per test session (kept pickled)."""
    def save(folder):
        with open(folder / "value.pickle", "wb") as out:
            pickle.dump(compute(), out)
    with open(made_once(tmp_path_factory, name, save) / "value.pickle", "rb") as saved:
        return pickle.load(saved)


@pytest.fixture(scope="session")
def grammar_corpus(tmp_path_factory):
    """corpus(train_lines, even_for=None) -> the folder of a grammar corpus."""
    def corpus(train_lines, even_for=None):
        return str(made_once(tmp_path_factory, f"grammar-{train_lines}-{even_for}",
                             lambda folder: write_grammar_corpus(folder, train_lines=train_lines,
                                                                 even_for=even_for)))
    return corpus


@pytest.fixture(scope="session")
def learned(tmp_path_factory, grammar_corpus):
    """learned(framework, batching, resumed=False) -> (run folder, metrics
    lines; its TensorBoard events in events/) of five epochs of a small
    model on a 600-line grammar corpus: a model that has learned the
    grammar. resumed, by sentences only (their shuffled epochs ask more of
    a resumed run than chunks do): the same five epochs in two runs, two
    and then --resume to five. Each run is made once a session, by
    whichever test worker needs it first."""
    def run(framework, batching, resumed=False):
        data_dir = grammar_corpus(600)
        epochs = ["2", "5"] if resumed else ["5"]
        flags = ["--data_dir", data_dir, *TINY_MODEL, "--batching", batching,
                 *(EAGER_STEP if batching == "sentences" else [])]

        def train(folder):
            train_runs(framework, *([*flags, "--save_dir", folder / "ck", "--metrics_file",
                                     folder / "metrics.jsonl", "--logdir", folder / "events",
                                     "--epochs", last, *(["--resume"] if index else [])]
                                    for index, last in enumerate(epochs)))
        name = RESUMED if resumed else batching
        folder = made_once(tmp_path_factory, f"learned-{framework}-{name}", train)
        return str(folder), read_metrics(folder / "metrics.jsonl")
    return run


@pytest.fixture(scope="session")
def trained(tmp_path_factory, grammar_corpus):
    """trained(framework) -> the run folder of two epochs at the `test`
    preset on a 300-line grammar corpus, batching as the script does by
    default, by its eager step (what is tested is what was trained): its
    checkpoint in ck/, its metrics in metrics.jsonl, its TensorBoard events
    in events/. Copy before changing it."""
    def run(framework):
        def train(folder):
            train_script(framework, "--model", "test", "--data_dir", grammar_corpus(300),
                         "--save_dir", folder / "ck", "--metrics_file", folder / "metrics.jsonl",
                         "--logdir", folder / "events", "--epochs", "2", *EAGER_STEP)
        return str(made_once(tmp_path_factory, f"trained-{framework}", train))
    return run


@pytest.fixture(scope="session")
def readme_runs(tmp_path_factory):
    """(the repository copy, the runs) of README's commands, each run as
    written in that copy, once per session (tests/readme_commands.py)."""
    def python(args, cwd):
        return run_command(*args, cwd=cwd, timeout=900)
    folder = made_once(tmp_path_factory, "readme",
                       lambda into: readme_commands.run_all(REPO, into, python))
    return folder / "repo", readme_commands.read_runs(folder)


def pytest_collection_modifyitems(items):
    """One test of README's commands first, the others last: theirs is the
    longest chain of runs in the suite, which, started late, would end the
    suite alone; the others wait for it, on either worker."""
    readme = [item for item in items if "readme_runs" in item.fixturenames]
    items[:] = readme[:1] + [item for item in items if item not in readme] + readme[1:]


def read_scalars(logdir):
    """{tag: [(step, value), ...]} of the TensorBoard event files in `logdir`,
    read by TensorBoard's own reader."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = EventAccumulator(str(logdir))
    events.Reload()
    return {tag: [(event.step, event.value) for event in events.Scalars(tag)]
            for tag in events.Tags()["scalars"]}
