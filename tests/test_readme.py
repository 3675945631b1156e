"""README.md's links into the scripts still point at the code they quote."""
import os
import re

from tests.conftest import REPO

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
