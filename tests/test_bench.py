"""bench.py computes what it says; no speed is asserted here."""
import contextlib
import errno
import json
import math
import subprocess
import sys
import types

import pytest

import bench
from benchmarks import speed, workers
from config import PRESETS, Config
from errors import UserError
from ptb import corpus
from tests.conftest import cli_error, run_command
from tests.corpora import write_grammar_corpus, write_split
from training.progress import EpochStats


def test_flops_per_word_counts_every_product():
    config = Config(**PRESETS["small"], vocab_size=10000)
    # Per layer 2 products (input, recurrent) of 200 x 800, 2 FLOPs each;
    # softmax 200 x 10000; backward twice the forward.
    forward = 2 * (2 * 2 * 200 * 800) + 2 * 200 * 10000
    assert speed.flops_per_word(config) == {"train": 3 * forward, "eval": forward}
    shapes = speed.model_shapes(config)
    assert sum(flops for *_, flops in shapes) == forward
    assert [(m, k, n) for m, k, n, _ in shapes] == [(400, 200, 800), (20, 200, 800),
                                                    (400, 200, 10000)]


def test_matmul_rate_weighs_each_shape_by_its_flops():
    config = Config(**PRESETS["small"], vocab_size=10000)
    rates = {(400, 200, 800): 100e9, (20, 200, 800): 25e9, (400, 200, 10000): 100e9}

    def timer(m, k, n):
        return lambda: speed.MATMUL_REPEATS * 2 * m * k * n / rates[(m, k, n)]
    # The recurrent products are 640k of 5.28M FLOPs a word, at a quarter the rate.
    total = 5.28e6
    expected = total / ((total - 640e3) / 100e9 + 640e3 / 25e9)
    assert speed.matmul_rate(timer, config) == pytest.approx(expected)


def test_the_all_reduce_probe_sums_the_gradients_of_the_model_itself():
    """bench.py --workers times the all-reduce of tensors of these shapes:
    they are the shapes of the v1 script's trainable variables, whose
    gradients its workers sum."""
    import rnnlm_tensorflow
    config = Config(**{**PRESETS["test"], "num_layers": 2, "vocab_size": 13})
    graph = rnnlm_tensorflow.build_trainer(config, "/CPU:0").graph
    with graph.graph.as_default():
        variables = sorted(variable.shape.as_list() for variable in rnnlm_tensorflow.tf.trainable_variables())
    shapes = workers.gradient_shapes(config.hidden_size, config.num_layers, config.vocab_size)
    assert sorted(shapes.values()) == variables
    assert workers.gradient_bytes(config, config.vocab_size) == 4 * sum(map(math.prod, variables))


def test_a_step_of_two_workers_waits_for_the_longer_part(tmp_path):
    """Each worker trims its half of a global batch to its own longest
    sentence, and both wait for the longer: by sentences the step computes
    over more steps than one worker's batch has; by chunks over as many."""
    for split, lines in (("train", 400), ("valid", 4), ("test", 4)):
        write_split(tmp_path, split, [" ".join(["word"] * (1 + line % 30))
                                      for line in range(lines)])
    data = corpus.load_corpus(str(tmp_path))
    config = Config(**PRESETS["test"], batch_size=2)
    # The longest of 4 sentences of 1-30 words against the longest of 2: about 1.2x.
    assert workers.slowest_part("sentences", config, data, 2) == pytest.approx(1.2, abs=0.05)
    assert workers.slowest_part("chunks", config, data, 2) == pytest.approx(1, abs=0.02)


def forking_run(command, **options):
    """subprocess.run for bench's measuring processes: each forked from the
    zygote of its framework, as the tests run the scripts (run_command)."""
    if command[0] == sys.executable:
        return run_command(*command[1:])
    return subprocess.run(command, **options)


def test_a_small_benchmark_writes_its_table(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(speed, "subprocess", types.SimpleNamespace(run=forking_run))
    data_dir = write_grammar_corpus(tmp_path / "data", train_lines=200)
    out = tmp_path / "bench.json"
    # --warmup 0: Fluid's LoD batches have no shapes either, so it warms up on none.
    bench.main(["--data_dir", str(data_dir), "--models", "test", "--warmup", "0",
                "--batches", "2", "--repeats", "1", "--out", str(out),
                "--runs", "fluid/sentences,paddle/chunks,tensorflow/chunks,keras/sentences",
                "--modes", "idiom"])
    results = json.loads(out.read_text())["results"]
    assert [(r["framework"], r["batching"]) for r in results] == [
        ("fluid", "sentences"), ("paddle", "chunks"), ("tensorflow", "chunks"),
        ("keras", "sentences")]
    for r in results:
        assert r["train_words_per_sec"] > 0 and r["eval_words_per_sec"] > 0
        # Reading the batches alone is faster than training on them.
        assert r["pipeline_words_per_sec"] > r["train_words_per_sec"]
        # No framework trains faster than its own products allow.
        assert 0 < r["efficiency"] < 1
        assert 50 < r["peak_memory_mb"] < 4000
        # LoD batches and chunks feed no padding; padded sentences do.
        padded = (r["framework"], r["batching"]) == ("keras", "sentences")
        assert (0.05 < r["padding"] < 0.9) if padded else r["padding"] == 0
    assert all(r["mode"] == "idiom" for r in results)
    assert "| fluid | sentences | idiom | test |" in capsys.readouterr().out


def test_a_stop_keeps_what_was_measured(tmp_path, capsys, monkeypatch):
    """Ctrl-C in the second of three measurements: the first is written and
    shown, the file says where the benchmark stopped, and bench.py ends as
    Ctrl-C ends it."""
    measured = []

    def measure(framework, batching, mode, model, args):
        if measured:
            raise KeyboardInterrupt  # as subprocess.run raises it, the measuring child killed
        measured.append(failed_measurement(framework, batching, mode, model, args))
        return measured[0]
    monkeypatch.setattr(speed, "measure_in_subprocess", measure)
    data_dir = write_grammar_corpus(tmp_path / "data", train_lines=20)
    out = tmp_path / "bench.json"
    with pytest.raises(KeyboardInterrupt):
        bench.main(["--data_dir", str(data_dir), "--models", "test", "--out", str(out),
                    "--runs", "fluid/sentences,paddle/chunks,tensorflow/chunks", "--modes", "idiom"])
    written = json.loads(out.read_text())
    assert written["results"] == measured
    assert written["stopped"] == "stopped by Ctrl-C after 1 of 3 measurements"
    printed = capsys.readouterr().out
    assert "| fluid | sentences | idiom | test | failed: no output |" in printed
    assert printed.rstrip().endswith(f"written: {out} (stopped by Ctrl-C after 1 of 3 measurements)")


@pytest.mark.parametrize("flag", [["--models", "huge"], ["--runs", "fluid/words"],
                                  ["--profile", "--runs", "keras/chunks"]])
def test_bad_choices_are_refused_in_one_line(flag, capsys):
    with pytest.raises(SystemExit):
        bench.main(flag)
    assert capsys.readouterr().err.startswith("error:")


def test_the_time_outside_the_framework_call_is_the_rest_of_run_epoch(monkeypatch):
    """A stand-in script whose batches take 3 clock ticks inside its stop hold
    (the framework call) and 1 outside (feeding, progress)."""
    clock = iter(range(1, 1000))
    now = {"tick": 0}

    def tick():
        now["tick"] = next(clock)
        return now["tick"]
    monkeypatch.setattr(speed.time, "perf_counter", lambda: now["tick"])

    @contextlib.contextmanager
    def hold():
        yield

    def run_epoch(trainer, batches, label, training):
        start = now["tick"]
        for _ in getattr(script, "input_pipeline", iter)(batches):
            tick()  # outside: feeding
            with script.stops_deferred():
                for _ in range(3):
                    tick()
        return EpochStats(0.0, 10 * len(batches), 10 * len(batches), now["tick"] - start)
    script = types.SimpleNamespace(stops_deferred=hold, run_epoch=run_epoch)
    run = speed.script_runner(script, trainer=None)
    timing = run([[()]] * 5, True)
    assert timing == speed.Timing(words_per_sec=10 / 4, outside_seconds=1, outside_share=0.25)

    # With an input pipeline that takes 6 ticks to start (once an epoch),
    # the same Timing: its start-up is not the batches' time.
    def input_pipeline(batches):
        for _ in range(6):
            tick()
        yield from batches

    script = types.SimpleNamespace(stops_deferred=hold, run_epoch=run_epoch,
                                   input_pipeline=input_pipeline)
    run = speed.script_runner(script, trainer=None)
    assert run([[()]] * 5, True) == timing


@pytest.mark.parametrize("flags, message", [
    (["--reference", "jax", "x"], "--reference: unknown reference 'jax'"),
    (["--reference", "tf-tutorial", ".", "--models", "test"],
     "--reference tf-tutorial: the tutorial has the presets small, medium, large"),
    (["--reference", "pytorch", "python", "--workers", "2"],
     "--reference: times one process's training; leave out --workers"),
])
def test_bad_references_are_refused_in_one_line(flags, message, capsys):
    with pytest.raises(SystemExit):
        bench.main(flags)
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("name, path, message", [
    ("tf-tutorial", "clone", "is not a git clone with commit 812bc2e7"),
    ("pytorch", "no-such-python", "no-such-python is not a Python that imports torch"),
])
def test_a_reference_that_is_not_there_is_refused_before_measuring(tmp_path, name, path,
                                                                     message):
    data_dir = write_grammar_corpus(tmp_path / "data", train_lines=20)
    with pytest.raises(UserError, match=message):
        bench.main(["--data_dir", str(data_dir), "--reference", name, str(tmp_path / path),
                    "--out", str(tmp_path / "bench.json")])
    assert not (tmp_path / "bench.json").exists()


def test_onnx_operators_are_counted_inside_loops_too(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    from benchmarks import scoring
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]),
         helper.make_node("MatMul", ["x", "x"], ["y"]), helper.make_node("Tanh", ["y"], ["x_out"])],
        "body", [helper.make_tensor_value_info(name, kind, shape) for name, kind, shape in (
            ("i", TensorProto.INT64, []), ("cond_in", TensorProto.BOOL, []),
            ("x", TensorProto.FLOAT, [2, 2]))],
        [helper.make_tensor_value_info(name, kind, shape) for name, kind, shape in (
            ("cond_out", TensorProto.BOOL, []), ("x_out", TensorProto.FLOAT, [2, 2]))])
    graph = helper.make_graph(
        [helper.make_node("Loop", ["steps", "", "x0"], ["x1"], body=body),
         helper.make_node("Tanh", ["x1"], ["out"])],
        "outer", [helper.make_tensor_value_info("steps", TensorProto.INT64, []),
                  helper.make_tensor_value_info("x0", TensorProto.FLOAT, [2, 2])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [2, 2])])
    onnx.save(helper.make_model(graph), tmp_path / "model.onnx")
    counts = scoring.operator_counts(tmp_path / "model.onnx")
    assert counts == {"Tanh": 2, "Loop": 1, "Identity": 1, "MatMul": 1}


def failed_measurement(framework, batching, mode, model, args):
    return dict(framework=framework, batching=batching, mode=mode, model=model, error="no output")


def test_results_that_cannot_be_written_are_one_line(tmp_path, capsys, monkeypatch):
    def disk_full(path, text):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(speed, "measure_in_subprocess", failed_measurement)
    monkeypatch.setattr(speed, "replace_file", disk_full)
    data_dir = write_grammar_corpus(tmp_path / "data", train_lines=20)
    argv = ["--data_dir", str(data_dir), "--models", "test", "--out", str(tmp_path / "b.json"),
            "--runs", "fluid/sentences", "--modes", "idiom"]
    assert cli_error(capsys, bench.main, argv) == (
        1, f"error: --out {tmp_path / 'b.json'}: cannot write it (No space left on device); free "
           "the space, or give another --out")


@pytest.mark.parametrize("out, error", [
    ("", "--out {tmp_path}: cannot write it, a folder; give a writable file path"),
    ("/proc/bench.json", "--out /proc/bench.json: cannot write there (No such file or "
                         "directory); give a writable file path"),
    ("{tmp_path}/data/ptb.test.txt", "--out {tmp_path}/data/ptb.test.txt holds something other "
                                     "than bench.py's results, and would be replaced; give a new "
                                     "file, or an earlier one")],
    ids=["a folder", "in /proc", "a data split"])
def test_an_out_that_cannot_be_written_is_refused_before_measuring(out, error, tmp_path, capsys,
                                                                   monkeypatch):
    measured = []
    monkeypatch.setattr(speed, "measure_in_subprocess", lambda *planned: measured.append(planned))
    data_dir = write_grammar_corpus(tmp_path / "data", train_lines=20)
    argv = ["--data_dir", str(data_dir), "--models", "test",
            "--out", out.format(tmp_path=tmp_path) if out else str(tmp_path),
            "--runs", "fluid/sentences", "--modes", "idiom"]
    assert cli_error(capsys, bench.main, argv) == (1, "error: " + error.format(tmp_path=tmp_path))
    assert measured == []


@pytest.mark.parametrize("flag", [["--repeats", "0"], ["--batches", "0"], ["--warmup", "-1"],
                                  ["--threads", "0"]])
def test_counts_that_measure_nothing_are_refused_in_one_line(flag, capsys):
    with pytest.raises(SystemExit) as stop:
        bench.main(flag)
    assert stop.value.code == 2
    assert capsys.readouterr().err.startswith(f"error: argument {flag[0]}:")
