"""Faults and recovery of a training run (docs/faults-and-recovery.md), in
the 2018 scripts and, where their code differs, in today's, at the `test`
preset. Nothing finished is lost, no number is silently wrong, and each
fault ends with one line."""
import fcntl
import io
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading

import pytest

import rnnlm_fluid
import rnnlm_tensorflow
from compat.paddle_fluid import paddle
from compat.tf_v1 import tf
from errors import UserError
from ptb import batching, corpus
from tests.conftest import (
    EAGER_STEP,
    ON_ONE_CPU,
    REPO,
    TODAYS,
    Started,
    one_line_error,
    run_command,
    tried_runs,
)
from tests.corpora import write_grammar_corpus, write_split
from tests.interrupting import calls_finished_before_the_stop
from training import errors
from training.checkpoints import MARKER
from training.files import replace_file
from training.progress import Progress, perplexity
from training.reports import MetricsLog, read_json_lines, trained_for

SCRIPTS = {"fluid": rnnlm_fluid, "tensorflow": rnnlm_tensorflow}
FRAMEWORKS = sorted(SCRIPTS)
# What each framework's saver writes the parameters into.
PARAMETERS = {"fluid": "model.pdparams", "tensorflow": "model.data-00000-of-00001",
              "paddle": "model.pdparams", "keras": "model.weights.h5"}


@pytest.fixture(scope="module")
def data_dir(grammar_corpus):
    return grammar_corpus(300)


def flags(data_dir, folder, *more):
    return ["--model", "test", "--data_dir", str(data_dir), *ON_ONE_CPU, *EAGER_STEP,
            "--save_dir", os.path.join(folder, "ck"),
            "--metrics_file", os.path.join(folder, "metrics.jsonl"), *more]


def train(framework, data_dir, folder, *more):
    """One run in this process; return the metrics file's lines."""
    SCRIPTS[framework].main(flags(data_dir, folder, *more))
    return metrics(folder)


def metrics(folder):
    """The metrics lines, read by a parser that refuses NaN and Infinity."""
    def refuse(token):
        raise ValueError(f"not strict JSON: {token}")
    with open(os.path.join(folder, "metrics.jsonl"), encoding="utf-8") as lines:
        return [json.loads(line, parse_constant=refuse) for line in lines]


def saved_epoch(folder):
    with open(os.path.join(folder, "ck", MARKER), encoding="utf-8") as marker:
        return json.load(marker)["epoch"]


def folder_state(folder):
    """Every file under folder/ck with its size and modification time."""
    ck = os.path.join(folder, "ck")
    return {os.path.join(root, name): os.stat(os.path.join(root, name))[6:9:2]
            for root, _, names in os.walk(ck) for name in names}


def start(framework, *args):
    """The script forked from its zygote and left running, its output read
    line by line as it prints (tests/conftest.py: Started); killed after
    300 s, so that a run which misses its stop fails the test (read_until)
    rather than train for ever."""
    process = Started(framework, args)
    deadline = threading.Timer(300, process.kill)
    deadline.daemon = True
    deadline.start()
    return process


def read_until(process, text):
    """The lines the process printed, up to the first that holds `text`."""
    lines = []
    for line in process.stdout:
        lines.append(line)
        if text in line:
            return lines
    errors = process.stderr.read()  # before wait(): a full stderr pipe would block the process
    raise AssertionError(f"ended (exit {process.wait()}) before printing {text!r}: "
                         f"{''.join(lines)}{errors}")


# 1. A checkpoint folder belongs to one run.

@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_fresh_run_does_not_take_over_a_checkpoint_folder(framework, data_dir, tmp_path):
    train(framework, data_dir, tmp_path, "--epochs", "1")
    before = folder_state(tmp_path)
    with pytest.raises(UserError, match="already holds a checkpoint; pass --resume .* --overwrite"):
        train(framework, data_dir, tmp_path, "--epochs", "1", "--hidden_size", "3")
    assert folder_state(tmp_path) == before
    train(framework, data_dir, tmp_path, "--epochs", "1", "--hidden_size", "3", "--overwrite")
    with pytest.raises(UserError, match="hidden_size is 3 in the checkpoint, 2 asked"):
        train(framework, data_dir, tmp_path, "--resume", "--epochs", "2")


def test_an_overwrite_keeps_the_old_checkpoint_until_it_saves_its_first_epoch(data_dir, tmp_path,
                                                                              monkeypatch):
    """--overwrite stopped in its first epoch leaves the folder's checkpoint as
    it was, to resume, and does not test the old run's best epoch as its own;
    its first saved epoch then replaces the old run whole."""
    train("fluid", data_dir, tmp_path, "--epochs", "2", "--learning_rate", "0.1")
    before = folder_state(tmp_path)
    run_epoch = rnnlm_fluid.run_epoch

    def stopped_in_training(trainer, batches, label, training):
        if training:
            raise KeyboardInterrupt
        return run_epoch(trainer, batches, label, training)
    with monkeypatch.context() as patch:
        patch.setattr(rnnlm_fluid, "run_epoch", stopped_in_training)
        with pytest.raises(KeyboardInterrupt):
            train("fluid", data_dir, tmp_path, "--epochs", "1", "--overwrite")
    assert folder_state(tmp_path) == before
    [test] = metrics(tmp_path)
    assert test["epochs"] == 0 and test["best_epoch"] is None
    train("fluid", data_dir, tmp_path, "--epochs", "1", "--overwrite")
    with open(tmp_path / "ck" / MARKER, encoding="utf-8") as marker:
        saved = json.load(marker)
    assert [line["epoch"] for line in saved["history"]] == [1]
    assert saved["config"]["learning_rate"] != 0.1  # the new run's, not the old one's
    assert sorted(os.listdir(tmp_path / "ck")) == [".lock", MARKER, "epoch1", "vocab.txt"]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_folder_in_use_is_refused_and_freed_by_kill_9(framework, data_dir, tmp_path):
    run = start(framework, *flags(data_dir, tmp_path, "--epochs", "100000"))
    read_until(run, "epoch 2/")
    with pytest.raises(UserError, match="in use by another run"):
        train(framework, data_dir, tmp_path, "--resume", "--epochs", "100000")
    run.kill()
    run.wait()
    done = saved_epoch(tmp_path)
    lines = train(framework, data_dir, tmp_path, "--resume", "--epochs", str(done + 1))
    assert [line.get("epoch") for line in lines] == [*range(1, done + 2), None]
    assert not [name for name in os.listdir(tmp_path / "ck") if name.endswith(".partial")]


def test_the_folder_stays_locked_until_the_best_epoch_is_tested(two_epochs, data_dir,
                                                                 monkeypatch):
    """The best epoch (2, not the last, 3) is restored from the folder and
    tested while the run still holds its lock: no other run can take the
    folder over in between."""
    framework, folder = two_epochs
    marker = folder / "ck" / MARKER
    saved = json.loads(marker.read_text())
    saved["history"][1]["valid_ppl"] = 1.0  # no later epoch can beat it
    marker.write_text(json.dumps(saved))
    held = []
    restore = SCRIPTS[framework].restore_checkpoint

    def restore_and_check_the_lock(*args):
        with open(folder / "ck" / ".lock") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                held.append(False)
            except BlockingIOError:
                held.append(True)
        return restore(*args)
    monkeypatch.setattr(SCRIPTS[framework], "restore_checkpoint", restore_and_check_the_lock)
    lines = train(framework, data_dir, folder, "--resume", "--epochs", "3")
    assert lines[-1]["best_epoch"] == 2 and held == [True, True]  # the resumed epoch, the best


# 2. Resume checks that the checkpoint fits.

@pytest.fixture(params=FRAMEWORKS)
def two_epochs(request, trained, tmp_path):
    """(framework, folder) of a copy of a finished two-epoch run on data_dir
    (tests/conftest.py)."""
    folder = tmp_path / "run"
    shutil.copytree(trained(request.param), folder)
    return request.param, folder


def other_words(folder, words):
    """A copy of the grammar corpus with extra training words."""
    write_grammar_corpus(folder, train_lines=300)
    with open(folder / "ptb.train.txt", "a", encoding="utf-8") as train_split:
        train_split.write(f" {words}\n")
    return folder


@pytest.mark.parametrize("more, message", [
    (["--hidden_size", "3"], "hidden_size is 2 in the checkpoint, 3 asked"),
    (["--num_layers", "2"], "num_layers is 1 in the checkpoint, 2 asked"),
    (["--batch_size", "7"], "batch_size is 20 in the checkpoint, 7 asked"),
])
def test_resume_refuses_another_model(two_epochs, data_dir, more, message):
    framework, folder = two_epochs
    before = folder_state(folder)
    with pytest.raises(UserError, match=message):
        train(framework, data_dir, folder, "--resume", "--epochs", "3", *more)
    assert folder_state(folder) == before


def test_resume_refuses_another_vocabulary(two_epochs, tmp_path):
    framework, folder = two_epochs
    vocab_size = len(corpus.load_corpus(other_words(tmp_path / "a", "")).vocab)
    with pytest.raises(UserError, match=f"vocab_size is {vocab_size} in the checkpoint, "
                                        f"{vocab_size + 2} asked"):
        train(framework, other_words(tmp_path / "b", "zebra quagga"), folder, "--resume")
    # Same size, other words: "cat" is gone, "cow" came.
    same_size = tmp_path / "c"
    write_grammar_corpus(same_size, train_lines=300)
    text = re.sub(r"\bcat\b", "cow", (same_size / "ptb.train.txt").read_text())
    (same_size / "ptb.train.txt").write_text(text)
    with pytest.raises(UserError, match="vocabulary differs"):
        train(framework, same_size, folder, "--resume")


def test_resume_may_change_the_learning_rate_and_the_epochs(two_epochs, data_dir):
    framework, folder = two_epochs
    lines = train(framework, data_dir, folder, "--resume", "--epochs", "3",
                  "--learning_rate", "0.5")
    assert [line.get("epoch") for line in lines] == [1, 2, 3, None]
    assert lines[2]["learning_rate"] == 0.125  # 0.5, decayed twice after the preset's max_epoch


# 3. Divergence stops the run.

@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_divergence_stops_and_keeps_the_last_good_checkpoint(framework, data_dir, tmp_path):
    train(framework, data_dir, tmp_path, "--epochs", "1")
    before = folder_state(tmp_path)
    with pytest.raises(UserError, match="epoch 2 train.*diverged"):
        train(framework, data_dir, tmp_path, "--resume", "--epochs", "3", "--learning_rate", "1e6")
    assert folder_state(tmp_path) == before and saved_epoch(tmp_path) == 1
    assert [line["epoch"] for line in metrics(tmp_path)] == [1]


def test_a_loss_that_is_not_finite_stops_at_its_batch():
    progress = Progress("epoch 3 train", total_batches=9, training=False)
    progress.update(2.0, 10, 10)
    with pytest.raises(UserError, match="epoch 3 train, batch 2 of 9: the loss is nan"):
        progress.update(float("nan"), 10, 10)


def test_perplexity_overflows_to_inf_and_the_metrics_stay_strict_json(tmp_path):
    assert perplexity(1e6, 10) == float("inf")
    log = MetricsLog(str(tmp_path / "metrics.jsonl"))
    log.write(dict(epoch=1, train_ppl=float("inf"), valid_ppl=float("nan"), words_per_sec=3.5))
    assert metrics(tmp_path) == [dict(epoch=1, train_ppl=None, valid_ppl=None, words_per_sec=3.5)]


# 4. An empty split is refused; each split is described.

@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("split", ["valid", "test"])
def test_an_empty_split_is_refused_at_start_up(framework, split, tmp_path):
    write_grammar_corpus(tmp_path / "data", train_lines=100)
    write_split(tmp_path / "data", split, ["", "   "])
    with pytest.raises(UserError, match=rf"ptb\.{split}\.txt has no words"):
        train(framework, tmp_path / "data", tmp_path)
    assert sorted(os.listdir(tmp_path)) == ["data"]


def test_each_split_is_described_with_its_unk_share(tmp_path, capsys):
    write_grammar_corpus(tmp_path / "data", train_lines=100)
    write_split(tmp_path / "data", "valid", ["<unk> <unk>", "zebra <unk> quagga"])
    train("tensorflow", tmp_path / "data", tmp_path, "--epochs", "1")
    assert "  valid: 5 words, 2 sentences, 100.0% <unk>" in capsys.readouterr().out


# 5 and 6. The metrics file matches the checkpoints; checkpoints are written whole.

def break_the_saver(framework, monkeypatch):
    """Make the framework's saver write part of a file, then fail."""
    def half_a_save(*args, **kwargs):
        path = next(arg for arg in args if isinstance(arg, str))
        with open(path + ".pdparams", "wb") as partial:
            partial.write(b"\x80\x04 half a checkpoint")
        raise OSError(28, "No space left on device")
    if framework == "fluid":
        monkeypatch.setattr(paddle.static, "save", half_a_save)
    else:
        monkeypatch.setattr(tf.train.Saver, "save", half_a_save)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_failed_save_keeps_the_last_checkpoint_and_writes_no_metrics(framework, data_dir,
                                                                       tmp_path, monkeypatch):
    train(framework, data_dir, tmp_path, "--epochs", "1")
    before = folder_state(tmp_path)
    with monkeypatch.context() as patch:
        break_the_saver(framework, patch)
        with pytest.raises(UserError, match="cannot save the checkpoint.*No space left"):
            train(framework, data_dir, tmp_path, "--resume", "--epochs", "2")
    assert folder_state(tmp_path) == before and saved_epoch(tmp_path) == 1
    assert [line["epoch"] for line in metrics(tmp_path)] == [1]
    lines = train(framework, data_dir, tmp_path, "--resume", "--epochs", "2")
    assert [line.get("epoch") for line in lines] == [1, 2, None]


def test_a_metrics_file_that_cannot_be_written_is_one_line(data_dir, tmp_path):
    """Refused at start-up where no file can be made (/proc, even for root,
    whom os.access lets write anywhere); and a write that fails later (here
    a full device) ends the run with one line, the epoch's checkpoint kept
    for --resume."""
    without_metrics = flags(data_dir, tmp_path)[:-2]
    with pytest.raises(UserError, match="--metrics_file /proc/metrics.jsonl: cannot write there"):
        rnnlm_fluid.main([*without_metrics, "--metrics_file", "/proc/metrics.jsonl"])
    assert os.listdir(tmp_path) == []
    with pytest.raises(UserError, match=r"--metrics_file /dev/full: cannot write it \(No space"):
        rnnlm_fluid.main([*without_metrics, "--metrics_file", "/dev/full"])
    assert saved_epoch(tmp_path) == 1


def test_a_metrics_file_of_other_text_is_refused_and_kept(data_dir, tmp_path):
    """A run replaces its metrics file: given a data split by mistake, it
    overwrote it. An earlier run's metrics file it still replaces."""
    other = tmp_path / "ptb.valid.txt"
    for text in (b"the cat sat\n", b'["framework"]\n', b"\x00\xff"):
        other.write_bytes(text)
        with pytest.raises(UserError, match=r"^--metrics_file .*ptb.valid.txt holds something "
                                            r"other than a run's metrics lines, and would be "
                                            r"replaced; give a new file, or an earlier one$"):
            rnnlm_fluid.main([*flags(data_dir, tmp_path)[:-2], "--metrics_file", str(other)])
        assert os.listdir(tmp_path) == ["ptb.valid.txt"] and other.read_bytes() == text
    (tmp_path / "metrics.jsonl").write_text('{"framework": "fluid", "epoch": 7}\n')
    assert [line.get("epoch") for line in train("fluid", data_dir, tmp_path)] == [1, None]


@pytest.mark.parametrize("flag, inside", [("--metrics_file", "metrics.jsonl"),
                                          ("--logdir", "events"), ("--metrics_file", "")])
def test_an_output_inside_the_save_dir_is_refused_before_any_work(flag, inside, data_dir,
                                                                 tmp_path):
    """A file there that the run did not write would make --resume refuse
    the folder: the run trained, and could not be continued."""
    without_metrics = flags(data_dir, tmp_path)[:-2]
    path = os.path.join(tmp_path, "ck", inside)
    with pytest.raises(UserError, match=f"^{flag} {re.escape(path)} is inside --save_dir "
                                        ".*; give a path outside it$"):
        rnnlm_fluid.main([*without_metrics, flag, path])
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_leftovers_of_a_killed_save_are_removed_at_the_next_start(framework, data_dir, tmp_path):
    train(framework, data_dir, tmp_path, "--epochs", "1")
    leftover = tmp_path / "ck" / ".epoch2.partial"
    leftover.mkdir()
    (leftover / "model.data-00000-of-00001.tempstate123").write_bytes(b"\0" * 100)
    train(framework, data_dir, tmp_path, "--resume", "--epochs", "2")
    # The last epoch stays, and the first if it was the better one.
    assert sorted(os.listdir(tmp_path / "ck")) in ([".lock", MARKER, "epoch2", "vocab.txt"],
                                                   [".lock", MARKER, "epoch1", "epoch2", "vocab.txt"])


def test_a_resumed_metrics_file_holds_the_checkpoints_epochs_and_nothing_after(tmp_path):
    path = tmp_path / "metrics.jsonl"
    epochs = [{"framework": "fluid", "epoch": epoch} for epoch in (1, 2, 3)]
    path.write_text("".join(json.dumps(line) + "\n" for line in epochs[:2])
                    + '{"framework": "fluid", "test_ppl": 9.0}\n' + json.dumps(epochs[2])
                    + '\n{"framework": "fluid", "epo')
    log = MetricsLog(str(path))
    log.start_from(epochs[:2])  # what the checkpoint of epoch 2 keeps
    log.write(epochs[2])
    assert read_json_lines(str(path)) == epochs


# 7. A damaged checkpoint gives one line.

@pytest.mark.parametrize("damage", ["truncated", "empty", "garbage"])
def test_a_damaged_checkpoint_is_named_in_one_line(two_epochs, data_dir, damage):
    framework, folder = two_epochs
    parameters = folder / "ck" / "epoch2" / PARAMETERS[framework]
    content = parameters.read_bytes()
    parameters.write_bytes({"truncated": content[:len(content) // 2], "empty": b"",
                            "garbage": b"\x13\x37" * 100}[damage])
    with pytest.raises(UserError, match=r"cannot load the checkpoint in .*epoch2 .* damaged"):
        train(framework, data_dir, folder, "--resume", "--epochs", "3")


def test_a_marker_naming_a_missing_epoch_or_unreadable_is_one_line(two_epochs, data_dir):
    framework, folder = two_epochs
    shutil.rmtree(folder / "ck" / "epoch2")
    with pytest.raises(UserError, match=r"names epoch 2, but .*epoch2 is missing"):
        train(framework, data_dir, folder, "--resume", "--epochs", "3")
    (folder / "ck" / MARKER).write_text("{not json")
    with pytest.raises(UserError, match=rf"cannot read .*{MARKER}"):
        train(framework, data_dir, folder, "--resume", "--epochs", "3")


@pytest.mark.parametrize("framework", TODAYS)
def test_todays_scripts_refuse_a_damaged_checkpoint_and_stop_on_divergence(framework, data_dir,
                                                                           trained, tmp_path):
    diverging, damaged = tmp_path / "diverging", tmp_path / "damaged"
    for folder in (diverging, damaged):
        shutil.copytree(trained(framework), folder)
    (damaged / "ck" / "epoch2" / PARAMETERS[framework]).write_bytes(b"\x13\x37" * 100)
    diverged, refused = tried_runs(
        framework, flags(data_dir, diverging, "--resume", "--epochs", "4", "--learning_rate", "1e6"),
        flags(data_dir, damaged, "--resume", "--epochs", "3"))
    assert diverged.returncode == 1 and "Traceback" not in diverged.stderr
    assert "epoch 3 train" in diverged.stderr and "diverged" in diverged.stderr
    assert saved_epoch(diverging) == 2 and [line["epoch"] for line in metrics(diverging)] == [1, 2]
    one_line_error(refused, "cannot load the checkpoint")


# 8. An unusable --save_dir is refused at start-up.

@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("inside", ["", "sub"])
def test_a_save_dir_that_is_a_file_is_refused_before_any_work(framework, data_dir, tmp_path,
                                                               inside):
    (tmp_path / "ck").write_text("a file")
    save_dir = str(tmp_path / "ck" / inside) if inside else str(tmp_path / "ck")
    with pytest.raises(UserError, match="--save_dir .* cannot write there"):
        SCRIPTS[framework].main(flags(data_dir, tmp_path)[:-4] + ["--save_dir", save_dir,
                                                                  "--metrics_file",
                                                                  str(tmp_path / "m.jsonl")])
    assert sorted(os.listdir(tmp_path)) == ["ck"]


# 9. Signals.

@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the dropped one
def test_a_stop_that_python_drops_is_raised_at_the_next_batch(monkeypatch):
    """A signal whose handler runs inside a __del__ raises there, and Python
    drops the exception ("Exception ignored in ..."): the run would go on.
    The next batch raises the stop again, and the run ends as stopped."""
    monkeypatch.setattr(errors, "unhandled_stops", [], raising=False)
    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}

    class SignalledWhileCollected:
        def __del__(self):
            os.kill(os.getpid(), signal.SIGTERM)
            sum(range(100_000))  # the handler runs here, inside __del__

    def main(argv):
        progress = Progress("train", 3, training=False, stream=io.StringIO())
        for _ in range(3):
            SignalledWhileCollected()  # collected at once
            progress.update(1.0, 1, 1)
    try:
        with pytest.raises(SystemExit) as ended:
            errors.run_cli(main)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    assert ended.value.code == 143

@pytest.mark.parametrize("framework", [*FRAMEWORKS, *TODAYS])
def test_sigterm_stops_like_ctrl_c_keeps_the_checkpoint_and_exits_143(framework, data_dir,
                                                                       tmp_path):
    run = start(framework, *flags(data_dir, tmp_path, "--epochs", "100000"))
    read_until(run, "epoch 2/")
    run.send_signal(signal.SIGTERM)
    output = "".join(read_until(run, "test ppl"))
    errors = run.stderr.read()
    assert run.wait(timeout=60) == 143
    assert "stopped by SIGTERM: training stops here; evaluating on test" in output
    assert errors.strip() == "stopped by SIGTERM", errors  # no traceback, no C++ stack
    *epochs, test = metrics(tmp_path)
    assert test["interrupted"] is True and test["epochs"] == len(epochs) == saved_epoch(tmp_path)
    assert [line["epoch"] for line in epochs] == list(range(1, len(epochs) + 1))


# A module each script imports while its framework loads (each compat
# module once): Paddle's glog handler of SIGTERM is in place by paddle.incubate.
@pytest.mark.parametrize("script, stop, module", [
    ("rnnlm_fluid.py", "SIGTERM", "paddle.incubate"),
    ("rnnlm_paddle.py", "SIGINT", "paddle.incubate"),
    ("rnnlm_tensorflow.py", "SIGINT", "tensorflow"),
    ("rnnlm_keras.py", "SIGINT", "keras")])
def test_a_stop_while_the_framework_loads_ends_the_script_quietly(script, stop, module,
                                                                  data_dir, tmp_path):
    """Ctrl-C or SIGTERM in a script's first seconds, before it handles
    stops, ends it as the signal ends any program: no traceback of the
    imports, no C++ stack dump, nothing written. Started as a user starts
    it: this process's frameworks set OMP_NUM_THREADS=1, and without it
    numpy's math library starts a thread, which may take the signal."""
    env = {name: value for name, value in os.environ.items() if name != "OMP_NUM_THREADS"}
    ended = subprocess.run([sys.executable, "-m", "tests.signalled_while_loading", stop, module,
                            script, *flags(data_dir, tmp_path)],
                           cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert (ended.returncode, ended.stdout, ended.stderr) == (-getattr(signal, stop), "", "")
    assert os.listdir(tmp_path) == []


def test_an_interrupted_test_line_says_how_far_the_training_got():
    assert [trained_for(epochs) for epochs in (0, 1, 3)] == [
        "part of epoch 1", "1 whole epoch and part of epoch 2", "3 whole epochs and part of epoch 4"]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_second_ctrl_c_during_the_test_evaluation_exits_at_once(framework, tmp_path):
    data = write_grammar_corpus(tmp_path / "data", train_lines=300)
    write_grammar_corpus(tmp_path / "big", train_lines=1, eval_lines=60_000)
    shutil.copy(tmp_path / "big" / "ptb.test.txt", data / "ptb.test.txt")  # a long evaluation
    run = start(framework, *flags(data, tmp_path, "--epochs", "100000"))
    read_until(run, "epoch 1/")
    run.send_signal(signal.SIGINT)
    read_until(run, "evaluating on test")
    run.send_signal(signal.SIGINT)
    assert run.wait(timeout=30) == 130
    assert run.stderr.read().strip() == "stopped by Ctrl-C"
    assert all("test_ppl" not in line for line in metrics(tmp_path))


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_stop_lands_between_batches_never_inside_the_framework(framework, data_dir):
    assert calls_finished_before_the_stop(framework, data_dir) == 1


@pytest.mark.parametrize("framework", TODAYS)
def test_todays_scripts_stop_between_batches_too(framework, data_dir):
    run = run_command("-m", "tests.interrupting", data_dir, framework, timeout=120)
    assert run.stdout.split() == [framework, "1"], run.stderr[-2000:]


# 10. A very long line trains in pieces, every token scored once.

@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_paragraph_of_thousands_of_words_trains_in_pieces(framework, tmp_path, capsys):
    data = write_grammar_corpus(tmp_path / "data", train_lines=100)
    paragraph = " ".join(["the", "cat", "sees", "a", "dog"] * 4_000)
    for split in ("train", "test"):
        with open(data / f"ptb.{split}.txt", "a", encoding="utf-8") as text:
            text.write(f" {paragraph}\n")
    *_, test = train(framework, data, tmp_path, "--epochs", "1", "--batching", "sentences")
    assert test["test_words"] == batching.count_targets(corpus.load_corpus(str(data)).test)
    assert ("1 longer than 100 steps cut into 201 pieces, each starting from a zero state"
            in capsys.readouterr().out)


# 11. --batch_size larger than the data is refused.

@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("batching, size, message", [
    ("sentences", "301", "more than the 300 sentences of the training split; choose at most 300"),
    ("chunks", "100000", r"more than the 1,\d\d\d target words of the training split"),
])
def test_a_batch_larger_than_the_data_is_refused(framework, batching, size, message, data_dir,
                                                 tmp_path):
    with pytest.raises(UserError, match=message):
        train(framework, data_dir, tmp_path, "--batching", batching, "--batch_size", size)


# 12. Other bytes.

@pytest.mark.parametrize("line, code", [("a \x00 b", "0000"), ("a \x1b[31m b", "001B"),
                                        ("a \x7f", "007F")])
def test_control_characters_are_named_by_file_and_line(tmp_path, line, code):
    write_grammar_corpus(tmp_path, train_lines=5)
    write_split(tmp_path, "valid", ["a b", line])
    with pytest.raises(UserError, match=rf"ptb\.valid\.txt:2: control character U\+{code}"):
        corpus.load_corpus(str(tmp_path))


def test_an_unreadable_file_is_one_line(tmp_path, monkeypatch):
    write_grammar_corpus(tmp_path, train_lines=5)

    def denied(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", path)
    monkeypatch.setattr(corpus, "open", denied, raising=False)
    with pytest.raises(UserError, match=r"ptb\.train\.txt: cannot read it \(Permission denied\)"):
        corpus.load_corpus(str(tmp_path))


def test_a_stop_that_python_drops_inside_a_finalizer_prints_only_its_line():
    """SIGTERM can land while the garbage collector runs a __del__ (seen in
    TensorFlow's AtomicFunction.__del__): Python drops the exception and
    prints it as "Exception ignored", with a traceback; the run stops at
    the next batch, and must say only that it stopped. In a process of its
    own: pytest replaces the hook that prints it."""
    code = """if True:
        import signal
        from training.errors import raise_missed_stop, raise_stop, run_cli

        class Finalized:
            def __del__(self):
                raise_stop(signal.SIGTERM, None)  # as if the signal came now

        def main(argv):
            Finalized()  # collected at once: the stop is raised inside __del__
            raise_missed_stop()  # what the next batch does
        run_cli(main)
    """
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert (result.returncode, result.stderr) == (143, "stopped by SIGTERM\n")


def test_output_cut_short_by_a_pipe_ends_quietly():
    """`python generate.py ... | head`: when the reader stops reading, the
    command stops, as `cat` would, without a BrokenPipeError traceback."""
    code = ("from training.errors import run_cli\n"
            "def main(argv):\n"
            "    for line in range(100_000):\n"
            "        print(line, flush=True)\n"
            "run_cli(main)")
    result = subprocess.run(f"{shlex.quote(sys.executable)} -c {shlex.quote(code)} | head -n 1",
                            shell=True, cwd=REPO, capture_output=True, text=True)
    assert (result.stdout, result.stderr) == ("0\n", "")


def test_a_file_that_cannot_be_replaced_leaves_no_partial_copy(tmp_path):
    """A file of a checkpoint, a metrics file or results whose write fails
    (here its path is a folder; a full disk fails as well) leaves nothing
    beside it: a vocab.txt.partial made the next run refuse the checkpoint
    folder as holding files that are not a checkpoint's."""
    (tmp_path / "vocab.txt").mkdir()
    with pytest.raises(OSError):
        replace_file(str(tmp_path / "vocab.txt"), "the\n")
    assert os.listdir(tmp_path) == ["vocab.txt"]
