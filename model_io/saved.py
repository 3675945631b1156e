"""A checkpoint folder opened for use, whichever script wrote it."""
import collections
import dataclasses
import importlib
import os

from config import Config
from errors import UserError
from training.checkpoints import MARKER, VOCAB, CheckpointFolder, best_epoch, vocabulary_hash

Saved = collections.namedtuple("Saved", "folder framework config vocab epoch")
Saved.__doc__ = """folder: the CheckpointFolder; framework: the script that
wrote it (fluid, tensorflow, paddle or keras); config: its Config; vocab:
word -> id; epoch: the saved epoch to use."""


def open_checkpoint(path, best=False):
    """The checkpoint in `path` (a training run's --save_dir): its last
    epoch, or with `best` the one of lowest valid perplexity."""
    if not os.path.isfile(os.path.join(path, MARKER)):
        raise UserError(f"--checkpoint {path} is not a checkpoint folder (no {MARKER}); give the "
                        "--save_dir of a training run that finished an epoch")
    folder = CheckpointFolder(path, identity=None)
    saved = folder.read_marker()
    fields = {field.name for field in dataclasses.fields(Config)}
    config = Config(**{key: value for key, value in saved["config"].items() if key in fields})
    vocab = read_vocab(os.path.join(path, VOCAB), saved["identity"]["vocabulary"])
    epoch = best_epoch(saved["history"]) if best else saved["epoch"]
    if epoch is None:
        raise UserError(f"--best: no epoch in {path} has a finite valid perplexity; leave out --best")
    return Saved(folder, saved["identity"]["framework"], config, vocab, epoch)


def read_vocab(path, expected_hash):
    """word -> id from vocab.txt, checked against the hash in the marker."""
    try:
        with open(path, encoding="utf-8") as lines:
            words = lines.read().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"cannot read {path} ({error}); the checkpoint is incomplete") from None
    vocab = {word: index for index, word in enumerate(words)}
    if vocabulary_hash(vocab) != expected_hash:
        raise UserError(f"{path} is not the vocabulary the checkpoint was trained with; "
                        "the checkpoint is damaged")
    return vocab


def framework_module(framework):
    """model_io.FRAMEWORK: the code that uses that script's checkpoints.
    Importing it loads the framework, in the mode that script runs it."""
    return importlib.import_module(f"model_io.{framework}")


def reading(saved):
    """saved.folder.reading of the epoch in use: the path its framework saved
    it under, its errors in one line that fits these commands."""
    return saved.folder.reading(saved.epoch, who=f"--checkpoint {saved.folder.save_dir}",
                                advice="train it again, or use its other saved epoch (--best)")
