"""Framework-free helpers shared by both training scripts: user errors,
progress lines, the metrics file, the carried LSTM state and the resume marker."""
import collections
import json
import math
import os
import platform
import resource
import sys
import time

import numpy as np

EpochStats = collections.namedtuple("EpochStats", "ppl words_per_sec seconds targets padding")
EpochStats.__doc__ = """targets: the target tokens scored; padding: the fraction
of the time steps computed that were padding."""


class UserError(Exception):
    """A mistake the user can fix; the scripts print it as one line and exit 1."""


def run_cli(main, argv=None):
    """Call main(argv); a UserError ends the program with one line on stderr."""
    try:
        main(argv)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)


def perplexity(total_cost, num_targets):
    """exp(mean cross-entropy per target token)."""
    return math.exp(total_cost / max(num_targets, 1))


class Progress:
    """Running perplexity and words/s during an epoch.

    A terminal gets a bar redrawn in place; a log file gets about
    `log_lines` plain lines (none if 0), so that piped output stays short.
    """

    def __init__(self, label, total_batches, log_lines, stream=sys.stdout):
        self.label = label
        self.total_batches = total_batches
        self.stream = stream
        self.is_terminal = stream.isatty()
        self.every = max(1, total_batches // log_lines) if log_lines else None
        self.cost = 0.0
        self.targets = 0
        self.computed_steps = 0
        self.batches = 0
        self.start = time.perf_counter()

    def update(self, batch_cost, batch_targets, computed_steps):
        """Add one mini-batch's summed cross-entropy, its target count and the
        time steps computed for it (more than the targets if padded)."""
        self.cost += batch_cost
        self.targets += batch_targets
        self.computed_steps += computed_steps
        self.batches += 1
        if self.is_terminal:
            self._draw_bar()
        elif self.every and self.batches % self.every == 0 and self.batches < self.total_batches:
            print(self._status(), file=self.stream, flush=True)

    def finish(self):
        """End the bar; return the epoch's EpochStats."""
        if self.is_terminal:
            print(file=self.stream)
        seconds = self.seconds()
        padding = 1 - self.targets / max(self.computed_steps, 1)
        return EpochStats(perplexity(self.cost, self.targets), self.targets / seconds, seconds,
                          self.targets, padding)

    def seconds(self):
        return max(time.perf_counter() - self.start, 1e-9)

    def _status(self):
        return (f"{self.label} {self.batches}/{self.total_batches} "
                f"ppl {perplexity(self.cost, self.targets):.2f} "
                f"words/s {self.targets / self.seconds():.0f}")

    def _draw_bar(self):
        width = 30
        filled = width * self.batches // max(self.total_batches, 1)
        bar = "#" * filled + "." * (width - filled)
        print(f"\r[{bar}] {self._status()}", end="", file=self.stream, flush=True)


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
    """One line about this machine, for reports: CPU, cores, memory, Python."""
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
    return (f"{cpu}, {os.cpu_count()} cores{memory}, {platform.system()}, "
            f"Python {platform.python_version()}")


def peak_memory_mb():
    """This process's peak resident memory so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6


def carried_state(state, rows, initial_state):
    """The (cell, hidden) of each layer that a chunk batch starts from.

    Zeros, shaped like the initial-state inputs, for the first batch; after
    that the last batch's final state, cut to its last `rows` rows when the
    one-row tail continues the last row. Empty when there is no state to
    carry (sentence batches).
    """
    if state is None:
        return [tuple(np.zeros((rows, part.shape[-1]), np.float32) for part in layer)
                for layer in initial_state]
    return [(cell[-rows:], hidden[-rows:]) for cell, hidden in state]


RESUME_FILE = "last_epoch.json"


def last_completed_epoch(save_dir):
    """The number of epochs a checkpoint in save_dir holds (0 if none)."""
    path = os.path.join(save_dir, RESUME_FILE)
    if not os.path.exists(path):
        return 0
    try:
        with open(path, encoding="utf-8") as marker:
            return int(json.load(marker)["epoch"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise UserError(f"cannot read {path} ({error}); delete {save_dir} to start afresh")


def epoch_to_resume(save_dir):
    """For --resume: the last completed epoch saved in save_dir."""
    epoch = last_completed_epoch(save_dir)
    if epoch == 0:
        raise UserError(f"--resume: no checkpoint in {save_dir}; run without --resume first")
    return epoch


def checkpoint_mismatch(save_dir, error):
    """The UserError for a checkpoint that does not load into this model."""
    return UserError(f"--resume: the checkpoint in {save_dir} does not fit this model "
                     f"({str(error).splitlines()[0]}); use the same flags or another --save_dir")


def mark_epoch_saved(save_dir, epoch):
    """Record that the checkpoint for `epoch` is complete (written last, atomically)."""
    path = os.path.join(save_dir, RESUME_FILE)
    with open(path + ".tmp", "w", encoding="utf-8") as marker:
        json.dump({"epoch": epoch}, marker)
    os.replace(path + ".tmp", path)
