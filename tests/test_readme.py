"""README.md keeps its word: its links into the scripts still point at the
code they quote, and every command of its code blocks runs as written."""
import os
import re

from config import FRAMEWORKS
from tests.conftest import REPO

# What the frameworks and their launchers print that tells a user nothing.
NOISE = ("Traceback", "LAUNCH INFO", "Modified FLAGS detected", "No ccache found", "oneDNN")

# The first cell of a docs table row of one framework's measurement.
FRAMEWORK_ROW = "|".join(FRAMEWORKS)

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


def markdown_rows(path, first_cell):
    """The cells of each table row of `path` whose first cell matches `first_cell`."""
    with open(os.path.join(REPO, path), encoding="utf-8") as text:
        return [[cell.strip() for cell in line.strip().strip("|").split("|")]
                for line in text if line.startswith("|") and re.fullmatch(first_cell,
                                                                          line.split("|")[1].strip())]


def test_readme_and_the_docs_give_one_number_for_one_measurement():
    """README's glance tables are copies of the docs' measurements: the
    test perplexities of the Results (docs/seeds-and-machines.md), the speeds
    (docs/performance.md); and the seeds' largest range said there is the table's."""
    results = {(row[0], row[1]): row for row in
               markdown_rows("docs/seeds-and-machines.md", FRAMEWORK_ROW)}
    assert len(results) == 12
    (header,) = markdown_rows("README.md", "batching")
    glance = markdown_rows("README.md", "sentences|buckets|chunks")
    assert len(glance) == 3
    for row in glance:
        for framework, cell in zip(header[1:], row[1:]):
            assert results[(framework, row[0])][4] == cell, (framework, row[0])
    ranges = {key: [float(x) for x in row[4].split("(")[1].rstrip(")").split("-")]
              for key, row in results.items()}
    widest = max(high - low for low, high in ranges.values())
    with open(os.path.join(REPO, "docs/seeds-and-machines.md"), encoding="utf-8") as doc:
        said = re.search(r"moves a test perplexity by up to ([\d.]+) points", " ".join(doc.read().split()))
    assert float(said.group(1)) == round(widest, 1)
    speeds = {(row[0], row[1]): row for row in
              markdown_rows("docs/performance.md", r"\w+/\w+") if len(row) == 8}
    readme = markdown_rows("README.md", r"`rnnlm_\w+\.py` by \w+")
    assert len(readme) == 5
    for row in readme:
        run = re.fullmatch(r"`rnnlm_(\w+)\.py` by (\w+)", row[0]).expand(r"\1/\2")
        assert row[1:] == [speeds[(run, "small")][3], speeds[(run, "small")][6],
                           speeds[(run, "medium")][3], speeds[(run, "medium")][6]], run


def test_padding_is_given_once_for_each_way_of_measuring_it():
    """bench's padding (one epoch's batches) is the same in performance.md's table
    and what-replaced-lod.md's; compare's (13 epochs, three seeds) is one number
    for all three padded frameworks of a batching."""
    bench = {(row[0], row[1]): row[4] for row in markdown_rows("docs/performance.md", FRAMEWORK_ROW)
             if len(row) == 12 and row[2] == "small"}
    layouts = {(row[0], row[1]): row[2] for row in markdown_rows("docs/what-replaced-lod.md", FRAMEWORK_ROW)}
    assert len(bench) == 12 and layouts == bench
    compare = {(row[0], row[1]): row[6] for row in markdown_rows("docs/seeds-and-machines.md", FRAMEWORK_ROW)}
    for batching in ("sentences", "chunks", "buckets"):
        padded = {compare[(framework, batching)] for framework in ("paddle", "tensorflow", "keras")}
        assert len(padded) == 1, batching
    unpadded = {bench[key] for key in bench if key[1] == "chunks"}
    assert unpadded == {compare[("fluid", "sentences")]} == {"0.0%"}


def test_readme_sentences_run_at_most_40_words():
    """Prose, bullet by bullet, outside code, tables and headings."""
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as readme:
        text = re.sub(r"```.*?```", "", readme.read(), flags=re.S)
    prose = [line for line in text.splitlines() if not line.startswith(("    ", "|", "#"))]
    pieces = re.split(r"\n\s*\n|\n(?=- )", "\n".join(prose))
    sentences = [sentence for piece in pieces
                 for sentence in re.split(r"(?<=[.!?:])\s+(?=[A-Z`(\[*])", " ".join(piece.split()))]
    assert len(sentences) >= 40
    assert [s for s in sentences if len(s.split()) > 40] == []


def test_readme_has_at_most_200_lines():
    """The front door stays short: the rest is in docs/."""
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as readme:
        assert len(readme.read().splitlines()) <= 200


def test_readme_links_every_doc():
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as readme:
        linked = set(re.findall(r"\(docs/([\w.-]+\.md)", readme.read()))
    assert linked == {name for name in os.listdir(os.path.join(REPO, "docs")) if name.endswith(".md")}


def test_every_doc_opens_with_the_question_it_answers():
    for name in sorted(os.listdir(os.path.join(REPO, "docs"))):
        with open(os.path.join(REPO, "docs", name), encoding="utf-8") as doc:
            title, blank, question = doc.read().split("\n")[:3]
        assert title.startswith("# ") and blank == "", name
        assert question.startswith("> ") and question.endswith("?"), name
