"""What bench.py --scoring measures: scoring speed of each script's export in
its framework's own runtime and in onnxruntime, and what the ONNX graphs hold.

For each preset and script: a checkpoint of the preset's shapes with
random weights (speed does not depend on what the weights learned), its
native export and its ONNX export (export.py, as a user runs it), then in a
fresh process per runtime score.py's own perplexity() over the valid split
of --data_dir, batched as the script evaluates: one warm-up pass over its
first sentences, then --repeats passes, the median words/s reported. Both
runtimes score the same export's model, so their perplexities must agree;
the table gives how closely. Fluid's LoD program has no ONNX form
(export.py refuses it), so its row has the native runtime only.

The ONNX operator counts include the nodes inside control-flow bodies
(tf2onnx turns the v1 graph's dynamic_rnn into a Loop), and are counted
from model.onnx with the onnx package.

Also a command of its own, for the children bench.py starts:
    python -m benchmarks.scoring checkpoint FRAMEWORK MODEL DATA_DIR OUT
    python -m benchmarks.scoring score EXPORT DATA_DIR REPEATS
"""
import collections
import dataclasses
import importlib.metadata
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from config import DEFAULT_BATCHING, FRAMEWORKS, PRESETS, Config
from export import FORMATS
from ptb import corpus
from training.errors import child_error

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WARMUP_SENTENCES = 50


def write_checkpoint(framework, model, data_dir, out):
    """A checkpoint folder of `framework`'s script at preset `model`, random
    weights, the vocabulary of `data_dir`'s training split."""
    from model_io import layout
    from model_io.saved import framework_module
    from training.checkpoints import CheckpointFolder, run_identity
    vocab = corpus.load_corpus(data_dir).vocab
    config = Config(**{**PRESETS[model], "batching": DEFAULT_BATCHING[framework],
                       "vocab_size": len(vocab), "data_dir": data_dir, "model": model})
    rng = np.random.default_rng(1)
    weights = {name: rng.uniform(-config.init_scale, config.init_scale, shape).astype(np.float32)
               for name, shape in layout.shapes(config).items()}
    target = framework_module(framework)
    folder = CheckpointFolder(out, run_identity(framework, config, vocab),
                              dataclasses.asdict(config), vocab)
    with folder.claimed(resume=False, overwrite=False):
        with folder.writing(1, dict(epoch=1, valid_ppl=None)) as path:
            target.write_checkpoint(config, weights, path)


def score_speed(export, data_dir, repeats):
    """{words_per_sec (median of `repeats` passes), ppl} of score.py's
    perplexity() over the valid split, in the export's runtime."""
    import score
    from model_io.exported import Exported
    exported = Exported(export)
    sentences = corpus.to_ids(corpus.read_sentences(os.path.join(data_dir, "ptb.valid.txt")),
                              exported.vocab)
    score.perplexity(exported, sentences[:WARMUP_SENTENCES])
    speeds = []
    for _ in range(repeats):
        start = time.perf_counter()
        ppl, targets = score.perplexity(exported, sentences)
        speeds.append(targets / (time.perf_counter() - start))
    return dict(words_per_sec=statistics.median(speeds), ppl=ppl)


def operator_counts(onnx_file):
    """{operator type: count} of every node in the model, control-flow bodies included."""
    import onnx
    counts = collections.Counter()

    def count(graph):
        for node in graph.node:
            counts[node.op_type] += 1
            for attribute in node.attribute:
                if attribute.type == onnx.AttributeProto.GRAPH:
                    count(attribute.g)
                for body in attribute.graphs:
                    count(body)
    count(onnx.load(onnx_file).graph)
    return dict(counts.most_common())


def run_child(*args):
    """A command in this repository's Python; its stdout, or a one-line error."""
    result = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=REPO)
    if result.returncode != 0:
        return None, child_error(result.stderr, f"exited {result.returncode}")
    return result.stdout, None


def measure(framework, model, data_dir, repeats, folder):
    """One row: the native and ONNX scoring speeds of `framework` at `model`."""
    checkpoint = os.path.join(folder, "ck")
    row = dict(framework=framework, model=model, batching=DEFAULT_BATCHING[framework])
    _, error = run_child("-m", "benchmarks.scoring", "checkpoint", framework, model, data_dir,
                         checkpoint)
    for format in FORMATS:
        row[format] = dict(error=error) if error else exported_speed(
            checkpoint, format, os.path.join(folder, format), data_dir, repeats)
    if "error" not in row["onnx"]:
        row["onnx"]["operators"] = operator_counts(os.path.join(folder, "onnx", "model.onnx"))
    return row


def exported_speed(checkpoint, format, out, data_dir, repeats):
    """score_speed of `checkpoint` exported by export.py in `format` into
    `out`, each in a process of its own, and the export's runtime; or the
    error that stopped it."""
    _, error = run_child("export.py", "--checkpoint", checkpoint, "--format", format, "--out", out)
    if error:
        return dict(error=error)
    with open(os.path.join(out, "export.json"), encoding="utf-8") as meta:
        runtime = json.load(meta)["runtime"]
    printed, error = run_child("-m", "benchmarks.scoring", "score", out, data_dir, str(repeats))
    return dict(error=error, runtime=runtime) if error else dict(
        json.loads(printed.splitlines()[-1]), runtime=runtime)


ONNX_PACKAGES = ("onnxruntime", "paddle2onnx", "tf2onnx", "onnx")


def onnx_versions():
    """'onnxruntime 1.32.0, paddle2onnx 2.1.0, ...': what the ONNX numbers depend on."""
    return ", ".join(f"{name} {importlib.metadata.version(name)}" for name in ONNX_PACKAGES)


def scoring_rows(models, data_dir, repeats):
    rows = []
    for model in models:
        for framework in FRAMEWORKS:
            print(f"scoring {framework} {model} ...", flush=True)
            with tempfile.TemporaryDirectory() as folder:
                rows.append(measure(framework, model, data_dir, repeats, folder))
    return rows


def scoring_table(rows):
    """The rows as a Markdown table."""
    lines = ["| script | model | batching | native runtime | native words/s | onnxruntime words/s "
             "| x native | perplexity, relative difference | ONNX nodes | ONNX operators |",
             "|" + " --- |" * 10]
    for row in rows:
        native, onnx_run = row["native"], row["onnx"]
        cells = [row["framework"], row["model"], row["batching"],
                 native.get("runtime", "-"), speed_cell(native), speed_cell(onnx_run)]
        if "error" in native or "error" in onnx_run:
            cells += ["-", "-", "-", "-"]
        else:
            operators = onnx_run["operators"]
            cells += [f"{onnx_run['words_per_sec'] / native['words_per_sec']:.2f}",
                      f"{abs(onnx_run['ppl'] / native['ppl'] - 1):.1e}", f"{sum(operators.values())}",
                      ", ".join(f"{kind} {count}" for kind, count in operators.items())]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def speed_cell(measured):
    if "error" in measured:
        return f"not measured: {measured['error'].split(';')[0]}"
    return f"{measured['words_per_sec']:,.0f}"


def main(argv):
    kind, *args = argv
    if kind == "checkpoint":
        write_checkpoint(*args)
    else:
        export, data_dir, repeats = args
        print(json.dumps(score_speed(export, data_dir, int(repeats))))


if __name__ == "__main__":
    main(sys.argv[1:])
