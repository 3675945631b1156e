"""A run's checkpoint folder: one run at a time, whole epochs only, and what the model is.

    save_dir/
      .lock            held by the run using the folder; the kernel releases it
                       when that process ends, even by kill -9
      epoch9/ epoch13/ the parameters of the last epoch and of the best one
                       (lowest valid perplexity), each written under a
                       temporary name and renamed into place once complete;
                       the others are removed once the marker has moved on
      vocab.txt        the words, one a line in id order, for using the model
      checkpoint.json  the last complete epoch, what makes the model what it is,
                       the whole config, and the metrics of every epoch it
                       holds; replaced atomically, after the epoch's folder

Each framework's saver writes into the folder that `writing` gives it and
reads from the one that `reading` gives it.
"""
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil

from compat.error_text import first_line
from errors import UserError
from training.errors import stops_deferred
from training.files import replace_file, strict_json, writable_folder

MARKER = "checkpoint.json"
VOCAB = "vocab.txt"
LOCK = ".lock"
# What a checkpoint folder holds besides its epoch folders and LOCK.
CHECKPOINT_FILES = (MARKER, MARKER + ".partial", VOCAB)
EPOCH_FOLDER = re.compile(r"^(epoch\d+|\.epoch\d+\.partial)$")
# What makes a checkpoint's model and run what they are. A resumed run must
# match on all of them; the learning rate, its schedule and the number of
# epochs may change.
IDENTITY = ("framework", "model", "num_layers", "hidden_size", "vocab_size", "vocabulary",
            "batching", "batch_size", "num_steps", "max_sentence_length", "keep_prob", "seed",
            "workers")


def run_identity(framework, config, vocab):
    """The IDENTITY fields of this run; `vocabulary` is a hash of the word ids."""
    fields = dict(vars(config), framework=framework, vocabulary=vocabulary_hash(vocab))
    return {name: fields[name] for name in IDENTITY}


def vocab_text(vocab):
    """The words in id order, one a line."""
    return "".join(word + "\n" for word in sorted(vocab, key=vocab.get))


def vocabulary_hash(vocab):
    return hashlib.sha256(vocab_text(vocab).rstrip("\n").encode("utf-8")).hexdigest()[:16]


def best_epoch(history):
    """The epoch of lowest valid perplexity in a marker's history (the first
    of equals), or None if none has a finite one."""
    finite = [line for line in history if line.get("valid_ppl") is not None]
    return min(finite, key=lambda line: line["valid_ppl"])["epoch"] if finite else None


def refuse_inside_checkpoint(path, flag, folder, folder_flag):
    """Refuse, in one line, a `flag` path inside the checkpoint folder
    `folder` (`folder_flag`'s): a file there that the run did not write
    would make --resume refuse the folder."""
    folder_path = os.path.realpath(folder)
    if path and os.path.commonpath([os.path.realpath(path), folder_path]) == folder_path:
        raise UserError(f"{flag} {path} is inside {folder_flag} {folder}, a checkpoint folder, "
                        "where --resume refuses files it did not write; give a path outside it")


def refuse_other_files(folder, is_own, flag, whose):
    """Every output folder is new or empty, or the command's own from an
    earlier run (is_own(name) for each name in it): never a folder of other
    files, such as an export or the user's own."""
    others = sorted(name for name in os.listdir(folder) if not is_own(name)) \
        if os.path.isdir(folder) else []
    if others:
        raise UserError(f"{flag} {folder} holds files that are not {whose} "
                        f"({', '.join(others[:3])}{', ...' if len(others) > 3 else ''}); "
                        f"give a new or empty folder as {flag}")


class CheckpointFolder:
    """--save_dir for one run: claim it, then save and load whole epochs.
    `flag` is the option that named the folder, for the errors to name."""

    def __init__(self, save_dir, identity, config=None, vocab=None, flag="--save_dir"):
        self.save_dir, self.flag = save_dir, flag
        self.identity = identity
        self.config = config
        self.vocab = vocab
        self.marker = os.path.join(save_dir, MARKER)
        self.replacing = False  # --overwrite, until this run's first epoch is saved

    @contextlib.contextmanager
    def claimed(self, resume, overwrite):
        """Hold the folder for this run; yield the epoch to start from (0, or
        the last saved one with resume). With overwrite, the checkpoint
        already there stays until this run saves its first epoch, so a run
        that fails or is stopped before that loses nothing. A folder this
        created is removed again if the run fails before saving anything."""
        created = not os.path.isdir(self.save_dir)
        refuse_other_files(self.save_dir, self._is_own, self.flag, "a checkpoint's")
        lock = self._lock()
        try:
            self._remove_partial_epochs()
            self.replacing = overwrite
            yield 0 if overwrite else self._first_epoch(resume)
        except BaseException:
            if created and os.listdir(self.save_dir) == [LOCK]:
                shutil.rmtree(self.save_dir, ignore_errors=True)
            raise
        finally:
            lock.close()

    def _is_own(self, name):
        return name in (LOCK, *CHECKPOINT_FILES) or EPOCH_FOLDER.match(name)

    def _lock(self):
        writable_folder(self.save_dir, self.flag)
        lock = open(os.path.join(self.save_dir, LOCK), "a")  # held until the run ends
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise UserError(f"{self.flag} {self.save_dir} is in use by another run; wait for it "
                            f"to end, or choose another {self.flag}") from None
        return lock

    def _first_epoch(self, resume):
        saved = self.read_marker()
        if resume:
            if saved is None:
                raise UserError(f"--resume: no checkpoint in {self.save_dir}; "
                                "run without --resume first")
            self._check_identity(saved["identity"])
            return saved["epoch"]
        if saved is not None or self._epoch_folders():
            choices = ("pass --resume to continue it, --overwrite to start over, or choose "
                       "another --save_dir" if self.flag == "--save_dir" else
                       f"choose another {self.flag}, or delete that folder first")
            raise UserError(f"{self.flag} {self.save_dir} already holds a checkpoint; {choices}")
        return 0

    def _check_identity(self, saved):
        for name in IDENTITY:
            theirs, mine = saved.get(name, 1 if name == "workers" else None), self.identity[name]
            if theirs == mine:
                continue
            if name == "vocabulary":
                raise UserError("--resume: the vocabulary differs from the checkpoint's (same size, "
                                "other words): resume on the training data it was trained on")
            raise UserError(f"--resume: {name} is {theirs} in the checkpoint, {mine} asked; resume "
                            "with the checkpoint's settings, or pass --overwrite to start over")

    def read_marker(self):
        """{"epoch": N, "identity": {...}, "config": {...}, "history": [...]}
        of the last complete epoch, or None."""
        if not os.path.exists(self.marker):
            return None
        try:
            with open(self.marker, encoding="utf-8") as marker:
                saved = json.load(marker)
            return {"epoch": int(saved["epoch"]), "identity": dict(saved["identity"]),
                    "config": dict(saved["config"]), "history": list(saved["history"])}
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise UserError(f"cannot read {self.marker} ({error}); pass --overwrite to start "
                            "over") from None

    def best_epoch(self):
        """The saved epoch of lowest valid perplexity, or None before the first."""
        saved = self._last_saved()
        return best_epoch(saved["history"]) if saved else None

    def epoch_folder(self, epoch):
        return os.path.join(self.save_dir, f"epoch{epoch}")

    def history(self):
        """The metrics lines of the epochs the last checkpoint holds."""
        return self.read_marker()["history"]

    def _last_saved(self):
        """read_marker(), or None before the first save of a run that
        replaces the folder's checkpoint: the old run's is not its own."""
        return None if self.replacing else self.read_marker()

    @contextlib.contextmanager
    def writing(self, epoch, record, earlier=None):
        """Yield the path prefix to save `epoch` under. When the block ends
        the folder is renamed into place and the marker moved onto it, with
        the epoch's metrics `record` after those of the epochs before it
        (from the marker, unless given as `earlier`); if it fails, the
        partial folder is removed and the marker stays."""
        partial = os.path.join(self.save_dir, f".epoch{epoch}.partial")
        shutil.rmtree(partial, ignore_errors=True)
        os.makedirs(partial)
        try:
            yield os.path.join(partial, "model")
        except Exception as error:  # each framework has its own errors for a failed write
            shutil.rmtree(partial, ignore_errors=True)
            raise UserError(f"cannot save the checkpoint in {self.save_dir} ({first_line(error)}); "
                            "the checkpoints saved before stay as they were") from None
        except BaseException:  # Ctrl-C or SIGTERM while saving
            shutil.rmtree(partial, ignore_errors=True)
            raise
        final = self.epoch_folder(epoch)
        if self.replacing:  # the replaced run's marker must never name this run's epoch
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.marker)
        shutil.rmtree(final, ignore_errors=True)
        os.replace(partial, final)
        saved = self._last_saved()
        if earlier is None:
            earlier = saved["history"] if saved else []
        history = [line for line in earlier if line["epoch"] < epoch]
        history.append(record)
        replace_file(os.path.join(self.save_dir, VOCAB), vocab_text(self.vocab))
        self._write_marker(epoch, history)
        self._remove_epochs_but(epoch, best_epoch(history))  # replacing: all the old run's epochs
        self.replacing = False

    @contextlib.contextmanager
    def reading(self, epoch, who="--resume", advice="pass --overwrite to start over"):
        """Yield the path prefix `epoch` was saved under; whatever the
        framework raises while loading it becomes one line, which begins
        with `who` and ends with `advice`."""
        folder = self.epoch_folder(epoch)
        if not os.path.isdir(folder):
            raise UserError(f"{who}: {self.marker} names epoch {epoch}, but {folder} is "
                            f"missing; {advice}")
        try:
            with stops_deferred():  # a stop lands after the load, never inside the framework
                yield os.path.join(folder, "model")
        except UserError:
            raise
        except Exception as error:  # each framework has its own errors for a damaged file
            raise UserError(f"{who}: cannot load the checkpoint in {folder} "
                            f"({first_line(error)}); it is damaged: {advice}") from None

    def _write_marker(self, epoch, history):
        replace_file(self.marker, strict_json({"epoch": epoch, "identity": self.identity,
                                               "config": self.config, "history": history}))

    def _remove_epochs_but(self, *kept):
        # Only after the marker has moved on, so it never names a removed folder.
        for name in self._epoch_folders():
            if name not in {f"epoch{epoch}" for epoch in kept}:
                shutil.rmtree(os.path.join(self.save_dir, name), ignore_errors=True)

    def _epoch_folders(self):
        return [name for name in os.listdir(self.save_dir) if EPOCH_FOLDER.match(name)]

    def _remove_partial_epochs(self):
        # Left by a run killed while saving: never complete, never named by the marker.
        for name in self._epoch_folders():
            if name.endswith(".partial"):
                shutil.rmtree(os.path.join(self.save_dir, name), ignore_errors=True)
