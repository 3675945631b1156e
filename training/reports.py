"""What a run reports: the epoch and test lines, the metrics file, the machine."""
import importlib.metadata
import json
import os
import platform
import resource
import shlex

from training.files import refuse_output_file, replace_file, strict_json, writes_told


class MetricsLog:
    """The metrics file: JSON lines, one per epoch, then one with the test result.

    Each epoch's line is written after its checkpoint, which keeps the lines
    of all its epochs, and a resumed run starts the file again from those,
    so the file always matches the checkpoints. Strict JSON:
    a number that is not finite is written as null. Nothing is created
    until the first line is written, so a run that fails at start-up leaves
    no file behind.
    """

    def __init__(self, path):
        self.path = path
        self.mode = "w"
        if path:
            refuse_output_file(self.path, "--metrics_file", "a run's metrics lines", "framework",
                               json_lines=True)

    def start_from(self, history):
        """Replace the file by `history`, the lines of the epochs a resumed
        checkpoint holds, and append from now on."""
        self.mode = "a"
        if not self.path:
            return
        with self._written():
            replace_file(self.path, "".join(strict_json(line) + "\n" for line in history))

    def write(self, fields):
        if not self.path:
            return
        with self._written(), open(self.path, self.mode, encoding="utf-8") as out:
            out.write(strict_json(fields) + "\n")
        self.mode = "a"

    def _written(self):
        # A disk that fills, or a path that became a folder (--save_dir's):
        # the checkpoints are written before their lines, and --resume
        # writes the lines again from them.
        return writes_told(f"--metrics_file {self.path}", "the checkpoints are kept: make it "
                           "writable, or give another --metrics_file, and --resume")


def read_json_lines(path):
    """The JSON objects of a metrics file; a line cut short by a kill is skipped."""
    lines = []
    with open(path, encoding="utf-8") as text:
        for line in text:
            try:
                lines.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return lines


def epoch_record(framework, config, epoch, learning_rate, train, valid):
    """One epoch's metrics line; `epoch` counts from 1."""
    return dict(framework=framework, model=config.model, batching=config.batching, epoch=epoch,
                learning_rate=learning_rate, train_ppl=train.ppl, valid_ppl=valid.ppl,
                words_per_sec=train.words_per_sec, seconds=train.seconds, padding=train.padding)


def all_workers(config):
    """' (2 workers)' after a figure of all workers together; '' for one."""
    return f" ({config.workers} workers)" if config.workers > 1 else ""


def report_epoch(metrics, config, record):
    """Print one epoch's line and write its metrics record."""
    print(f"epoch {record['epoch']}/{config.max_max_epoch}  lr {record['learning_rate']:.4g}  "
          f"train ppl {record['train_ppl']:.2f}  valid ppl {record['valid_ppl']:.2f}  "
          f"words/s {record['words_per_sec']:.0f}{all_workers(config)}  "
          f"seconds {record['seconds']:.1f}", flush=True)
    metrics.write(record)


def counted(count, noun):
    """'1 worker', '2 workers', '1,685 lines'."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def trained_for(epochs):
    """What an interrupted run trained: 'part of epoch 1', '2 whole epochs and part of epoch 3'."""
    part = f"part of epoch {epochs + 1}"
    return f"{counted(epochs, 'whole epoch')} and {part}" if epochs else part


def report_test(metrics, framework, test, epochs, best, interrupted):
    """Print and write the test result of a model trained for `epochs` whole
    epochs (and part of the next, if interrupted), that of the best epoch
    (`best`: its number and test stats, None if they are `test`'s) and the
    run's peak memory; return them."""
    note = f"interrupted: {trained_for(epochs)}" if interrupted else "last"
    best_epoch, best_test = best
    best_ppl = (best_test or test).ppl if best_epoch else None
    best_note = f"; best valid ppl at epoch {best_epoch}: test ppl {best_ppl:.2f}" if best_epoch else ""
    print(f"test ppl {test.ppl:.2f} over {test.targets} words ({note}){best_note}")
    result = dict(framework=framework, test_ppl=test.ppl, test_words=test.targets, epochs=epochs,
                  best_epoch=best_epoch, best_test_ppl=best_ppl, interrupted=interrupted,
                  peak_memory_mb=peak_memory_mb())
    metrics.write(result)
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
    cpu = facts.get("model name", platform.processor() or platform.machine()) + cpu_identity(facts)
    memory = f", {int(facts['MemTotal'].split()[0]) / 2**20:.0f} GiB" if "MemTotal" in facts else ""
    return f"{cpu}, {os.cpu_count()} cores{memory}, {platform.system()}"


def cpu_identity(facts):
    """` (family 26, model 2, stepping 1; AVX-512)`: what tells two CPUs that
    share a model name apart (a VM may show only "AMD EPYC"), and the widest
    vector instructions, which choose the math libraries' code paths."""
    numbers = [f"{key} {facts[key]}" for key in ("cpu family", "model", "stepping") if key in facts]
    flags = set(facts.get("flags", "").split())
    widest = next((name for flag, name in (("avx512f", "AVX-512"), ("avx2", "AVX2"), ("avx", "AVX"))
                   if flag in flags), "")
    parts = "; ".join(part for part in (", ".join(numbers).replace("cpu family", "family"), widest)
                      if part)
    return f" ({parts})" if parts else ""


def peak_memory_mb():
    """This process's peak resident memory so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6


def framework_versions():
    """The installed versions the numbers depend on, for reports."""
    packages = ("paddlepaddle", "tensorflow", "tf-keras", "keras", "numpy")
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
    absolute paths inside it become relative, so that anyone can rerun it
    in their clone; paths outside it stay as they are (not ../../tmp/x)."""
    def portable(arg):
        flag, equals, value = arg.partition("=") if arg.startswith("--") else ("", "", arg)
        if not equals:
            flag, value = "", arg
        if os.path.isabs(value) and os.path.commonpath([value, REPO]) == REPO:
            value = os.path.relpath(value, REPO)
        return shlex.quote(flag + equals + value)
    return " ".join(["python", script, *map(portable, args)])
