"""End-to-end runs of the four training scripts on a small generated corpus.

The 2018-API scripts run in this process; today's run in processes of their
own, as Paddle's dynamic graph cannot share one with the legacy graph, nor
Keras 3 with the v1 graph."""
import os

import pytest

import rnnlm_fluid
import rnnlm_tensorflow
from errors import UserError
from ptb import batching, corpus
from tests.conftest import (
    EAGER_STEP,
    ON_ONE_CPU,
    TINY_MODEL,
    TODAYS,
    cli_error,
    one_line_error,
    read_metrics,
    run_command,
)
from tests.corpora import unigram_perplexity

SCRIPTS = {"fluid": rnnlm_fluid, "tensorflow": rnnlm_tensorflow}
EPOCH_FIELDS = {"framework", "model", "batching", "epoch", "learning_rate", "train_ppl",
                "valid_ppl", "words_per_sec", "seconds", "padding"}
TEST_FIELDS = {"framework", "test_ppl", "test_words", "epochs", "best_epoch", "best_test_ppl",
               "interrupted", "peak_memory_mb"}
RUNS = [(framework, batching) for framework in [*sorted(SCRIPTS), *TODAYS]
        for batching in ("chunks", "sentences")]


@pytest.fixture(scope="module")
def data_dir(grammar_corpus):
    return grammar_corpus(600)


def train(framework, data_dir, out_dir, *flags):
    """Train with rnnlm_FRAMEWORK.py; return its metrics lines."""
    metrics_file = os.path.join(out_dir, "metrics.jsonl")
    args = ["--data_dir", data_dir, "--save_dir", os.path.join(out_dir, "ck"),
            "--metrics_file", metrics_file, *ON_ONE_CPU, *TINY_MODEL, *flags]
    if framework in SCRIPTS:
        SCRIPTS[framework].main(args)
    else:
        result = run_command(f"rnnlm_{framework}.py", *args)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return read_metrics(metrics_file)


@pytest.fixture(params=RUNS, ids="-".join)
def five_epochs(request, learned):
    """(framework, batching, metrics) of one five-epoch run (tests/conftest.py)."""
    framework, batching = request.param
    return framework, batching, learned(framework, batching)[1]


def test_model_learns_far_below_unigram(five_epochs, data_dir):
    """Valid and test perplexity far below an add-one unigram model's."""
    *_, metrics = five_epochs
    texts = {split: corpus.read_sentences(corpus.split_path(data_dir, split))
             for split in ("train", "valid")}
    unigram = unigram_perplexity(texts["train"], texts["valid"])
    assert metrics[-2]["valid_ppl"] < 0.6 * unigram, (metrics, unigram)
    assert metrics[-1]["test_ppl"] < 0.6 * unigram


def test_metrics_follow_the_contract(five_epochs, data_dir):
    framework, batching, metrics = five_epochs
    *epochs, last = metrics
    assert [line["epoch"] for line in epochs] == [1, 2, 3, 4, 5]
    for line in epochs:
        assert set(line) == EPOCH_FIELDS
        assert (line["framework"], line["batching"]) == (framework, batching)
        assert line["model"] == "small" and line["words_per_sec"] > 0 and line["seconds"] > 0
        # Padded sentences compute steps that score nothing; LoD and chunks do not.
        padded = batching == "sentences" and framework != "fluid"
        assert (0.05 < line["padding"] < 0.9) if padded else line["padding"] == 0
    assert [line["learning_rate"] for line in epochs] == [1.0, 1.0, 1.0, 1.0, 0.5]
    assert set(last) == TEST_FIELDS
    assert (last["epochs"], last["interrupted"]) == (5, False)
    assert 50 < last["peak_memory_mb"] < 4000
    test_split = corpus.read_sentences(corpus.split_path(data_dir, "test"))
    assert last["test_words"] == sum(len(words) + 1 for words in test_split)  # W + L


@pytest.mark.parametrize("framework", [*sorted(SCRIPTS), *TODAYS])
def test_resume_continues_and_reproduces(framework, learned):
    """Two epochs, then --resume to five: the numbers of five in one go. The
    first run's test line is dropped: the metrics file matches the checkpoints."""
    _, straight = learned(framework, "sentences")
    _, resumed = learned(framework, "sentences", resumed=True)
    assert [line.get("epoch") for line in resumed] == [1, 2, 3, 4, 5, None]
    for mine, theirs in zip(resumed[2:], straight[2:]):
        for key in ("train_ppl", "valid_ppl", "test_ppl"):
            if key in theirs:
                assert mine[key] == pytest.approx(theirs[key], rel=1e-4), key


@pytest.mark.parametrize("framework", sorted(SCRIPTS))
def test_resume_without_checkpoint_is_refused(framework, data_dir, tmp_path):
    with pytest.raises(UserError, match="no checkpoint"):
        train(framework, data_dir, str(tmp_path), "--resume")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("framework", sorted(SCRIPTS))
@pytest.mark.parametrize("args, message", [
    (["--device", "gpu"], "--device gpu"),
    (["--data_dir", "no/such/dir"], "sh data/download.sh"),
    (["--batch_size", "0"], "--batch_size"),
    (["--batching", "words"], "--batching"),
    (["--metrics_file", "."], "--metrics_file"),
    (["--learning_rate", "inf"], "--learning_rate"),
    (["--learning_rate", "nan"], "--learning_rate"),
    (["--resume", "--overwrite"], "--overwrite"),
])
def test_user_errors_end_with_one_line(framework, args, message, data_dir, tmp_path, capsys):
    """Through the command line's entry in this process: a mistake in a flag
    or an environment ends in one error line and a non-zero exit."""
    defaults = {"--data_dir": data_dir, "--save_dir": str(tmp_path / "ck"),
                "--metrics_file": str(tmp_path / "m.jsonl")}
    for flag, value in defaults.items():
        if flag not in args:
            args = [*args, flag, value]
    code, last = cli_error(capsys, SCRIPTS[framework].main, args)
    assert code != 0
    assert last.startswith("error:") and message in last, last
    assert os.listdir(tmp_path) == []  # nothing half-written


@pytest.mark.parametrize("framework", TODAYS)
def test_todays_scripts_refuse_a_missing_gpu_in_one_line(framework, data_dir, tmp_path):
    one_line_error(run_command(f"rnnlm_{framework}.py", "--data_dir", data_dir, "--save_dir",
                               tmp_path / "ck", "--device", "gpu"), "^error: --device gpu")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("framework", sorted(SCRIPTS))
def test_missing_split_points_at_download(framework, tmp_path):
    (tmp_path / "ptb.train.txt").write_text(" a b\n")
    with pytest.raises(UserError, match=r"ptb\.valid\.txt not found.*download\.sh"):
        SCRIPTS[framework].main(["--data_dir", str(tmp_path), "--device", "cpu"])


@pytest.mark.parametrize("framework", [*sorted(SCRIPTS), *TODAYS])
def test_every_script_learns_by_buckets(framework, data_dir, tmp_path):
    """Sentences grouped by length: the model learns, nearly nothing is
    padded (Fluid pads nothing), and every test target is scored. Each
    script's eager step: a compiled one pads each batch up to a multiple of
    a few steps (COMPILED_LENGTH_MULTIPLE), which bench.py counts."""
    *epochs, test = train(framework, data_dir, str(tmp_path), "--model", "test", *TINY_MODEL,
                          "--batching", "buckets", "--epochs", "1", *EAGER_STEP)
    texts = {split: corpus.read_sentences(corpus.split_path(data_dir, split))
             for split in ("train", "valid", "test")}
    assert epochs[-1]["batching"] == "buckets"
    assert epochs[-1]["valid_ppl"] < 0.5 * unigram_perplexity(texts["train"], texts["valid"])
    assert (epochs[-1]["padding"] == 0) if framework == "fluid" else (epochs[-1]["padding"] < 0.05)
    assert test["test_words"] == batching.count_targets(texts["test"])
