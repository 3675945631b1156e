"""Files written whole or not at all, in JSON that every parser reads, and
a failed write said in one line."""
import contextlib
import json
import math
import os
import tempfile

from errors import UserError


def replace_file(path, text):
    """Write `text` to `path` whole or not at all: into a temporary name,
    flushed to disk, then renamed over `path`."""
    temporary = path + ".partial"
    try:
        with open(temporary, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:  # a full disk, say, or a stop: no partial copy stays behind
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise


def strict_json(fields):
    """One JSON object: numbers that are not finite become null, which every parser reads."""
    return json.dumps({key: None if isinstance(value, float) and not math.isfinite(value) else value
                       for key, value in fields.items()}, allow_nan=False)


@contextlib.contextmanager
def writes_told(what, advice):
    """Inside, a write that fails (a full disk, a path that is a folder) ends
    the command with one line: `what`: cannot write it (why); `advice`."""
    try:
        yield
    except OSError as error:
        raise UserError(f"{what}: cannot write it ({error.strerror or error}); {advice}") from None


def writable_folder(path, flag, named=None, give="a writable folder"):
    """Make the folder `path`, for what `flag` names as `named` (`path`
    itself unless said), and prove it writable by making a file there, since
    os.access lets root write even where none can be made (/proc); either
    failing is one line naming `flag`."""
    try:
        os.makedirs(path, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
    except OSError as error:
        raise UserError(f"{flag} {named or path}: cannot write there ({error.strerror}); "
                        f"give {give}") from None


def refuse_output_file(path, flag, kind, key, json_lines=False):
    """Refuse, in one line naming `flag`, now rather than after the work
    whose results it is to hold, an output file path that cannot be written
    (its folder cannot be made or written in, or it is a folder), or that
    holds something other than `kind`, the JSON objects with `key` that the
    command writes (one a line with `json_lines`) and would replace: a data
    split given by mistake, say."""
    writable_folder(os.path.dirname(path) or ".", flag, path, "a writable file path")
    if os.path.isdir(path):
        raise UserError(f"{flag} {path}: cannot write it, a folder; give a writable file path")
    if not new_or_own(path, key, json_lines):
        raise UserError(f"{flag} {path} holds something other than {kind}, and would be "
                        "replaced; give a new file, or an earlier one")


def new_or_own(path, key, json_lines):
    """Whether the file `path` is new or empty (or a device such as
    /dev/null), or holds a JSON object with `key` (on its first line, with
    `json_lines`)."""
    if not os.path.isfile(path) or os.path.getsize(path) == 0:
        return True
    try:
        with open(path, encoding="utf-8") as text:
            written = json.loads(text.readline() if json_lines else text.read())
    except ValueError:  # not UTF-8, or not JSON
        return False
    return isinstance(written, dict) and key in written
