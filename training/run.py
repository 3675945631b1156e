"""A training run from start to test result, written once for the four scripts.

Each script hands a Run its framework's pieces and keeps the steps that
teach; the Run does the rest, the same way in all four:

    data = load_corpus(config.data_dir)
    config = trained_config(config, len(data.vocab), workers.count)
    eval_config = evaluation_config(config)
    with Run(FRAMEWORK, banner, config, data, workers) as run:  # the folder held
        trainer = build_trainer(config, device, workers)
        run.keep(trainer, save_checkpoint, restore_checkpoint)  # --resume restores here
        with run.stoppable():                                # Ctrl-C ends the training
            for epoch in run.epochs():
                learning_rate = set_learning_rate(trainer, config, epoch)
                train_stats = run_epoch(trainer, run.epoch_batches(loader, epoch), label, True)
                valid_stats = evaluate(trainer, data.valid, ..., eval_config, label)
                run.end_epoch(epoch, learning_rate, train_stats, valid_stats)  # saved, reported
        return run.test(lambda: evaluate(trainer, data.test, ...))

The Run changes nothing it is given: the script makes the config it trains
with (trained_config) and passes it, and a Run's state is its own (the
epochs done, a stop, the folder it holds).

The checkpoint folder stays locked until the block ends: the best epoch is
restored from it and tested inside the lock (docs/faults-and-recovery.md).
"""
import contextlib
import dataclasses
import os
import sys

from compat.error_text import first_line
from config import describe
from errors import UserError
from ptb.batching import check_batch_size, describe_data
from training.checkpoints import CheckpointFolder, refuse_inside_checkpoint, run_identity
from training.errors import describe_stop, stop_handled, stops_deferred
from training.events import event_log
from training.progress import EpochStats, RunBatches, check_not_diverged
from training.reports import MetricsLog, epoch_record, report_epoch, report_test


class Run:
    """One run of a training script: see the module's docstring.

    config: the config it trains with (config.trained_config's); data: the
    ptb.corpus.Corpus; workers: distributed/workers.py's.
    """

    def __init__(self, framework, banner, config, data, workers):
        self.framework, self.banner, self.workers = framework, banner, workers
        self.config, self.data = config, data
        check_batch_size(data.train, config)
        for path, flag in ((config.metrics_file, "--metrics_file"), (config.logdir, "--logdir")):
            refuse_inside_checkpoint(path, flag, config.save_dir, "--save_dir")
        self.checkpoints = CheckpointFolder(config.save_dir, run_identity(framework, config, data.vocab),
                                            dataclasses.asdict(config), data.vocab)
        # Worker 0 alone reports and saves.
        self.metrics = MetricsLog(config.metrics_file if workers.rank == 0 else "")
        self.events = event_log(config.logdir if workers.rank == 0 else "")
        self.whose = f" (worker {workers.rank} of {workers.count})" if workers.count > 1 else ""
        self.completed = 0  # whole epochs done
        self.stopped = None  # the Ctrl-C or SIGTERM that ended the training
        self.exits = contextlib.ExitStack()

    def __enter__(self):
        """Print the start-up log, hold the checkpoint folder and open the
        event log (worker 0); the other workers print nothing of the run
        (`out`, their training progress too: epoch_batches)."""
        with self.exits:
            self.out = (sys.stdout if self.workers.rank == 0 else
                        self.exits.enter_context(open(os.devnull, "w")))
            print(f"{self.banner}, config:\n{describe(self.config)}\n"
                  f"data:\n{describe_data(self.data, self.config)}", file=self.out)
            if self.workers.rank == 0:
                self.completed = self.exits.enter_context(
                    self.checkpoints.claimed(self.config.resume, self.config.overwrite))
                self.exits.enter_context(self.events)
            self.exits = self.exits.pop_all()
        return self

    def __exit__(self, kind, error, traceback):
        """Release the folder; a collective that failed anywhere in the run
        means another worker stopped: one line, not the framework's traceback."""
        self.exits.__exit__(kind, error, traceback)
        if isinstance(error, self.workers.collective_errors):
            advice = ("rerun all workers with --resume" if self.completed else
                      "the first error of the run says why")
            raise UserError(f"worker {self.workers.rank}: another worker stopped "
                            f"({first_line(error)}); this one stops too: {advice}") from None

    def keep(self, trainer, save, restore):
        """From now on save `trainer` after each epoch by save(trainer, path),
        and restore it by restore(trainer, path); with --resume, restore the
        last saved epoch now."""
        self.trainer, self.save, self.restore = trainer, save, restore
        self.completed = self.workers.from_worker_0(self.completed)
        if self.completed:
            self._restore(self.completed)
            self.metrics.start_from(self.checkpoints.history())

    def epochs(self):
        """The 0-based epochs still to train."""
        return range(self.completed, self.config.max_max_epoch)

    def epoch_batches(self, loader, epoch):
        """The training batches of `epoch` from `loader` (load_data_fluid or
        load_data_tf), shuffled by the seed and the epoch; of several
        workers', this one's share."""
        batches = self.workers.batches(loader, self.data.train, self.data.vocab, self.config,
                                       seed=self.config.seed + epoch)
        self.events.start_epoch(epoch, len(batches))
        return RunBatches(batches, self.events, self.whose, self.out)

    @contextlib.contextmanager
    def stoppable(self):
        """Ctrl-C or SIGTERM ends the training where it is, and the run goes
        on to its test."""
        try:
            yield
        except KeyboardInterrupt as stop:
            stop_handled()
            self.stopped = stop
            print(f"\n{describe_stop(stop)}: training stops here; evaluating on test", file=self.out,
                  flush=True)

    def end_epoch(self, epoch, learning_rate, train_stats, valid_stats):
        """Stop if the training diverged; else save the epoch's checkpoint and
        report its line, the two under one hold (worker 0)."""
        train_stats = EpochStats(*self.workers.sum(list(train_stats[:3])), train_stats.seconds)
        check_not_diverged(train_stats, self.config.vocab_size, f"epoch {epoch + 1} train")
        if self.workers.rank > 0:
            self.completed = epoch + 1
            return
        record = epoch_record(self.framework, self.config, epoch + 1, learning_rate,
                              train_stats, valid_stats)
        with stops_deferred():  # the checkpoint and its metrics line together
            with self.checkpoints.writing(epoch + 1, record) as path:
                self.save(self.trainer, path)
            self.completed = epoch + 1
            report_epoch(self.metrics, self.config, record)
            self.events.epoch(record)

    def test(self, evaluate):
        """Report the test result of the last model and, if another epoch
        was best, of that one (restored), and return them (worker 0; the
        others return None). A run that a stop ended then ends as that stop
        does (non-zero), after the result."""
        result = self._tested(evaluate) if self.workers.rank == 0 else None
        if self.stopped is not None:
            raise self.stopped
        return result

    def _tested(self, evaluate):
        test_stats = evaluate()
        best = self.checkpoints.best_epoch()
        best_stats = None
        if best and (best != self.completed or self.stopped):  # the model in memory is not the best
            self._restore(best)
            best_stats = evaluate()
        result = report_test(self.metrics, self.framework, test_stats, self.completed,
                             (best, best_stats), interrupted=self.stopped is not None)
        self.events.test(result)
        return result

    def _restore(self, epoch):
        with self.checkpoints.reading(epoch) as path:
            self.restore(self.trainer, path)
        print(f"loaded {self.checkpoints.epoch_folder(epoch)}", file=self.out)
