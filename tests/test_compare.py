"""compare.py: the report, a failed or stopped run, signals, and the flags it owns."""
import os
import re
import signal
import subprocess
import sys
import time

import pytest

import compare
from config import BATCHINGS, FRAMEWORKS
from errors import UserError
from tests.conftest import ON_ONE_CPU, REPO, read_scalars
from tests.readme_commands import FEWER_SCRIPTS
from training.errors import run_cli

TINY = ["--num_layers", "1", "--hidden_size", "16", "--batch_size", "10", "--epochs", "2",
        *ON_ONE_CPU]


@pytest.fixture(scope="module")
def data_dir(grammar_corpus):
    return grammar_corpus(200)


def table_lines(report):
    return [line for line in report.splitlines() if line.startswith("| ")][2:]  # no header


def readme_compare(readme_runs):
    """(its --out folder, its stdout) of README's compare.py command, which
    runs the scripts both ways, here two scripts with seed 1
    (tests/readme_commands.py)."""
    repo, runs = readme_runs
    (run,) = [run for run in runs if run["command"].startswith("python compare.py")]
    assert run["returncode"] == 0, run["stderr"][-2000:]
    return repo / "results" / "compare-small", run["stdout"]


def test_matrix_runs_every_script_both_ways_and_reports_them(readme_runs):
    """Each framework's two APIs side by side, whatever the order of --scripts."""
    out, printed = readme_compare(readme_runs)
    scripts = [name for name in FRAMEWORKS if name in FEWER_SCRIPTS.split(",")]
    runs = len(scripts) * len(BATCHINGS)
    report = (out / "comparison.md").read_text()
    assert report.startswith(f"# Side by side: {', '.join(scripts)}\n")
    rows = [line.split(" | ") for line in table_lines(report)]
    assert [row[:2] for row in rows] == [[f"| {framework}", batching] for framework in scripts
                                         for batching in BATCHINGS]
    assert all(row[2] == "1" for row in rows)  # epochs
    assert len({row[7] for row in rows}) == 1  # test words: the same W + L everywhere
    assert all(row[6].startswith("1: ") for row in rows)  # the best epoch, its test ppl
    assert "Every run scored the same" in report
    padding = {row[0][2:] + "/" + row[1]: row[-1] for row in rows}
    # LoD sentences feed no padding; Paddle 3's padded sentences do.
    assert padding["fluid/sentences"].startswith("0.0%")
    assert not padding["paddle/sentences"].startswith("0.0%")
    assert report.count(" --batching ") == runs and (out / "comparison.png").stat().st_size > 10_000
    assert table_lines(printed) == table_lines(report)
    # Each run's epoch and test lines, shown as it went; its checkpoints kept, and said so.
    assert [line.split()[:2] for line in printed.splitlines() if line.startswith("  epoch ")] == \
        [["epoch", "1/1"]] * runs
    assert len([line for line in printed.splitlines() if line.startswith("  test ppl ")]) == runs
    assert len(os.listdir(out / "checkpoints")) == runs
    assert re.search(r"checkpoints \(last and best epoch\) in \S+, [\d.]+ MB; --reports_only",
                     printed.splitlines()[-1])


def test_seeds_give_each_row_its_mean_and_range(data_dir, tmp_path, capsys):
    out, logdir = tmp_path / "out", tmp_path / "runs"
    compare.main(["--scripts", "fluid", "--batchings", "chunks,sentences", "--seeds", "1,2",
                  "--data_dir", data_dir, "--out", str(out), "--reports_only", *TINY,
                  "--logdir", str(logdir)])
    assert os.listdir(out / "checkpoints") == []  # --reports_only
    report = (out / "comparison.md").read_text()
    rows = [line.split(" | ") for line in table_lines(report)]
    batchings = ["sentences", "chunks"]  # in BATCHINGS' order
    assert [row[:3] for row in rows] == [["| fluid", batching, "2"] for batching in batchings]
    assert rows[0][-1] == "0.0% (0.0%-0.0%) |"  # Fluid pads no sentence, whatever the seed
    tests = {}
    for batching, row in zip(batchings, rows):
        ppls = [compare.read_metrics(str(out / f"fluid-{batching}-seed{seed}.jsonl"))[1]
                ["test_ppl"] for seed in (1, 2)]
        assert len(set(ppls)) == 2  # each seed its own run
        # --logdir: each run's TensorBoard events in a subfolder named after it.
        assert [read_scalars(logdir / f"fluid-{batching}-seed{seed}")["test/ppl"][-1][1]
                for seed in (1, 2)] == pytest.approx(ppls, rel=1e-6)
        tests[batching] = (min(ppls), max(ppls))
        mean, low, high = (float(text) for text in
                           row[5].replace(" (", " ").replace("-", " ").rstrip(")").split())
        assert (low, high) == (round(min(ppls), 2), round(max(ppls), 2))
        assert mean == round(sum(ppls) / 2, 2)
    kind = "apart" if compare.apart(tests["sentences"], tests["chunks"]) else "within the spread"
    assert f"by batching, sentences and chunks are {kind} for fluid." in report
    assert report.count(" --seed ") == 4 and "Seeds 1, 2: each number is the mean" in report
    assert len(os.listdir(logdir)) == 4
    printed = capsys.readouterr().out
    assert "Test perplexity over seeds 1, 2" in printed
    compare.claim_report_folder(str(out))  # an earlier compare.py's folder can be its --out again
    assert printed.splitlines()[-1].endswith("each run's log and metrics "
                                             f"({compare.folder_size(out) / 1e6:.1f} MB in all)")


@pytest.mark.parametrize("flags, message", [
    (["--scripts", "fluid,pytorch"], "argument --scripts: unknown script 'pytorch'"),
    (["--scripts", "keras,"], "argument --scripts: unknown script ''"),
    (["--batchings", "sentences,words"], "argument --batchings: unknown batching 'words'"),
    (["--matrix", "--batchings", "buckets"], "argument --batchings: not allowed with argument --matrix"),
])
def test_unknown_scripts_and_batchings_are_refused_in_one_line(flags, message, data_dir, tmp_path,
                                                               capsys):
    with pytest.raises(SystemExit):
        compare.main([*flags, "--data_dir", data_dir, "--out", str(tmp_path / "o")])
    assert capsys.readouterr().err.startswith(f"error: {message}")
    assert not os.path.exists(tmp_path / "o")


def test_a_failed_run_is_reported_and_the_others_complete(data_dir, tmp_path, monkeypatch):
    broken = tmp_path / "broken.py"
    broken.write_text("import sys\nprint('working...')\n"
                      "print('error: something went wrong', file=sys.stderr)\nsys.exit(1)\n")
    monkeypatch.setitem(compare.SCRIPTS, "fluid", str(broken))
    out = tmp_path / "out"
    # The report is written for every run, and then compare.py fails.
    with pytest.raises(UserError, match="fluid/sentences seed 1 did not finish"):
        compare.main(["--scripts", "fluid,paddle", "--data_dir", data_dir, "--out", str(out),
                      *TINY])
    fluid, paddle = table_lines((out / "comparison.md").read_text())
    assert "| fluid | sentences | failed | error: something went wrong |" in fluid
    assert "| paddle | sentences | 2 |" in paddle


def test_a_run_that_stopped_early_is_shown_with_its_epochs(data_dir, tmp_path, monkeypatch):
    stopped = tmp_path / "stopped.py"
    # What a training script leaves when SIGTERM stops it in its second epoch.
    stopped.write_text(
        "import json, sys\n"
        "path = sys.argv[sys.argv.index('--metrics_file') + 1]\n"
        "lines = [dict(epoch=1, train_ppl=50.0, valid_ppl=60.0, words_per_sec=900.0,\n"
        "              seconds=2.0, padding=0.0),\n"
        "         dict(test_ppl=70.0, test_words=389, epochs=1, best_epoch=1,\n"
        "              best_test_ppl=69.0, interrupted=True, peak_memory_mb=300.0)]\n"
        "open(path, 'w').write(''.join(json.dumps(line) + '\\n' for line in lines))\n"
        "print('stopped by SIGTERM', file=sys.stderr)\n"
        "sys.exit(143)\n")
    monkeypatch.setitem(compare.SCRIPTS, "fluid", str(stopped))
    out = tmp_path / "out"
    with pytest.raises(UserError, match="fluid/sentences seed 1 did not finish"):
        compare.main(["--scripts", "fluid,paddle", "--data_dir", data_dir, "--out", str(out),
                      *TINY])
    report = (out / "comparison.md").read_text()
    fluid, _ = table_lines(report)
    assert fluid.startswith("| fluid | sentences | stopped after 1 | 50.00 | 60.00 | 70.00 | 1: 69.00 "
                            "| 389 |")
    assert "- fluid/sentences seed 1: stopped, stopped by SIGTERM" in report


def test_sigterm_to_compare_stops_its_running_script(data_dir, tmp_path):
    out = tmp_path / "out"
    command = [sys.executable, "compare.py", "--data_dir", data_dir, "--out", str(out),
               "--model", "test", "--epochs", "100000"]
    run = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    log = out / "fluid-sentences-seed1.log"
    while "epoch 1/" not in (log.read_text() if log.exists() else ""):
        assert run.poll() is None, run.stderr.read()
        time.sleep(0.2)
    run.send_signal(signal.SIGTERM)
    assert run.wait(timeout=60) == 143
    assert run.stderr.read().strip().splitlines()[-1] == "stopped by SIGTERM"
    assert "stopped by SIGTERM" in log.read_text()  # the script got it and stopped
    assert not [pid for pid in os.listdir("/proc") if pid.isdigit() and str(out).encode()
                in read_proc_cmdline(pid)]  # nothing left running
    report = (out / "comparison.md").read_text()
    assert "| fluid | sentences | stopped after " in report and "| tensorflow |" not in report


def test_ctrl_c_before_the_first_epoch_reports_the_run_as_stopped(data_dir, tmp_path):
    """Ctrl-C while the running script still loads its framework: the
    script ends quietly (compat/loading.py), and the report shows its run
    stopped, says no test was reached (not that the tokens scored differ),
    and draws no legend for the curves there are none of."""
    out = tmp_path / "out"
    command = [sys.executable, "compare.py", "--data_dir", data_dir, "--out", str(out), *TINY]
    run = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert run.stdout.readline().startswith("running fluid-sentences-seed1: ")
    while not subprocess.run(["pgrep", "-P", str(run.pid)], capture_output=True).stdout:
        time.sleep(0.01)
    run.send_signal(signal.SIGINT)  # the script has just started: Paddle loads for a second
    stdout, stderr = run.communicate(timeout=60)
    assert (run.returncode, stderr) == (130, "stopped by Ctrl-C\n")
    report = (out / "comparison.md").read_text()
    assert table_lines(report) == ["| fluid | sentences | stopped after 0 |" + "  |" * 9]
    assert "No run reached its test." in report and "Warning" not in report + stdout
    assert "- fluid/sentences seed 1: stopped, stopped by Ctrl-C" in report


def test_a_report_that_cannot_be_written_is_one_line(data_dir, tmp_path, monkeypatch):
    def full_disk(*args):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(compare, "run_all", lambda planned, script_flags, args: ([], None))
    monkeypatch.setattr(compare, "write_report", full_disk)
    out = tmp_path / "out"
    with pytest.raises(UserError, match=rf"the report in --out {out}: cannot write it \(No space "
                                        r"left on device\); each run's log and metrics are there"):
        compare.main(["--data_dir", data_dir, "--out", str(out), *TINY])


def test_a_logdir_that_no_run_could_use_is_refused_before_any_run(data_dir, tmp_path,
                                                                  monkeypatch):
    """Not in each run, as each run's own failure, and before --out is made."""
    ran = []
    monkeypatch.setattr(compare, "run_all", lambda *given: ran.append(given) or ([], None))
    with pytest.raises(UserError, match=r"--logdir /proc/runs: cannot write there"):
        compare.main(["--data_dir", data_dir, "--out", str(tmp_path / "o"), "--logdir",
                      "/proc/runs", *TINY])
    # Where each run would put its event files into its own checkpoint folder.
    with pytest.raises(UserError, match=r"--logdir .*o/checkpoints is inside --out's checkpoints"):
        compare.main(["--data_dir", data_dir, "--out", str(tmp_path / "o"), "--logdir",
                      str(tmp_path / "o" / "checkpoints"), *TINY])
    assert ran == [] and os.listdir(tmp_path) == []


def read_proc_cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read()
    except OSError:  # ended meanwhile
        return b""


@pytest.mark.parametrize("flag", ["--batching", "--metrics_file", "--save_dir", "--resume",
                                  "--overwrite"])
def test_flags_compare_sets_itself_are_refused(flag, data_dir, tmp_path):
    with pytest.raises(UserError, match=flag):
        compare.main(["--data_dir", data_dir, "--out", str(tmp_path / "o"), flag, "x"])
    assert not os.path.exists(tmp_path / "o")


def test_an_out_folder_of_other_files_is_refused_untouched(data_dir, tmp_path, capsys):
    """--out follows every command's rule: new or empty, or compare.py's own."""
    (tmp_path / "notes.txt").write_text("the user's")
    with pytest.raises(SystemExit, match="1"):
        run_cli(compare.main, ["--data_dir", data_dir, "--out", str(tmp_path), *TINY])
    assert capsys.readouterr().err.strip() == (
        f"error: --out {tmp_path} holds files that are not compare.py's (notes.txt); "
        "give a new or empty folder as --out")
    assert os.listdir(tmp_path) == ["notes.txt"]


def test_missing_data_stops_before_any_run(tmp_path):
    with pytest.raises(UserError, match="download.sh"):
        compare.main(["--data_dir", str(tmp_path), "--out", str(tmp_path / "o")])
    assert not os.path.exists(tmp_path / "o")


def test_seeds_and_seed_together_are_refused(data_dir, tmp_path):
    with pytest.raises(UserError, match="--seed and --seeds"):
        compare.main(["--seeds", "1,2", "--seed", "3", "--data_dir", data_dir,
                      "--out", str(tmp_path / "o")])
    assert not os.path.exists(tmp_path / "o")


@pytest.mark.parametrize("seeds", ["1,x", "1,1", "", "0,1", "1,-2"])
def test_seeds_that_are_not_distinct_seeds_are_refused(seeds, data_dir, tmp_path, capsys):
    with pytest.raises(SystemExit):
        compare.main(["--seeds", seeds, "--data_dir", data_dir, "--out", str(tmp_path / "o")])
    assert capsys.readouterr().err.startswith("error: argument --seeds:")


def finished(framework, batching, *test_ppls):
    return [dict(framework=framework, batching=batching, status="done", test={"test_ppl": ppl})
            for ppl in test_ppls]


def test_rows_that_differ_in_framework_and_batching_still_get_a_verdict():
    """compare.py's defaults, fluid by sentences against tensorflow by
    chunks: whether they are apart, and that two things differ."""
    note = compare.spread_note(finished("fluid", "sentences", 150, 152)
                               + finished("tensorflow", "chunks", 140, 145), [1, 2])
    assert "no two rows to compare" not in note
    assert ("tensorflow by chunks and fluid by sentences are apart (tensorflow lower), with "
            "framework and batching both different") in note
    overlapping = compare.spread_note(finished("fluid", "sentences", 150, 152)
                                      + finished("tensorflow", "chunks", 145, 151), [1, 2])
    assert "fluid by sentences are within the spread, with framework" in overlapping
    # Rows that share a framework or a batching are compared as before, not across.
    matrix = compare.spread_note(finished("fluid", "sentences", 150, 152)
                                 + finished("fluid", "chunks", 140, 145)
                                 + finished("tensorflow", "chunks", 145, 151), [1, 2])
    assert "both different" not in matrix and "by batching, sentences and chunks" in matrix
