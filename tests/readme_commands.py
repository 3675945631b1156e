"""Run README.md's commands as a new user would: in order, in a copy of
the repository, each as written, on a small corpus (what data/download.sh
fetches here) and, for training, a tiny model for one epoch on one thread
(TINY, added after the command's own flags; compare.py with one seed and
two scripts). The test stands in for the venv: this interpreter runs the
commands, its packages checked against the pins."""
import hashlib
import importlib.metadata
import json
import os
import re
import shlex
import shutil
import subprocess
import tarfile

from tests.corpora import write_grammar_corpus

# A command line of README's code blocks.
COMMAND = re.compile(r"^ {4,}((?:\.venv/bin/)?python3? .*|sh .*)$")
TINY = ["--num_layers", "1", "--hidden_size", "2", "--num_steps", "2", "--epochs", "1",
        "--threads", "1"]
TRAINS = re.compile(r"rnnlm_\w+\.py|compare\.py")
# compare.py with several seeds runs each configuration once per seed: here
# once (tests/test_compare.py checks several seeds on Fluid alone), and of
# its four scripts Paddle's two API eras, named against the report's order
# (every script's runs are tested in tests/test_training.py): each of them
# is a process of its own, and Paddle starts in a quarter of TensorFlow's time.
FEWER_SEEDS = ["--seeds", "1"]
FEWER_SCRIPTS = "paddle,fluid"
# [--flag]: optional; the command runs without it and then with it.
OPTIONAL = re.compile(r" \[(--\w+)\]")
RUNS = "runs.json"


def readme_commands(repo):
    """README's commands in order, each `a && b` as its parts, comments cut."""
    with open(os.path.join(repo, "README.md"), encoding="utf-8") as readme:
        lines = [match.group(1) for match in map(COMMAND.match, readme.read().splitlines())
                 if match]
    return [part.strip() for line in lines for part in line.split("  #")[0].split(" && ")]


def variants(command):
    """The command without its optional flags, then with them."""
    if not OPTIONAL.search(command):
        return [command]
    return [OPTIONAL.sub("", command), OPTIONAL.sub(r" \1", command)]


def installed_as_pinned(requirements):
    """Each `name==version` of a requirements file (and of the files it
    names) is what this interpreter has: README's install gives this set."""
    folder = os.path.dirname(requirements)
    with open(requirements, encoding="utf-8") as lines:
        for line in (line.split("#")[0].strip() for line in lines):
            if line.startswith("-r "):
                installed_as_pinned(os.path.join(folder, line[3:].strip()))
            elif line:
                name, version = line.split("==")
                assert importlib.metadata.version(name) == version, line


def ptb_archive(folder):
    """A simple-examples.tgz of a small grammar corpus, laid out as the real
    one, and its md5."""
    write_grammar_corpus(folder / "simple-examples" / "data", train_lines=120, eval_lines=80)
    archive = folder / "simple-examples.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder / "simple-examples", arcname="./simple-examples")
    return archive, hashlib.md5(archive.read_bytes()).hexdigest()


def copy_of_repository(repo, into):
    """The repository's files, without what it ignores (checkpoints, data)."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=repo,
                            capture_output=True, text=True, check=True).stdout.split()
    for path in listed:
        if os.path.isfile(os.path.join(repo, path)):
            os.makedirs(os.path.join(into, os.path.dirname(path)), exist_ok=True)
            shutil.copy(os.path.join(repo, path), os.path.join(into, path))
    return into


def argv_here(command, repo):
    """The argument list that runs README's command in `repo` (a `python`
    command's without the interpreter), or None where the test stands in
    for it: the venv is this interpreter (its packages checked against the
    pins), and the test command is this run's."""
    words = shlex.split(command)
    if words[:3] == ["python3", "-m", "venv"]:
        return None
    if words[0].endswith("/pip"):
        installed_as_pinned(os.path.join(repo, words[words.index("-r") + 1]))
        return None
    if words[0] == "sh":
        return words
    if words[1:3] == ["-m", "pytest"]:
        return None
    trains = any(TRAINS.fullmatch(word) for word in words)
    if "--scripts" in words:
        words[words.index("--scripts") + 1] = FEWER_SCRIPTS
    fewer = FEWER_SEEDS if "--seeds" in words else []
    return [*words[1:], *(TINY if trains else []), *fewer]


def run_all(original, folder, python):
    """Run every README command of the repository `original` in a copy of it
    in folder/repo, a `python` command by python(args, cwd) (this
    interpreter, tests/conftest.py: run_command); each one's command, exit
    code and output in folder/runs.json."""
    repo = copy_of_repository(original, folder / "repo")
    archive, md5 = ptb_archive(folder)
    env = dict(os.environ, PTB_URL=archive.as_uri(), PTB_MD5=md5)
    runs = []
    for command in readme_commands(repo):
        for variant in variants(command):
            argv = argv_here(variant, repo)
            if argv is None:
                continue
            if variant.startswith("sh "):
                done = subprocess.run(argv, cwd=repo, env=env, capture_output=True, text=True,
                                      timeout=900)
            else:
                done = python(argv, repo)
            runs.append(dict(command=variant, returncode=done.returncode,
                             stdout=done.stdout, stderr=done.stderr))
    (folder / RUNS).write_text(json.dumps(runs))


def read_runs(folder):
    return json.loads((folder / RUNS).read_text())
