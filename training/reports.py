"""What a run reports: the epoch and test lines, the metrics file, the machine."""
import importlib.metadata
import json
import os
import platform
import resource
import shlex

from training.errors import UserError


class MetricsLog:
    """The metrics file: JSON lines, one per epoch, then one with the test result.

    Nothing is created until the first line is written, so a run that fails
    at start-up leaves no file behind. A resumed run appends.
    """

    def __init__(self, path, append):
        self.path = path
        self.mode = "a" if append else "w"
        if path:
            self._check_writable()

    def _check_writable(self):
        # Now, rather than after the first epoch's work.
        folder = os.path.dirname(self.path) or "."
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as error:
            raise UserError(f"--metrics_file: cannot create {folder} ({error.strerror})") from None
        if os.path.isdir(self.path) or not os.access(folder, os.W_OK):
            raise UserError(f"--metrics_file: cannot write {self.path}; give a writable file path")

    def write(self, **fields):
        if not self.path:
            return
        with open(self.path, self.mode, encoding="utf-8") as out:
            out.write(json.dumps(fields) + "\n")
        self.mode = "a"


def report_epoch(metrics, framework, config, epoch, learning_rate, train, valid):
    """Print one epoch's line and write its metrics; `epoch` counts from 1."""
    print(f"epoch {epoch}/{config.max_max_epoch}  lr {learning_rate:.4g}  "
          f"train ppl {train.ppl:.2f}  valid ppl {valid.ppl:.2f}  "
          f"words/s {train.words_per_sec:.0f}  seconds {train.seconds:.1f}", flush=True)
    metrics.write(framework=framework, model=config.model, batching=config.batching,
                  epoch=epoch, learning_rate=learning_rate, train_ppl=train.ppl,
                  valid_ppl=valid.ppl, words_per_sec=train.words_per_sec,
                  seconds=train.seconds, padding=train.padding)


def report_test(metrics, framework, test):
    """Print and write the test result and the run's peak memory; return them."""
    print(f"test ppl {test.ppl:.2f} over {test.targets} words")
    result = dict(framework=framework, test_ppl=test.ppl, test_words=test.targets,
                  peak_memory_mb=peak_memory_mb())
    metrics.write(**result)
    return result


def machine_summary():
    """One line about this machine, for reports: CPU, cores, memory, system."""
    facts = {}
    for path in ("/proc/cpuinfo", "/proc/meminfo"):
        try:
            with open(path, encoding="utf-8") as info:
                for line in info:
                    key, _, value = line.partition(":")
                    facts.setdefault(key.strip(), value.strip())
        except OSError:
            pass
    cpu = facts.get("model name", platform.processor() or platform.machine())
    memory = f", {int(facts['MemTotal'].split()[0]) / 2**20:.0f} GiB" if "MemTotal" in facts else ""
    return f"{cpu}, {os.cpu_count()} cores{memory}, {platform.system()}"


def peak_memory_mb():
    """This process's peak resident memory so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6


def framework_versions():
    """The installed versions the numbers depend on, for reports."""
    packages = ("paddlepaddle", "tensorflow", "tf-keras", "numpy")
    found = {}
    for package in packages:
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = "not installed"
    return {**found, "python": platform.python_version()}


def versions_line():
    """framework_versions() as one line: `paddlepaddle 3.3.1, tensorflow 2.21.0, ...`."""
    return ", ".join(f"{name} {version}" for name, version in framework_versions().items())


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def repo_command(script, args):
    """`python SCRIPT ARGS` as typed in the repository's folder, for reports:
    absolute paths become relative to it, so that anyone can rerun it."""
    def portable(arg):
        flag, equals, value = arg.partition("=") if arg.startswith("--") else ("", "", arg)
        if not equals:
            flag, value = "", arg
        if os.path.isabs(value):
            value = os.path.relpath(value, REPO)
        return shlex.quote(flag + equals + value)
    return " ".join(["python", script, *map(portable, args)])
