import pytest

from errors import UserError
from ptb import batching, corpus
from ptb.corpus import EOS, UNK
from tests.corpora import write_split


def write_corpus(folder, train, valid=("a",), test=("a",)):
    for split, lines in (("train", train), ("valid", valid), ("test", test)):
        write_split(folder, split, lines)
    return str(folder)


def test_vocab_is_ordered_by_count_then_word(tmp_path):
    data = write_corpus(tmp_path, ["b a c", "a b", "a d"])
    vocab = corpus.load_corpus(data).vocab
    # a:3 = <eos>:3 (tie broken by the word: '<' sorts before 'a'), b:2, c:1 = d:1, then <unk>
    assert list(vocab) == [EOS, "a", "b", "c", "d", UNK]
    assert list(vocab.values()) == list(range(6))


def test_unk_is_not_added_twice_when_train_has_it(tmp_path):
    data = write_corpus(tmp_path, ["x <unk> x"])
    vocab = corpus.load_corpus(data).vocab
    assert list(vocab) == ["x", EOS, UNK]


def test_unknown_words_of_valid_and_test_map_to_unk(tmp_path):
    data = write_corpus(tmp_path, ["a b"], valid=["a zebra"], test=["quagga b"])
    loaded = corpus.load_corpus(data)
    unk = loaded.vocab[UNK]
    assert loaded.valid == [[loaded.vocab["a"], unk]]
    assert loaded.test == [[unk, loaded.vocab["b"]]]


def test_blank_lines_crlf_and_tabs(tmp_path):
    path = tmp_path / "ptb.train.txt"
    path.write_bytes(b" a b \r\n\r\n   \n\ta\tc\r\n \t \n d\n")
    assert corpus.read_sentences(str(path)) == [["a", "b"], ["a", "c"], ["d"]]


def test_count_targets_is_words_plus_lines():
    assert batching.count_targets([[1, 2, 3], [4], [5, 6]]) == 6 + 3


def test_invalid_utf8_names_file_and_line(tmp_path):
    path = tmp_path / "ptb.train.txt"
    path.write_bytes(b" fine line\n bad \xff byte\n")
    with pytest.raises(UserError, match=r"ptb\.train\.txt:2: not valid UTF-8"):
        corpus.read_sentences(str(path))


def test_missing_directory_points_at_download(tmp_path):
    with pytest.raises(UserError, match="sh data/download.sh"):
        corpus.load_corpus(str(tmp_path / "nowhere"))


def test_missing_file_points_at_download(tmp_path):
    write_split(tmp_path, "train", ["a b"])
    with pytest.raises(UserError, match=r"ptb\.valid\.txt not found.*sh data/download.sh"):
        corpus.load_corpus(str(tmp_path))


def test_empty_training_file_is_refused(tmp_path):
    data = write_corpus(tmp_path, ["", "  "])
    with pytest.raises(UserError, match="has no words"):
        corpus.load_corpus(data)


def test_an_unpacked_simple_examples_is_pointed_one_folder_down(tmp_path):
    for split in corpus.SPLITS:
        write_split(tmp_path / "simple-examples" / "data", split, [["a", "b"]])
    with pytest.raises(UserError, match=r"one folder down.*pass --data_dir .*simple-examples/data$"):
        corpus.load_corpus(str(tmp_path / "simple-examples"))


def test_a_folder_without_ptb_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    with pytest.raises(UserError, match=rf"looked in {tmp_path}/data; run `sh data/download.sh`"):
        corpus.load_corpus("data")
