"""Files written whole or not at all, in JSON that every parser reads."""
import json
import math
import os


def replace_file(path, text):
    """Write `text` to `path` whole or not at all: into a temporary name,
    flushed to disk, then renamed over `path`."""
    temporary = path + ".partial"
    with open(temporary, "w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)


def strict_json(fields):
    """One JSON object: numbers that are not finite become null, which every parser reads."""
    return json.dumps({key: None if isinstance(value, float) and not math.isfinite(value) else value
                       for key, value in fields.items()}, allow_nan=False)
