"""compare.py: the report, a failed run, and the flags it owns."""
import os

import pytest

import compare
from tests.corpora import write_grammar_corpus
from training.errors import UserError

TINY = ["--num_layers", "1", "--hidden_size", "16", "--batch_size", "10", "--epochs", "2",
        "--device", "cpu"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return str(write_grammar_corpus(tmp_path_factory.mktemp("grammar"), train_lines=200))


def table_lines(report):
    return [line for line in report.splitlines() if line.startswith("| ")][2:]  # no header


def test_matrix_runs_all_four_and_reports_them(data_dir, tmp_path, capsys):
    out = tmp_path / "out"
    compare.main(["--matrix", "--data_dir", data_dir, "--out", str(out), *TINY])
    report = (out / "comparison.md").read_text()
    rows = [line.split(" | ") for line in table_lines(report)]
    assert [row[:2] for row in rows] == [["| fluid", "sentences"], ["| fluid", "chunks"],
                                         ["| tensorflow", "sentences"], ["| tensorflow", "chunks"]]
    assert all(row[2] == "2" for row in rows)  # epochs
    assert len({row[6] for row in rows}) == 1  # test words: the same W + L everywhere
    assert "Every run scored the same" in report
    padding = {row[0][2:] + "/" + row[1]: row[-1] for row in rows}
    assert padding["tensorflow/sentences"] != "0.0% |" and padding["fluid/sentences"] == "0.0% |"
    assert report.count(" --batching ") == 4 and (out / "comparison.png").stat().st_size > 10_000
    assert table_lines(capsys.readouterr().out) == table_lines(report)


def test_a_failed_run_is_reported_and_the_others_complete(data_dir, tmp_path, monkeypatch):
    broken = tmp_path / "broken.py"
    broken.write_text("import sys\nprint('working...')\n"
                      "print('error: something went wrong', file=sys.stderr)\nsys.exit(1)\n")
    monkeypatch.setitem(compare.SCRIPTS, "fluid", str(broken))
    out = tmp_path / "out"
    compare.main(["--data_dir", data_dir, "--out", str(out), *TINY])
    fluid, tensorflow = table_lines((out / "comparison.md").read_text())
    assert "| fluid | sentences | failed | error: something went wrong |" in fluid
    assert "| tensorflow | chunks | 2 |" in tensorflow


@pytest.mark.parametrize("flag", ["--batching", "--metrics_file", "--save_dir", "--resume"])
def test_flags_compare_sets_itself_are_refused(flag, data_dir, tmp_path):
    with pytest.raises(UserError, match=flag):
        compare.main(["--data_dir", data_dir, "--out", str(tmp_path / "o"), flag, "x"])
    assert not os.path.exists(tmp_path / "o")


def test_missing_data_stops_before_any_run(tmp_path):
    with pytest.raises(UserError, match="download.sh"):
        compare.main(["--data_dir", str(tmp_path), "--out", str(tmp_path / "o")])
    assert not os.path.exists(tmp_path / "o")
