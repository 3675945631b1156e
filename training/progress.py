"""Running perplexity and words/s during an epoch, and the epoch's totals."""
import collections
import math
import sys
import time

from training.errors import UserError

EpochStats = collections.namedtuple("EpochStats", "ppl words_per_sec seconds targets padding")
EpochStats.__doc__ = """targets: the target tokens scored; padding: the fraction
of the time steps computed that were padding."""


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


class Progress:
    """Running perplexity and words/s during an epoch.

    A terminal gets a bar redrawn in place; a log file gets about
    `log_lines` plain lines (none if 0), so that piped output stays short.
    With log_lines None nothing is shown: a worker other than worker 0.
    """

    def __init__(self, label, total_batches, log_lines, stream=sys.stdout):
        self.label = label
        self.total_batches = total_batches
        self.stream = stream
        self.is_terminal = stream.isatty() and log_lines is not None
        self.every = max(1, total_batches // log_lines) if log_lines else None
        self.cost = 0.0
        self.targets = 0
        self.computed_steps = 0
        self.batches = 0
        self.start = time.perf_counter()

    def update(self, batch_cost, batch_targets, computed_steps):
        """Add one mini-batch's summed cross-entropy, its target count and the
        time steps computed for it (more than the targets if padded).
        A loss that is not finite stops the run: nothing after it can be trusted."""
        if not math.isfinite(batch_cost):
            raise UserError(f"{self.label}, batch {self.batches + 1} of {self.total_batches}: the "
                            f"loss is {batch_cost}; training diverged, so it stops here, and the "
                            "checkpoints saved before stay as they were (try a lower --learning_rate)")
        self.cost += batch_cost
        self.targets += batch_targets
        self.computed_steps += computed_steps
        self.batches += 1
        if self.is_terminal:
            self._draw_bar()
        elif self.every and self.batches % self.every == 0 and self.batches < self.total_batches:
            print(self._status(), file=self.stream, flush=True)

    def finish(self, summed=None):
        """End the bar; return the epoch's EpochStats, its totals summed
        over the workers by `summed` (a function of a list of numbers), if given."""
        if self.is_terminal:
            print(file=self.stream)
        seconds = self.seconds()
        totals = [self.cost, self.targets, self.computed_steps]
        cost, targets, computed_steps = summed(totals) if summed else totals
        padding = 1 - targets / max(computed_steps, 1)
        return EpochStats(perplexity(cost, targets), targets / seconds, seconds, int(targets),
                          padding)

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
