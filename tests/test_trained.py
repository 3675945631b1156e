"""Using what was trained, for all four scripts at the `test` preset: the
best checkpoint, export.py and score.py (the same perplexity as the
training run's test evaluation), generate.py, and convert.py around the
whole circle of scripts. Every command runs as a user runs it, in a process
of its own."""
import contextlib
import importlib
import io
import json
import os
import pickle
import re
import shlex
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest

import export as export_py
import generate as generate_py
import score
from benchmarks import scoring
from config import FRAMEWORKS
from errors import UserError
from model_io import exported as exported_module
from model_io.exported import Exported
from tests.conftest import (
    IN_PROCESS,
    ON_ONE_CPU,
    REPO,
    TINY_MODEL,
    cli_error,
    made_once,
    one_line_error,
    read_metrics,
    run_command,
    succeeded,
    train_script,
)
from training import errors
from training.checkpoints import CheckpointFolder, best_epoch

# Scripts in the order convert.py carries a checkpoint around the circle.
CIRCLE = ["fluid", "tensorflow", "keras", "paddle", "fluid"]
run = run_command


def last_metrics(folder):
    return read_last_line(os.path.join(folder, "metrics.jsonl"))


def read_last_line(path):
    with open(path, encoding="utf-8") as lines:
        return json.loads(lines.read().splitlines()[-1])


@pytest.fixture(scope="session")
def data_dir(grammar_corpus):
    return grammar_corpus(300)


def train(framework, data_dir, folder, *more):
    succeeded(run(f"rnnlm_{framework}.py", "--model", "test", "--data_dir", data_dir,
                  *ON_ONE_CPU, "--save_dir", os.path.join(folder, "ck"),
                  "--metrics_file", os.path.join(folder, "metrics.jsonl"), *more))
    return os.path.join(folder, "ck")


@pytest.fixture(scope="session", params=FRAMEWORKS)
def two_epochs(request, trained):
    """(framework, run folder, checkpoint folder): two epochs of the script,
    batching as it does by default (tests/conftest.py)."""
    folder = trained(request.param)
    return request.param, folder, os.path.join(folder, "ck")

# ----------------------------------------------------------- best checkpoint


class FakeSaver:
    def __init__(self, folder):
        self.folder = folder

    def save(self, epoch, valid_ppl):
        with self.folder.writing(epoch, {"epoch": epoch, "valid_ppl": valid_ppl}) as path:
            with open(path + ".bin", "w") as out:
                out.write(str(epoch))


def test_the_folder_keeps_the_last_epoch_and_the_best(tmp_path):
    folder = CheckpointFolder(str(tmp_path / "ck"), {"framework": "x"}, {}, {"<eos>": 0})
    saver = FakeSaver(folder)
    with folder.claimed(resume=False, overwrite=False):
        for epoch, valid_ppl in enumerate([90.0, 80.0, 85.0, 81.0, None], start=1):
            saver.save(epoch, valid_ppl)
            kept = sorted(name for name in os.listdir(tmp_path / "ck") if name.startswith("epoch"))
            assert kept == sorted({f"epoch{epoch}", f"epoch{min(epoch, 2)}"})
    assert folder.best_epoch() == 2
    assert best_epoch([{"epoch": 1, "valid_ppl": None}]) is None


@pytest.fixture(scope="session")
def best_earlier(data_dir, tmp_path_factory):
    """(run folder, checkpoint, the test line of epoch 1 on its own) of a
    Fluid run whose best epoch (1) is not its last (2)."""
    def make(folder):
        first = train("fluid", data_dir, os.path.join(folder, "one"), "--epochs", "1")
        shutil.copytree(first, os.path.join(folder, "two", "ck"))
        marker = os.path.join(folder, "two", "ck", "checkpoint.json")
        with open(marker, encoding="utf-8") as text:
            saved = json.load(text)
        saved["history"][0]["valid_ppl"] = 1.0  # no second epoch can beat it
        with open(marker, "w", encoding="utf-8") as text:
            json.dump(saved, text)
        train("fluid", data_dir, os.path.join(folder, "two"), "--epochs", "2", "--resume")
    folder = str(made_once(tmp_path_factory, "best-earlier", make))
    return folder, os.path.join(folder, "two", "ck"), last_metrics(os.path.join(folder, "one"))


def test_a_run_reports_the_test_perplexity_of_its_best_epoch_too(best_earlier):
    """The best epoch is an earlier one: its checkpoint is kept and tested."""
    folder, checkpoint, one = best_earlier
    two = last_metrics(os.path.join(folder, "two"))
    assert (two["epochs"], two["best_epoch"], one["best_epoch"]) == (2, 1, 1)
    assert two["best_test_ppl"] == pytest.approx(one["test_ppl"], rel=1e-6)
    assert two["test_ppl"] != pytest.approx(one["test_ppl"], rel=1e-4)
    assert sorted(os.listdir(checkpoint)) == [".lock", "checkpoint.json", "epoch1", "epoch2",
                                              "vocab.txt"]

# ---------------------------------------------------------- export and score


def run_here_or_apart(script, framework, *args):
    """SCRIPT.py ARGS, which writes or runs `framework`'s model: in this
    process if that can run here (conftest.IN_PROCESS), else in its own; its stdout."""
    if framework not in IN_PROCESS:
        return succeeded(run(f"{script}.py", *args))
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        importlib.import_module(script).main(list(map(str, args)))
    return printed.getvalue()


@pytest.fixture(scope="session")
def exported(two_epochs, tmp_path_factory):
    """(framework, run folder, export folder) of each script's trained checkpoint."""
    framework, folder, checkpoint = two_epochs
    made = made_once(tmp_path_factory, f"{framework}-export", lambda into: run_here_or_apart(
        "export", framework, "--checkpoint", checkpoint, "--out", into / "export"))
    return framework, folder, made / "export"


def test_the_export_scores_the_test_split_as_training_did(exported, data_dir):
    framework, folder, export = exported
    meta = json.loads((export / "export.json").read_text())
    assert (meta["framework"], meta["epoch"]) == (framework, 2)
    assert not [name for name in os.listdir(export.parent) if name.endswith(".partial")]
    test_split = os.path.join(data_dir, "ptb.test.txt")
    scored = succeeded(run("score.py", export, test_split, "--per_sentence"))
    assert_scored_as_training_did(scored, folder, test_split, meta)


def assert_scored_as_training_did(scored, folder, test_split, meta):
    """score.py --per_sentence printed `scored`: the run's test perplexity,
    and each sentence's log-probability, which add up to it."""
    *lines, counts, last = scored.splitlines()
    ppl = float(re.match(r"perplexity (\S+) over", last)[1])
    assert ppl == pytest.approx(last_metrics(folder)["test_ppl"], rel=1e-4)
    # Each sentence on its own, from a zero state: as the evaluation of a
    # model batched by sentences, in file order.
    sentences = [line.split() for line in open(test_split, encoding="utf-8") if line.split()]
    assert [line.split("\t")[2].split() for line in lines] == sentences
    log_probs = [float(line.split("\t")[0]) for line in lines]
    assert all(log_prob < 0 for log_prob in log_probs)
    by_sentence = np.exp(-sum(log_probs) / sum(len(words) + 1 for words in sentences))
    if meta["config"]["batching"] == "sentences":
        assert by_sentence == pytest.approx(ppl, rel=1e-4)
    else:  # chunks carry the context across sentences: another, close number
        assert 0.5 * ppl < by_sentence < 1.5 * ppl


# ---------------------------------------------------------------------- ONNX


REFUSAL = "refusal.json"


def onnx_export(framework, checkpoint, tmp_path_factory):
    """The ONNX export folder of `framework`'s checkpoint, made once a
    session. Fluid's is refused (what export.py printed, and the folder
    after it, kept in REFUSAL beside it); then what the refusal says to do
    is done: its convert.py command, and export.py of what that wrote."""
    def make(into):
        source = checkpoint
        if framework == "fluid":
            source = shutil.copytree(checkpoint, into / "ck")
            refused = run("export.py", "--checkpoint", source, "--format", "onnx",
                          "--out", into / "onnx")
            (into / REFUSAL).write_text(json.dumps(dict(
                returncode=refused.returncode, stderr=refused.stderr, left=os.listdir(into))))
            advice = shlex.split(re.search(r"python (convert\.py .*), then", refused.stderr)[1])
            succeeded(run(*advice))
            source = advice[-1]
        succeeded(run("export.py", "--checkpoint", source, "--format", "onnx",
                      "--out", into / "onnx"))
    return made_once(tmp_path_factory, f"{framework}-onnx", make) / "onnx"


@pytest.fixture(scope="session")
def onnx_exported(two_epochs, tmp_path_factory):
    """(framework, run folder, ONNX export folder) of each script's trained checkpoint."""
    framework, folder, checkpoint = two_epochs
    return framework, folder, onnx_export(framework, checkpoint, tmp_path_factory)


def test_onnxruntime_alone_scores_the_onnx_export_as_training_did(onnx_exported, data_dir):
    framework, folder, export = onnx_exported
    meta = json.loads((export / "export.json").read_text())
    converter = "paddle2onnx" if framework in ("fluid", "paddle") else "tf2onnx"
    assert (meta["runtime"], meta["converter"].split()[0]) == ("onnxruntime", converter)
    assert sorted(os.listdir(export)) == ["export.json", "model.onnx", "vocab.txt"]
    test_split = os.path.join(data_dir, "ptb.test.txt")
    # -X importtime: every module the command imports, on stderr.
    result = run("-X", "importtime", "score.py", export, test_split, "--per_sentence")
    assert_scored_as_training_did(succeeded(result), folder, test_split, meta)
    assert "onnxruntime" in imported(result)
    assert not imported(result) & {"paddle", "tensorflow", "keras", "tf_keras"}


def imported(result):
    """The top-level packages a `python -X importtime` command imported."""
    return {line.rsplit("|", 1)[-1].strip().split(".")[0]
            for line in result.stderr.splitlines() if line.startswith("import time:")}


def test_the_scoring_bench_times_score_py_on_the_valid_split(trained, data_dir, tmp_path_factory):
    folder = trained("keras")
    export = onnx_export("keras", os.path.join(folder, "ck"), tmp_path_factory)
    measured = scoring.score_speed(str(export), data_dir, repeats=2)
    valid = read_metrics(os.path.join(folder, "metrics.jsonl"))[-2]["valid_ppl"]
    assert measured["ppl"] == pytest.approx(valid, rel=1e-4) and measured["words_per_sec"] > 0


def test_onnx_of_fluid_is_refused_in_one_line_with_a_way_round_that_works(trained,
                                                                          tmp_path_factory):
    """The way round itself is taken by onnx_export: its export scores as
    Fluid's training run did (test_onnxruntime_alone_scores_...[fluid])."""
    export = onnx_export("fluid", os.path.join(trained("fluid"), "ck"), tmp_path_factory)
    refused = json.loads((export.parent / REFUSAL).read_text())
    one_line_error(subprocess.CompletedProcess([], refused["returncode"], "", refused["stderr"]),
                   r"paddle2onnx 2\.1\.0 cannot convert this model: Due to the unsupported "
                   r"operators, .*python convert\.py --checkpoint \S+ --to paddle")
    assert refused["left"] == ["ck"]  # nothing written


def test_generate_samples_through_onnxruntime(trained, tmp_path_factory):
    checkpoint = os.path.join(trained("paddle"), "ck")
    result = run("-X", "importtime", "generate.py", "--checkpoint", checkpoint, "--format", "onnx",
                 "--words", "40", "--seed", "3")
    printed = succeeded(result)
    assert {"onnxruntime"} == imported(result) & {"onnxruntime", "paddle"}
    exported = Exported(onnx_export("paddle", checkpoint, tmp_path_factory))
    words = {index: word for word, index in exported.vocab.items()}
    drawn = [words[index] for index in generate_py.sample(exported, [exported.vocab["<eos>"]], 40,
                                                          1.0, 3)]
    assert printed.split() == [word for word in drawn if word != "<eos>"]
    assert printed.count("\n") == drawn.count("<eos>") + (drawn[-1] != "<eos>")

def test_score_says_what_it_skipped_and_which_words_it_does_not_know(best_earlier, data_dir,
                                                                    tmp_path, capsys):
    """Unknown words are scored as <unk>, which is cheap: score.py counts
    them, in all and in each sentence, and the blank lines it skipped."""
    _, checkpoint, _ = best_earlier
    run_here_or_apart("export", "fluid", "--checkpoint", checkpoint, "--out", tmp_path / "export")
    known = open(os.path.join(data_dir, "ptb.test.txt"), encoding="utf-8").readline().split()
    text = tmp_path / "text.txt"
    text.write_text(f"{' '.join(known)}\n\nzorblax {known[0]} Quibbled\n", encoding="utf-8")
    score.main([str(tmp_path / "export"), str(text), "--per_sentence"])
    *sentences, counts, _ = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[1] for line in sentences] == ["0", "2"]
    assert counts.startswith(f"read 3 lines: 2 sentences, 1 blank line skipped; 2 of "
                             f"{len(known) + 3} words ({2 / (len(known) + 3):.1%}) are not in the "
                             "vocabulary and are scored as <unk>")


def test_an_export_is_complete_or_absent(two_epochs, tmp_path, capsys):
    framework, _, original = two_epochs
    checkpoint = tmp_path / "ck"
    shutil.copytree(original, checkpoint)
    parameters = [name for name in os.listdir(checkpoint / "epoch2")
                  if not name.endswith((".pdmodel", ".pdopt", ".index"))][0]
    (checkpoint / "epoch2" / parameters).write_bytes(b"\x13\x37" * 100)
    args = ("--checkpoint", checkpoint, "--out", tmp_path / "export")
    if framework in IN_PROCESS:
        assert re.search("cannot load the checkpoint in .* damaged", refused(capsys, "export", *args))
    else:
        one_line_error(run("export.py", *args), "cannot load the checkpoint in .* damaged")
    assert sorted(os.listdir(tmp_path)) == ["ck"]


def test_an_incomplete_or_damaged_export_is_one_line(exported, data_dir, tmp_path):
    _, _, original = exported
    export = tmp_path / "export"
    shutil.copytree(original, export)
    test_split = os.path.join(data_dir, "ptb.test.txt")
    model_file = json.loads((export / "export.json").read_text())["files"][0]
    (export / model_file).write_bytes(b"\x13\x37" * 100)
    one_line_error(run("score.py", export, test_split), f"{model_file} changed .* damaged")
    (export / model_file).unlink()
    one_line_error(run("score.py", export, test_split), "not a complete export")
    (export / "export.json").unlink()
    one_line_error(run("score.py", export, test_split), "not a complete export")


@pytest.mark.parametrize("two_epochs", ["fluid"], indirect=True)
def test_a_stop_while_the_runtime_loads_is_not_called_a_damaged_export(exported, data_dir, capsys,
                                                                     monkeypatch):
    """Ctrl-C inside a C extension's import comes out as its ImportError, as
    Paddle's "initialization failed" did when score.py loaded
    paddle.inference: score.py then said the export was damaged. It stops
    as Ctrl-C stops it."""
    def interrupted_import(folder, meta):
        try:
            os.kill(os.getpid(), signal.SIGINT)
            sum(range(100_000))  # the handler runs here
        except KeyboardInterrupt:
            raise ImportError("initialization failed") from None
    monkeypatch.setitem(exported_module.RUNTIMES, "paddle.inference", interrupted_import)
    monkeypatch.setattr(errors, "unhandled_stops", [])
    _, _, export = exported
    argv = [str(export), os.path.join(data_dir, "ptb.test.txt")]
    assert cli_error(capsys, score.main, argv) == (130, "stopped by Ctrl-C")


@pytest.mark.parametrize("two_epochs", ["fluid"], indirect=True)
def test_sigterm_while_paddle_inference_loads_prints_no_cpp_stack(exported, data_dir):
    """Paddle's import installs glog's SIGTERM handler, which printed a C++
    stack dump on score.py's stdout (tests/signalled_while_loading.py)."""
    _, _, export = exported
    ended = subprocess.run([sys.executable, "-m", "tests.signalled_while_loading", "SIGTERM",
                            "paddle.incubate", "score.py", str(export),
                            os.path.join(data_dir, "ptb.test.txt")],
                           cwd=REPO, capture_output=True, text=True, timeout=120)
    assert (ended.returncode, ended.stdout, ended.stderr) == (-signal.SIGTERM, "", "")

# ------------------------------------------------------------------ generate


def generate(checkpoint, *flags):
    return succeeded(run("generate.py", "--checkpoint", checkpoint, *flags))


def test_generate_samples_one_sentence_a_line(best_earlier):
    """Through a Fluid export (LoD, paddle.inference); the grammar test below
    samples through Paddle 3's (paddle.jit.save). The runtimes of the
    SavedModels are the export tests' above."""
    _, checkpoint, _ = best_earlier
    text = generate(checkpoint, "--words", "40", "--seed", "3", "--prompt", "the cat zebra <eos> a")
    # The prompt, its unknown word as <unk>, and its sentence end as a line's.
    assert text.startswith("the cat <unk>\na ")
    words = text.split()
    assert len(words) - 4 + text.count("\n") - 1 == 40  # 40 words drawn, sentence ends included
    vocabulary = set(open(os.path.join(checkpoint, "vocab.txt"), encoding="utf-8").read().split())
    assert set(words) <= vocabulary - {"<eos>"}


def refused(capsys, command, *args):
    """The last stderr line of COMMAND.py's main(args), run in this process,
    which must end in one error line and exit 1."""
    code, last = cli_error(capsys, importlib.import_module(command).main, list(map(str, args)))
    assert code == 1 and last.startswith("error:"), last
    return last


def test_the_commands_refuse_in_one_line(tmp_path, capsys):
    assert "not a checkpoint folder" in refused(capsys, "generate", "--checkpoint", tmp_path)
    assert "not a checkpoint folder" in refused(capsys, "export", "--checkpoint", tmp_path,
                                                "--out", tmp_path / "x")
    assert "not a checkpoint folder" in refused(capsys, "convert", "--checkpoint", tmp_path,
                                                "--to", "keras", "--out", tmp_path / "x")
    assert "not a complete export" in refused(capsys, "score", tmp_path, tmp_path / "text.txt")
    assert os.listdir(tmp_path) == []
    with pytest.raises(UserError, match=r"is a folder; give a text file in it"):
        score.read_text(tmp_path)  # a folder exists: not "not found"


def test_an_out_inside_the_checkpoint_is_refused(best_earlier, capsys):
    """An export or a converted checkpoint inside the run's folder made
    --resume refuse that folder (files it did not write)."""
    _, checkpoint, _ = best_earlier
    before = sorted(os.listdir(checkpoint))
    for command, more in (("export", []), ("convert", ["--to", "keras"])):
        last = refused(capsys, command, "--checkpoint", checkpoint, *more,
                       "--out", os.path.join(checkpoint, "out"))
        assert re.search(r"--out .*out is inside --checkpoint .*; give a path outside it$", last)
    assert sorted(os.listdir(checkpoint)) == before


def test_score_reads_a_pipe_and_standard_input(monkeypatch):
    """A pipe's path, as bash's <(...) gives one, is read as a file is (it
    was "not found": no regular file), and - is standard input."""
    text = b"the cat\n\na dog sat\n"
    expected = ([["the", "cat"], ["a", "dog", "sat"]], 3)
    read, write = os.pipe()
    os.write(write, text)
    os.close(write)
    try:
        assert score.read_text(f"/dev/fd/{read}") == expected
    finally:
        os.close(read)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text)))
    assert score.read_text("-") == expected
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"\n")))
    with pytest.raises(UserError, match="^standard input has no words to score$"):
        score.read_text("-")


def test_generate_refuses_a_seed_numpy_would_not_take(capsys):
    with pytest.raises(SystemExit) as stop:
        generate_py.parse_args(["--checkpoint", "x", "--seed", "-1"])
    assert stop.value.code == 2
    assert capsys.readouterr().err.startswith("error: argument --seed: '-1' is not a whole number")


def test_a_trained_model_samples_its_grammar(learned, grammar_corpus, tmp_path, capsys):
    """Sentences of a model that learned the grammar mostly follow it; those
    of the same model untrained (one epoch at a tiny learning rate) do not.
    The same seed gives the same text. A prompt of no words is refused."""
    grammar = re.compile(r"(the|a) \w+ (sees the|likes a|finds the|hears a) \w+( \w+)?")
    # Five epochs on 600 lines (about 100 steps; tests/conftest.py): 88 steps,
    # clipped by the norm of the whole gradient as in Fluid, learned the
    # grammar, and 55 left it half learned.
    learned = os.path.join(learned("paddle", "chunks")[0], "ck")
    untrained = str(tmp_path / "untrained")
    train_script("paddle", "--data_dir", grammar_corpus(600), "--save_dir", untrained,
                 *TINY_MODEL, "--batching", "chunks", "--epochs", "1", "--learning_rate", "1e-6")

    def share_grammatical(text):
        lines = text.splitlines()[:-1]
        return sum(bool(grammar.fullmatch(line)) for line in lines) / len(lines)
    sample = generate(learned, "--words", "300", "--temperature", "0.7")
    assert share_grammatical(sample) > 0.7
    assert share_grammatical(generate(untrained, "--words", "300", "--temperature", "0.7")) < 0.2
    assert generate(learned, "--words", "300", "--temperature", "0.7") == sample  # the same seed
    assert "--prompt has no words" in refused(capsys, "generate", "--checkpoint", learned,
                                              "--prompt", "  ")

# ------------------------------------------------------------------- convert


def fluid_parameters(checkpoint, epoch):
    with open(os.path.join(checkpoint, f"epoch{epoch}", "model.pdparams"), "rb") as saved:
        return pickle.load(saved)


def test_convert_around_the_circle_keeps_the_weights_and_the_perplexity(best_earlier, tmp_path):
    """fluid -> tensorflow -> keras -> paddle -> fluid, a checkpoint with a
    best epoch before its last: each script evaluates its converted
    checkpoint to the test perplexities of the original, last and best, and
    the circle gives the original weights of both back."""
    folder, checkpoint, _ = best_earlier
    original = last_metrics(os.path.join(folder, "two"))
    current = checkpoint
    for step, target in enumerate(CIRCLE[1:]):
        out = tmp_path / f"{step}-{target}"
        printed = run_here_or_apart("convert", target, "--checkpoint", current, "--to",
                                    target, "--out", out)
        command = printed.strip().splitlines()[-1].split()
        assert command[:2] == ["python", f"rnnlm_{target}.py"] and "--resume" in command
        assert f"--save_dir={out}" in command  # outside the repository: as given
        run_here_or_apart(f"rnnlm_{target}", target, *command[2:], "--device=cpu",
                          f"--metrics_file={out}.jsonl")
        evaluated = read_last_line(f"{out}.jsonl")
        assert evaluated["best_epoch"] == 1
        for key in ("test_ppl", "best_test_ppl"):
            assert evaluated[key] == pytest.approx(original[key], rel=1e-4)
        current = out
    for epoch in (1, 2):
        before, back = fluid_parameters(checkpoint, epoch), fluid_parameters(current, epoch)
        assert sorted(before) == sorted(back)
        for name, value in before.items():
            # The lstm's float64 parameters (docs/paddle-3.3.1.md) come back as
            # their float32 rounding, exactly; all others bit for bit.
            assert back[name].dtype == value.dtype
            assert np.array_equal(back[name], value.astype(np.float32).astype(value.dtype)), name


def test_convert_refuses_shapes_that_cannot_match(best_earlier, tmp_path, capsys):
    _, original, _ = best_earlier
    checkpoint = tmp_path / "ck"
    shutil.copytree(original, checkpoint)
    saved = json.loads((checkpoint / "checkpoint.json").read_text())
    saved["config"]["hidden_size"] = 3
    (checkpoint / "checkpoint.json").write_text(json.dumps(saved))
    assert "the shapes cannot match" in refused(capsys, "convert", "--checkpoint", checkpoint,
                                                "--to", "tensorflow", "--out", tmp_path / "out")
    assert sorted(os.listdir(tmp_path)) == ["ck"]


def test_convert_into_a_checkpoint_names_its_own_flag(best_earlier, tmp_path, capsys):
    """The hint is convert.py's: it takes no --resume, --overwrite or --save_dir."""
    _, original, _ = best_earlier
    shutil.copytree(original, tmp_path / "ck")
    last = refused(capsys, "convert", "--checkpoint", original, "--to", "tensorflow",
                   "--out", tmp_path / "ck")
    assert last == (f"error: --out {tmp_path / 'ck'} already holds a checkpoint; choose another "
                    "--out, or delete that folder first")


def test_every_output_folder_is_new_or_empty(best_earlier, tmp_path, capsys):
    """One rule for export.py --out, convert.py --out and the training
    scripts' --save_dir: a new or empty folder (or, training, the run's own
    checkpoint folder); a folder of other files is refused untouched."""
    _, checkpoint, _ = best_earlier
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("the user's")
    assert refused(capsys, "export", "--checkpoint", checkpoint, "--out", mine) == \
        f"error: --out {mine} already exists and is not empty; give a new or empty folder"
    assert refused(capsys, "convert", "--checkpoint", checkpoint, "--to", "tensorflow",
                   "--out", mine).endswith("holds files that are not a checkpoint's (notes.txt); "
                                           "give a new or empty folder as --out")
    with pytest.raises(UserError, match=r"not a checkpoint's \(notes.txt\); .* as --save_dir"):
        with CheckpointFolder(str(mine), {}).claimed(resume=False, overwrite=True):
            pass
    assert os.listdir(mine) == ["notes.txt"]
    for empty in (tmp_path / "for-a-run", tmp_path / "for-an-export"):
        empty.mkdir()
    with CheckpointFolder(str(tmp_path / "for-a-run"), {}).claimed(False, False) as first_epoch:
        assert first_epoch == 0
    shutil.rmtree(export_py.claim_new_folder(str(tmp_path / "for-an-export")))
