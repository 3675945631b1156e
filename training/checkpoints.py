"""The resume marker: which epoch's checkpoint in a folder is complete."""
import json
import os

from training.errors import UserError

RESUME_FILE = "last_epoch.json"


def last_completed_epoch(save_dir):
    """The number of epochs a checkpoint in save_dir holds (0 if none)."""
    path = os.path.join(save_dir, RESUME_FILE)
    if not os.path.exists(path):
        return 0
    try:
        with open(path, encoding="utf-8") as marker:
            return int(json.load(marker)["epoch"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise UserError(f"cannot read {path} ({error}); delete {save_dir} to start afresh") from None


def epoch_to_resume(save_dir):
    """For --resume: the last completed epoch saved in save_dir."""
    epoch = last_completed_epoch(save_dir)
    if epoch == 0:
        raise UserError(f"--resume: no checkpoint in {save_dir}; run without --resume first")
    return epoch


def checkpoint_mismatch(save_dir, error):
    """The UserError for a checkpoint that does not load into this model."""
    return UserError(f"--resume: the checkpoint in {save_dir} does not fit this model "
                     f"({str(error).splitlines()[0]}); use the same flags or another --save_dir")


def mark_epoch_saved(save_dir, epoch):
    """Record that the checkpoint for `epoch` is complete (written last, atomically)."""
    path = os.path.join(save_dir, RESUME_FILE)
    with open(path + ".tmp", "w", encoding="utf-8") as marker:
        json.dump({"epoch": epoch}, marker)
    os.replace(path + ".tmp", path)
