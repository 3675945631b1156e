"""The experiments reproduce what the docs say they show."""
import pytest

from experiments import matmul_rates
from experiments.paddle_lstm_float32_gradient import gradient_check


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
