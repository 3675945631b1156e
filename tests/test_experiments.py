"""The experiments reproduce what the docs say they show."""
import json

import pytest

from experiments import matmul_rates
from experiments.paddle_lstm_float32_gradient import gradient_check
from tests.conftest import last_line, run_command, succeeded


@pytest.mark.parametrize("hidden_size, dtype, correct", [
    (8, "float32", False),   # the AVX path: the defect rnnlm_fluid.py works around
    (8, "float64", True),    # the workaround
    (9, "float32", True),    # the scalar path
])
def test_lstm_float32_gradient_is_wrong_only_on_the_avx_path(hidden_size, dtype, correct):
    analytic, numeric = gradient_check(hidden_size, dtype)
    assert (analytic == pytest.approx(numeric, rel=1e-2)) == correct, (analytic, numeric)


def test_matmul_rates_times_each_model_shape_and_names_the_libraries():
    row = matmul_rates.measure("numpy", "test", threads=1)
    assert list(row["rates"]) == ["input projection", "recurrent step", "softmax"]
    assert all(rate > 0 for rate in row["rates"].values())
    assert any("openblas" in name for name in row["libraries"])  # numpy's BLAS


def test_paddle_compiles_at_most_once_a_shape(grammar_corpus):
    """paddle.jit.to_static, by buckets: at most one program for each shape
    of batch (training and valid apart; its dynamic shapes can cover
    several), and the second epoch, shuffled otherwise, no more than its
    new shapes (experiments/compilations.py, as docs/performance.md runs it)."""
    counts = json.loads(last_line(succeeded(run_command(
        "experiments/compilations.py", "--one", "paddle", "buckets", "--model", "test",
        "--data_dir", grammar_corpus(300), "--epochs", "2"))))
    assert [row["epoch"] for row in counts] == [1, 2]
    first, second = counts
    assert 1 <= first["compilations"] <= first["shapes"]
    assert second["compilations"] - first["compilations"] <= second["shapes"] - first["shapes"]
