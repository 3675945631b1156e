"""Export a checkpoint in its framework's own inference format, or in ONNX.

    python export.py --checkpoint checkpoints/fluid-small --out exports/fluid-small
    python export.py --checkpoint checkpoints/paddle-small --format onnx --out exports/paddle-small-onnx

Whichever script wrote the checkpoint, its framework exports it:
  fluid       the inference program and parameters (paddle.static.save_inference_model),
              run by the paddle.inference predictor with LoD input;
  tensorflow  a SavedModel with a serving_default signature;
  paddle      paddle.jit.save, run by the paddle.inference predictor;
  keras       a SavedModel written by keras.export.ExportArchive.
With --format onnx, that export goes through its framework's converter
(paddle2onnx for the Paddle programs, tf2onnx for the SavedModels) to
model.onnx, which onnxruntime runs alone (model_io/onnx_export.py). Fluid's
LoD operators have no ONNX form: its checkpoint is refused in one line that
gives the way round (convert.py to rnnlm_paddle.py's checkpoint, then export).
Dropout is off, and the LSTM state is an input and an output, so that a
server can carry it. score.py and generate.py run exports
(model_io/exported.py has the layout); nothing is written half: the export
is built under a temporary name and renamed into place when complete.
"""
import dataclasses
import os
import shutil
import tempfile

from config import OneLineParser
from errors import UserError
from model_io import onnx_export
from model_io.exported import EXPORT_JSON, file_digests
from model_io.saved import framework_module, open_checkpoint, reading
from training.checkpoints import VOCAB, refuse_inside_checkpoint, vocab_text, vocabulary_hash
from training.errors import run_cli
from training.files import replace_file, strict_json, writable_folder


def parse_args(argv):
    parser = OneLineParser(prog="export.py",
                           description="Export a training run's checkpoint for inference.")
    parser.add_argument("--checkpoint", required=True, help="the --save_dir of a training run")
    parser.add_argument("--best", action="store_true",
                        help="the epoch of lowest valid perplexity, not the last")
    parser.add_argument("--format", choices=FORMATS, default="native",
                        help="native: the framework's own inference format; onnx: ONNX, for "
                             "onnxruntime")
    parser.add_argument("--out", required=True, help="a new or empty folder for the export")
    return parser.parse_args(argv)


FORMATS = ("native", "onnx")


def export(checkpoint, out, best=False, format="native"):
    """Export `checkpoint` (its last epoch, or its best) into the new folder
    `out`, in `format`; return what export.json says."""
    saved = open_checkpoint(checkpoint, best)
    refuse_inside_checkpoint(out, "--out", checkpoint, "--checkpoint")
    partial = claim_new_folder(out)
    try:
        if format == "onnx":
            meta = onnx_model(saved, checkpoint, partial)
        else:
            meta = native_model(saved, partial)
        meta.update(framework=saved.framework, checkpoint=checkpoint, epoch=saved.epoch,
                    vocabulary=vocabulary_hash(saved.vocab), config=dataclasses.asdict(saved.config))
        replace_file(os.path.join(partial, VOCAB), vocab_text(saved.vocab))
        meta["sha256"] = file_digests(partial)
        replace_file(os.path.join(partial, EXPORT_JSON), strict_json(meta))
        os.replace(partial, out)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return meta


def native_model(saved, out):
    """The framework's own export of `saved` in folder `out`; what export.json says of it."""
    with reading(saved) as path:
        return framework_module(saved.framework).export(saved.config, path, out)


def onnx_model(saved, checkpoint, out):
    """`saved` exported natively, then converted to `out`/model.onnx."""
    with tempfile.TemporaryDirectory(dir=out) as native:
        meta = native_model(saved, native)
        return onnx_export.convert(native, meta, out, onnx_advice(saved.framework, checkpoint))


def onnx_advice(framework, checkpoint):
    """What to do when the converter refuses `framework`'s model."""
    if framework == "fluid":
        return ("Fluid's LoD operators have no ONNX form: carry the weights to rnnlm_paddle.py "
                f"with python convert.py --checkpoint {checkpoint} --to paddle --out "
                f"{checkpoint}-paddle, then export that with --format onnx")
    return "export it with --format native instead"


def claim_new_folder(out):
    """The temporary folder to build the export `out` in; `out` must be new
    or empty, as every command's output folder."""
    if os.path.exists(out) and not (os.path.isdir(out) and os.listdir(out) == []):
        raise UserError(f"--out {out} already exists and is not empty; give a new or empty folder")
    partial = os.path.join(os.path.dirname(os.path.abspath(out)),
                           f".{os.path.basename(os.path.abspath(out))}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    writable_folder(partial, "--out", out)
    return partial


def main(argv=None):
    args = parse_args(argv)
    meta = export(args.checkpoint, args.out, args.best, args.format)
    print(f"exported {meta['framework']} epoch {meta['epoch']} of {args.checkpoint} to {args.out} "
          f"({meta['runtime']})")


if __name__ == "__main__":
    run_cli(main)
