"""TensorBoard event files of a training run (--logdir), written with
TensorBoard's own protocol buffers and record format only.

tensorboard's EventFileWriter would do, but it opens its file through
tensorboard.compat.tf, which imports TensorFlow wherever it is installed,
and a Paddle process must not load a second framework. The format is
TFRecord: each record its length, a masked CRC-32C of it, the serialized
Event, its masked CRC-32C (tensorboard.summary.writer.record_writer).

Tags: per training batch `train/loss` (mean cross-entropy per word, nats)
and `train/words_per_sec`; per epoch `epoch/train_ppl`, `epoch/valid_ppl`
and `epoch/learning_rate`; at the end `test/ppl` and, when an earlier
epoch was best, `test/best_epoch_ppl`. Batch steps count training batches
from the run's start, epoch and test steps count epochs from 1. A resumed
run starts a new file, and TensorBoard drops the batches a stopped run
wrote past the epoch it resumes from; each run's test stays, at the epochs
it had trained.
"""
import contextlib
import os
import socket
import time

from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer.record_writer import RecordWriter

from training.files import writable_folder, writes_told

FLUSH_SECONDS = 2.0  # how stale a live TensorBoard may be


class EventLog:
    """The event file of one run in folder `logdir`, written as the run goes:
    the folder is made now, the file when the log is entered."""

    def __init__(self, logdir):
        self.logdir = logdir
        writable_folder(logdir, "--logdir")
        self.step = None  # until the first epoch starts

    def __enter__(self):
        name = f"events.out.tfevents.{time.time():.6f}.{socket.gethostname()}"
        with self._written():
            self.file = open(os.path.join(self.logdir, name), "wb")
        self.records = RecordWriter(self.file)
        self.flushed = time.monotonic()
        self.batch_end = time.perf_counter()
        self._write(event_pb2.Event(file_version="brain.Event:2"))
        return self

    def __exit__(self, kind, error, traceback):
        if kind is None:
            with self._written():
                self.file.close()
        else:  # the run's own error says what happened, and a full disk fails the close again
            with contextlib.suppress(OSError):
                self.file.close()

    def start_epoch(self, epoch, batches):
        """Epoch `epoch` (from 0) of `batches` training batches begins. The
        first is the run's start: TensorBoard forgets the batches from here
        on that an earlier run wrote in this folder (a stopped epoch that
        resumes here)."""
        if self.step is None:
            self._write(event_pb2.Event(step=epoch * batches + 1, session_log=event_pb2.SessionLog(
                status=event_pb2.SessionLog.START)))
        self.step = epoch * batches
        self.batch_end = time.perf_counter()

    def batch(self, cost, targets):
        """One training batch's summed cross-entropy and its target words."""
        now = time.perf_counter()
        self.step += 1
        self._scalars(self.step, {"train/loss": cost / max(targets, 1),
                                  "train/words_per_sec": targets / max(now - self.batch_end, 1e-9)})
        self.batch_end = now

    def epoch(self, record):
        """An epoch's metrics line (training.reports.epoch_record)."""
        self._scalars(record["epoch"], {"epoch/train_ppl": record["train_ppl"],
                                        "epoch/valid_ppl": record["valid_ppl"],
                                        "epoch/learning_rate": record["learning_rate"]})
        self.flush()

    def test(self, result):
        """The run's test result (training.reports.report_test)."""
        values = {"test/ppl": result["test_ppl"]}
        if result["best_test_ppl"] is not None and result["best_epoch"] != result["epochs"]:
            values["test/best_epoch_ppl"] = result["best_test_ppl"]
        self._scalars(result["epochs"], values)
        self.flush()

    def flush(self):
        with self._written():
            self.file.flush()
        self.flushed = time.monotonic()

    def _scalars(self, step, values):
        summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=value)
                                             for tag, value in values.items()])
        self._write(event_pb2.Event(step=step, summary=summary))

    def _write(self, event):
        event.wall_time = time.time()
        with self._written():
            self.records.write(event.SerializeToString())
        if time.monotonic() - self.flushed > FLUSH_SECONDS:
            self.flush()

    def _written(self):
        # A full disk, say: the run stops with one line, its checkpoints kept.
        return writes_told(f"the event file in --logdir {self.logdir}", "the checkpoints are "
                           "kept: free the space, or give another --logdir, and --resume")


class NoEventLog:
    """A run without --logdir: every call does nothing."""

    def start_epoch(self, epoch, batches):
        pass

    def batch(self, cost, targets):
        pass

    def epoch(self, record):
        pass

    def test(self, result):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *error):
        pass


NO_EVENTS = NoEventLog()


def event_log(logdir):
    """The EventLog of folder `logdir`, or one that writes nothing if it is empty."""
    return EventLog(logdir) if logdir else NO_EVENTS
