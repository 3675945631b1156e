"""The experiments reproduce what the docs say they show."""
import json
import os
import subprocess
import sys

import pytest

from experiments import compilations, matmul_rates
from experiments.children import measured_apart
from experiments.paddle_lstm_float32_gradient import gradient_check
from tests.conftest import REPO, last_line, run_command, succeeded


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


def test_a_measurement_that_fails_apart_ends_the_experiment_in_one_line(tmp_path):
    """compilations.py, keras_page_faults.py and matmul_rates.py measure
    in processes of their own: a child that fails, or a --torch Python that
    is not there, was a CalledProcessError or FileNotFoundError traceback."""
    failing = [sys.executable, "-c", "import sys; print('error: no data here'); sys.exit(1)"]
    with pytest.raises(SystemExit) as ended:
        measured_apart(failing, "the numpy row")
    assert ended.value.code == "error: the numpy row failed: no data here"
    with pytest.raises(SystemExit) as ended:
        measured_apart([str(tmp_path / "python")], "the torch row")
    assert ended.value.code == (f"error: the torch row: cannot run {tmp_path / 'python'} "
                                "(No such file or directory)")


def test_the_experiments_refuse_bad_flags_in_one_line(tmp_path, capsys):
    for main, argv in ((compilations.main, ["--data_dir", str(tmp_path / "none")]),
                       (matmul_rates.main, ["--threads", "0"])):
        with pytest.raises(SystemExit) as ended:
            main(argv)
        assert ended.value.code == 2
        assert capsys.readouterr().err.count("\n") == 1


def test_the_pytorch_reference_says_where_torch_is_missing(tmp_path):
    """torch is no requirement: a Python without it gets one line, not an
    ImportError (a torch that cannot be imported stands in for none)."""
    (tmp_path / "torch.py").write_text("raise ModuleNotFoundError(\"No module named 'torch'\")\n")
    result = subprocess.run([sys.executable, "experiments/pytorch_reference.py"], cwd=REPO,
                            capture_output=True, text=True, timeout=60,
                            env=dict(os.environ, PYTHONPATH=str(tmp_path)))
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {sys.executable} has no torch;")
    assert result.stderr.count("\n") == 1
