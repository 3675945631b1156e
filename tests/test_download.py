"""data/download.sh with local archives and an unreachable URL."""
import hashlib
import os
import shutil
import subprocess
import tarfile

import pytest

from tests.conftest import REPO

FILES = ["ptb.test.txt", "ptb.train.txt", "ptb.valid.txt"]


@pytest.fixture
def data_dir(tmp_path):
    """A copy of data/ holding only download.sh, so the real data/ is untouched."""
    folder = tmp_path / "repo" / "data"
    folder.mkdir(parents=True)
    shutil.copy(os.path.join(REPO, "data", "download.sh"), folder)
    return folder


def make_archive(tmp_path, files=FILES):
    """A simple-examples.tgz laid out like the real one."""
    source = tmp_path / "src" / "simple-examples" / "data"
    source.mkdir(parents=True)
    for name in files:
        (source / name).write_text(f" words of {name}\n")
    archive = tmp_path / "simple-examples.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(source.parent, arcname="./simple-examples")
    return archive, hashlib.md5(archive.read_bytes()).hexdigest()


def run(data_dir, *args, cwd=None, md5=None, url=None):
    env = dict(os.environ)
    env.update({k: v for k, v in (("PTB_MD5", md5), ("PTB_URL", url)) if v})
    script = "download.sh" if cwd == data_dir else "data/download.sh"
    return subprocess.run(["sh", script, *map(str, args)], cwd=cwd or data_dir.parent,
                          env=env, capture_output=True, text=True, timeout=60)


def test_local_archive_leaves_exactly_the_three_files(tmp_path, data_dir):
    archive, md5 = make_archive(tmp_path)
    result = run(data_dir, archive, md5=md5)
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(data_dir)) == ["download.sh"] + FILES
    assert (data_dir / "ptb.train.txt").read_text() == " words of ptb.train.txt\n"


def test_runs_from_inside_data_and_is_idempotent(tmp_path, data_dir):
    archive, md5 = make_archive(tmp_path)
    assert run(data_dir, "../../simple-examples.tgz", cwd=data_dir, md5=md5).returncode == 0
    again = run(data_dir, cwd=data_dir)  # no archive, no network needed: already there
    assert again.returncode == 0 and "already" in again.stdout
    assert sorted(os.listdir(data_dir)) == ["download.sh"] + FILES


@pytest.mark.parametrize("problem", ["checksum", "not_gzip", "missing_member"])
def test_bad_archive_fails_cleanly(tmp_path, data_dir, problem):
    archive, md5 = make_archive(tmp_path, FILES[:2] if problem == "missing_member" else FILES)
    if problem == "checksum":
        md5 = "0" * 32
    if problem == "not_gzip":
        archive.write_bytes(b"this is not an archive")
        md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    result = run(data_dir, archive, md5=md5)
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert os.listdir(data_dir) == ["download.sh"]  # no partial or temporary files


def test_default_checksum_rejects_a_foreign_archive(tmp_path, data_dir):
    archive, _ = make_archive(tmp_path)
    result = run(data_dir, archive)
    assert result.returncode != 0 and "md5" in result.stderr
    assert os.listdir(data_dir) == ["download.sh"]


def test_unreachable_network_fails_cleanly(data_dir):
    result = run(data_dir, url="http://127.0.0.1:9/simple-examples.tgz")
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1].startswith("download.sh: could not download")
    assert os.listdir(data_dir) == ["download.sh"]


def test_unreadable_local_path_fails_cleanly(tmp_path, data_dir):
    result = run(data_dir, tmp_path / "nowhere.tgz")
    assert result.returncode != 0 and "cannot read" in result.stderr
    assert os.listdir(data_dir) == ["download.sh"]


def test_mini_cuts_ptb_mini_from_the_download(data_dir):
    shutil.copy(os.path.join(REPO, "data", "mini.sh"), data_dir)
    lines = {"train": ["a b", "c"], "valid": ["v1", "v2", "v3", "v4"], "test": ["t1", "t2 t3"]}
    for split, text in lines.items():
        (data_dir / f"ptb.{split}.txt").write_text("".join(f" {line}\n" for line in text))
    result = subprocess.run(["sh", "data/mini.sh"], cwd=data_dir.parent, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    mini = data_dir / "ptb-mini"
    assert sorted(os.listdir(mini)) == FILES
    assert (mini / "ptb.train.txt").read_text() == " t1\n t2 t3\n"  # PTB's test text
    assert (mini / "ptb.valid.txt").read_text() == " v1\n v2\n"
    assert (mini / "ptb.test.txt").read_text() == " v3\n v4\n"


def test_mini_without_the_download_fails_in_one_line(data_dir):
    shutil.copy(os.path.join(REPO, "data", "mini.sh"), data_dir)
    result = subprocess.run(["sh", "data/mini.sh"], cwd=data_dir.parent, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1 and result.stderr.strip().endswith("run sh data/download.sh first")
    assert sorted(os.listdir(data_dir)) == ["download.sh", "mini.sh"]
