"""--logdir: each script's run as TensorBoard event files, read back by
TensorBoard's own reader."""
import math
import os
import subprocess
import sys

import pytest

import rnnlm_fluid
from config import FRAMEWORKS
from tests.conftest import REPO, cli_error, read_metrics, read_scalars
from training import events

BATCH_TAGS = ("train/loss", "train/words_per_sec")
EPOCH_TAGS = {"epoch/train_ppl": "train_ppl", "epoch/valid_ppl": "valid_ppl",
              "epoch/learning_rate": "learning_rate"}


def assert_events_match_metrics(scalars, metrics):
    """Each epoch's and the test's scalars are its metrics line's numbers (as float32)."""
    *epochs, test = metrics
    for tag, key in EPOCH_TAGS.items():
        assert [step for step, _ in scalars[tag]] == [line["epoch"] for line in epochs]
        assert [value for _, value in scalars[tag]] == pytest.approx(
            [line[key] for line in epochs], rel=1e-6), tag
    assert scalars["test/ppl"][-1] == (test["epochs"], pytest.approx(test["test_ppl"], rel=1e-6))


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_run_writes_its_curves_for_tensorboard(framework, trained):
    folder = trained(framework)
    scalars = read_scalars(os.path.join(folder, "events"))
    metrics = read_metrics(os.path.join(folder, "metrics.jsonl"))
    assert set(scalars) == {*BATCH_TAGS, *EPOCH_TAGS, "test/ppl"}  # the best epoch is the last
    assert_events_match_metrics(scalars, metrics)
    assert len(scalars["test/ppl"]) == 1
    losses = [value for _, value in scalars["train/loss"]]
    batches = len(losses) // 2
    assert [step for step, _ in scalars["train/loss"]] == list(range(1, 2 * batches + 1))
    assert all(value > 0 for _, value in scalars["train/words_per_sec"])
    # Each batch's mean cross-entropy: the epoch's perplexity is their
    # target-weighted mean, so it lies within their range.
    for epoch, line in enumerate(metrics[:2]):
        epoch_losses = losses[epoch * batches:(epoch + 1) * batches]
        assert min(epoch_losses) < math.log(line["train_ppl"]) < max(epoch_losses)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_resumed_run_continues_its_curves(framework, learned):
    folder, metrics = learned(framework, "sentences", resumed=True)
    logdir = os.path.join(folder, "events")
    assert len(os.listdir(logdir)) == 2  # one file per run
    scalars = read_scalars(logdir)
    assert_events_match_metrics(scalars, metrics)
    steps = [step for step, _ in scalars["train/loss"]]
    assert steps == list(range(1, len(steps) + 1)) and len(steps) % 5 == 0
    assert [step for step, _ in scalars["test/ppl"]] == [2, 5]  # each run's


def test_the_event_writer_loads_no_tensorflow(tmp_path):
    """A Paddle process writes events without a second framework."""
    code = ("import sys; from training.events import EventLog\n"
            f"with EventLog({str(tmp_path)!r}) as log:\n"
            "    log.start_epoch(0, 1); log.batch(2.0, 1)\n"
            "print(sorted({name.split('.')[0] for name in sys.modules} & "
            "{'tensorflow', 'keras', 'tf_keras', 'paddle'}))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr[-2000:]
    assert read_scalars(tmp_path)["train/loss"] == [(1, 2.0)]


def test_an_unwritable_logdir_is_one_line_before_anything_is_written(grammar_corpus, tmp_path,
                                                                      capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, line = cli_error(capsys, rnnlm_fluid.main, [
        "--model", "test", "--data_dir", grammar_corpus(300), "--save_dir", str(tmp_path / "ck"),
        "--logdir", str(blocker / "events")])
    assert code == 1 and line.startswith("error: --logdir "), line
    assert sorted(os.listdir(tmp_path)) == ["file"]


def test_a_full_disk_under_the_logdir_is_one_line(grammar_corpus, tmp_path, capsys, monkeypatch):
    """The event file's disk fills in the first epoch: the run ends with one
    line naming --logdir (it was OSError's traceback; on a real full disk
    twice, as closing the file failed again)."""
    class FillingUp(events.RecordWriter):
        written = 0

        def write(self, record):
            self.written += 1
            if self.written > 3:
                raise OSError(28, "No space left on device")
            super().write(record)
    monkeypatch.setattr(events, "RecordWriter", FillingUp)
    code, line = cli_error(capsys, rnnlm_fluid.main, [
        "--model", "test", "--data_dir", grammar_corpus(300), "--save_dir", str(tmp_path / "ck"),
        "--logdir", str(tmp_path / "events")])
    assert (code, line) == (1, f"error: the event file in --logdir {tmp_path / 'events'}: cannot "
                               "write it (No space left on device); the checkpoints are kept: "
                               "free the space, or give another --logdir, and --resume")


def test_a_logdir_where_no_file_can_be_made_is_one_line(grammar_corpus, tmp_path, capsys):
    """/sys/kernel: os.access lets root pass, and opening the event file was
    PermissionError's traceback."""
    code, line = cli_error(capsys, rnnlm_fluid.main, [
        "--model", "test", "--data_dir", grammar_corpus(300), "--save_dir", str(tmp_path / "ck"),
        "--logdir", "/sys/kernel"])
    assert (code, line) == (1, "error: --logdir /sys/kernel: cannot write there (Permission "
                               "denied); give a writable folder")
    assert os.listdir(tmp_path) == []
