"""rnnlm_paddle.py and rnnlm_keras.py end to end, each run a process of its
own: Paddle's dynamic graph cannot share one with the legacy graph, nor
Keras 3 with the v1 graph, which the other tests load."""
import json
import os
import subprocess
import sys

import pytest

from ptb import corpus
from tests.corpora import unigram_perplexity, write_grammar_corpus

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY_MODEL = ["--num_layers", "1", "--hidden_size", "32", "--batch_size", "10"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return str(write_grammar_corpus(tmp_path_factory.mktemp("grammar"), train_lines=1000))


def train(script, data_dir, folder, *flags):
    """rnnlm_SCRIPT.py in a subprocess; return its metrics lines."""
    metrics_file = os.path.join(folder, "metrics.jsonl")
    result = subprocess.run(
        [sys.executable, f"rnnlm_{script}.py", "--data_dir", data_dir, "--device", "cpu",
         "--save_dir", os.path.join(folder, "ck"), "--metrics_file", metrics_file,
         *TINY_MODEL, *flags], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    with open(metrics_file, encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


@pytest.fixture(scope="module", ids="-".join,
                params=[(script, batching) for script in ("keras", "paddle")
                        for batching in ("sentences", "chunks")])
def five_epochs(request, data_dir, tmp_path_factory):
    """(script, batching, metrics) of one five-epoch run, shared by the tests below."""
    script, batching = request.param
    folder = str(tmp_path_factory.mktemp(f"{script}-{batching}"))
    return script, batching, train(script, data_dir, folder, "--epochs", "5",
                                   "--batching", batching)


def test_model_learns_far_below_unigram(five_epochs, data_dir):
    *_, metrics = five_epochs
    texts = {split: corpus.read_sentences(corpus.split_path(data_dir, split))
             for split in ("train", "valid")}
    unigram = unigram_perplexity(texts["train"], texts["valid"])
    assert metrics[-2]["valid_ppl"] < 0.6 * unigram, (metrics, unigram)
    assert metrics[-1]["test_ppl"] < 0.6 * unigram


def test_metrics_follow_the_contract(five_epochs, data_dir):
    script, batching, metrics = five_epochs
    *epochs, last = metrics
    assert [line["epoch"] for line in epochs] == [1, 2, 3, 4, 5]
    assert {(line["framework"], line["batching"]) for line in epochs} == {(script, batching)}
    assert [line["learning_rate"] for line in epochs] == [1.0, 1.0, 1.0, 1.0, 0.5]
    # Padded sentences compute steps that score nothing; chunks do not.
    assert all((line["padding"] > 0.05) == (batching == "sentences") for line in epochs)
    test_split = corpus.read_sentences(corpus.split_path(data_dir, "test"))
    assert last["test_words"] == sum(len(words) + 1 for words in test_split)  # W + L
    assert (last["epochs"], last["interrupted"]) == (5, False)


def test_resume_continues_and_reproduces(five_epochs, data_dir, tmp_path):
    script, batching, straight = five_epochs
    train(script, data_dir, str(tmp_path), "--epochs", "2", "--batching", batching)
    resumed = train(script, data_dir, str(tmp_path), "--epochs", "5", "--batching", batching,
                    "--resume")
    assert [line.get("epoch") for line in resumed] == [1, 2, 3, 4, 5, None]
    for mine, theirs in zip(resumed[2:], straight[2:]):
        for key in ("train_ppl", "valid_ppl", "test_ppl"):
            if key in theirs:
                assert mine[key] == pytest.approx(theirs[key], rel=1e-4), key
