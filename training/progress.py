"""Running perplexity and words/s during an epoch, and the epoch's totals."""
import collections
import math
import sys
import time

from errors import UserError
from ptb.batching import Batches
from training.errors import raise_missed_stop
from training.events import NO_EVENTS


class EpochStats(collections.namedtuple("EpochStats", "cost targets computed_steps seconds")):
    """An epoch's totals: the summed cross-entropy, the target tokens scored,
    the time steps computed (more than the targets if padded) and the
    seconds it took. Totals, so that several workers' can be added up."""

    @property
    def ppl(self):
        return perplexity(self.cost, self.targets)

    @property
    def words_per_sec(self):
        return self.targets / self.seconds

    @property
    def padding(self):
        """The fraction of the time steps computed that were padding."""
        return 1 - self.targets / max(self.computed_steps, 1)


def perplexity(total_cost, num_targets):
    """exp(mean cross-entropy per target token); inf past the float range."""
    try:
        return math.exp(total_cost / max(num_targets, 1))
    except OverflowError:
        return math.inf


def check_not_diverged(stats, vocab_size, label):
    """Stop a run whose training perplexity is past the vocabulary size
    cubed: a model that much worse than guessing uniformly (perplexity =
    vocab_size) has diverged, though its loss is still finite."""
    limit = float(vocab_size) ** 3
    if stats.ppl > limit:
        raise UserError(f"{label}: perplexity {stats.ppl:.3g}, past the vocabulary size cubed "
                        f"({limit:.3g}); training diverged, so it stops here, and the checkpoints "
                        "saved before stay as they were (try a lower --learning_rate)")


class RunBatches(Batches):
    """An epoch's training batches of a run (training.run.Run.epoch_batches),
    with where their progress goes: the run's event log (--logdir), whose
    rows they are, said after each figure (" (worker 1 of 2)"), and the
    stream it is printed to."""

    def __init__(self, batches, events, whose, stream):
        super().__init__(batches.reader, batches.count, batches.fields)
        self.events, self.whose, self.stream = events, whose, stream


class Progress:
    """Running perplexity and words/s during an epoch.

    A terminal gets a bar redrawn in place; a log file gets about
    LOG_LINES plain lines of a training epoch, none of an evaluation, so
    that piped output stays short. Each training batch goes to `events`
    too, and `whose` follows each figure: a run's training batches bring
    both (of_epoch).
    """

    LOG_LINES = 5

    def __init__(self, label, total_batches, training, stream=None, events=NO_EVENTS, whose=""):
        self.label = label
        self.total_batches = total_batches
        self.events, self.whose = events, whose
        self.stream = stream or sys.stdout
        self.is_terminal = self.stream.isatty()
        self.every = max(1, total_batches // self.LOG_LINES) if training else None
        self.training = training
        self.cost = 0.0
        self.targets = 0
        self.computed_steps = 0
        self.batches = 0
        self.start = time.perf_counter()

    @classmethod
    def of_epoch(cls, label, batches, training):
        """The Progress of an epoch of `batches`; a run's (RunBatches) report
        to its event log and say whose they are."""
        if isinstance(batches, RunBatches):
            return cls(label, len(batches), training, batches.stream, batches.events, batches.whose)
        return cls(label, len(batches), training)

    def update(self, batch_cost, batch_targets, computed_steps):
        """Add one mini-batch's summed cross-entropy, its target count and the
        time steps computed for it (more than the targets if padded).
        A loss that is not finite stops the run: nothing after it can be trusted.
        A stop that Python dropped on the way is raised here, between batches."""
        raise_missed_stop()
        if not math.isfinite(batch_cost):
            raise UserError(f"{self.label}, batch {self.batches + 1} of {self.total_batches}: the "
                            f"loss is {batch_cost}; training diverged, so it stops here, and the "
                            "checkpoints saved before stay as they were (try a lower --learning_rate)")
        if self.training:
            self.events.batch(batch_cost, batch_targets)
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
        return EpochStats(self.cost, int(self.targets), int(self.computed_steps), self.seconds())

    def seconds(self):
        return max(time.perf_counter() - self.start, 1e-9)

    def _status(self):
        return (f"{self.label} {self.batches}/{self.total_batches} "
                f"ppl {perplexity(self.cost, self.targets):.2f} "
                f"words/s {self.targets / self.seconds():.0f}{self.whose}")

    def _draw_bar(self):
        width = 30
        filled = width * self.batches // max(self.total_batches, 1)
        bar = "#" * filled + "." * (width - filled)
        print(f"\r[{bar}] {self._status()}", end="", file=self.stream, flush=True)
