"""README.md keeps its word: its links into the scripts still point at the
code they quote, and every command of its code blocks runs as written."""
import os
import re

from tests.conftest import REPO

# What the frameworks and their launchers print that tells a user nothing.
NOISE = ("Traceback", "LAUNCH INFO", "Modified FLAGS detected", "No ccache found", "oneDNN")

# [`snippet`](file.py#L42)
LINK = re.compile(r"\[`([^`]+)`\]\(([\w/.-]+\.py)#L(\d+)\)")


def test_readme_line_links_quote_their_lines():
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as readme:
        links = LINK.findall(readme.read())
    assert len(links) >= 20
    for snippet, path, number in links:
        with open(os.path.join(REPO, path), encoding="utf-8") as source:
            line = source.read().splitlines()[int(number) - 1]
        assert snippet in line, f"{path}#L{number} no longer holds `{snippet}`: {line.strip()}"


def test_every_readme_command_runs_as_written(readme_runs):
    """In order, in a copy of the repository, each README command must end
    well: a command that no longer runs as written, or that collides with
    one before it (the same --save_dir), fails here (tests/readme_commands.py)."""
    _, runs = readme_runs
    assert len(runs) >= 12
    for run in runs:
        printed = run["stdout"] + run["stderr"]
        assert run["returncode"] == 0, f"{run['command']}\n{printed[-3000:]}"
        for noise in NOISE:
            assert noise not in printed, f"{run['command']} printed {noise!r}"
