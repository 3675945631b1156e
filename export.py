"""Export a checkpoint in its framework's own inference format.

    python export.py --checkpoint checkpoints/fluid-small --out exports/fluid-small

Whichever script wrote the checkpoint, its framework exports it:
  fluid       the inference program and parameters (paddle.static.save_inference_model),
              run by the paddle.inference predictor with LoD input;
  tensorflow  a SavedModel with a serving_default signature;
  paddle      paddle.jit.save, run by the paddle.inference predictor;
  keras       a SavedModel written by keras.export.ExportArchive.
Dropout is off, and the LSTM state is an input and an output, so that a
server can carry it. score.py and generate.py run exports
(trained/exported.py has the layout); nothing is written half: the export
is built under a temporary name and renamed into place when complete.
"""
import dataclasses
import os
import shutil

from config import OneLineParser
from ptb.errors import UserError
from trained.exported import EXPORT_JSON, file_digests
from trained.saved import framework_module, open_checkpoint, reading
from training.checkpoints import VOCAB, vocab_text, vocabulary_hash
from training.errors import run_cli
from training.reports import replace_file, strict_json


def parse_args(argv):
    parser = OneLineParser(prog="export.py",
                           description="Export a training run's checkpoint for inference.")
    parser.add_argument("--checkpoint", required=True, help="the --save_dir of a training run")
    parser.add_argument("--best", action="store_true",
                        help="the epoch of lowest valid perplexity, not the last")
    parser.add_argument("--out", required=True, help="the folder to create for the export")
    return parser.parse_args(argv)


def export(checkpoint, out, best=False):
    """Export `checkpoint` (its last epoch, or its best) into the new folder
    `out`; return what export.json says."""
    saved = open_checkpoint(checkpoint, best)
    partial = claim_new_folder(out)
    try:
        with reading(saved) as path:
            meta = framework_module(saved.framework).export(saved.config, path, partial)
        meta.update(framework=saved.framework, checkpoint=checkpoint, epoch=saved.epoch,
                    vocabulary=vocabulary_hash(saved.vocab), config=dataclasses.asdict(saved.config))
        replace_file(os.path.join(partial, VOCAB), vocab_text(saved.vocab))
        meta["sha256"] = file_digests(partial)
        replace_file(os.path.join(partial, EXPORT_JSON), strict_json(meta))
        os.replace(partial, out)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return meta


def claim_new_folder(out):
    """The temporary folder to build the export `out` in, which must not exist yet."""
    if os.path.exists(out):
        raise UserError(f"--out {out} already exists; remove it or choose another folder")
    partial = os.path.join(os.path.dirname(os.path.abspath(out)),
                           f".{os.path.basename(os.path.abspath(out))}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        os.makedirs(partial)
    except OSError as error:
        raise UserError(f"--out {out}: cannot write there ({error.strerror}); choose a writable "
                        "folder") from None
    return partial


def main(argv=None):
    args = parse_args(argv)
    meta = export(args.checkpoint, args.out, args.best)
    print(f"exported {meta['framework']} epoch {meta['epoch']} of {args.checkpoint} to {args.out} "
          f"({meta['runtime']})")


if __name__ == "__main__":
    run_cli(main)
