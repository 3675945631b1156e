"""Reading PTB text and its vocabulary: plain Python, shared by both loaders.

A PTB file holds one sentence a line, words split on white space. Each
non-blank line becomes its words followed by <eos>; blank lines are skipped.
"""
import collections
import os
import random
import re

from errors import UserError

EOS = "<eos>"
UNK = "<unk>"
SPLITS = ("train", "valid", "test")
DOWNLOAD_HINT = "run `sh data/download.sh` (or pass --data_dir)"

Corpus = collections.namedtuple("Corpus", "vocab train valid test")
Corpus.__doc__ = """vocab: word -> id; train/valid/test: lists of sentences of ids, <eos> not included."""


def split_path(data_dir, split):
    return os.path.join(data_dir, f"ptb.{split}.txt")


# C0 control characters and DEL, but for tab, line feed and carriage return:
# a file holding them is binary or damaged, not text to learn from.
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def missing_files_hint(data_dir):
    """What to do when data_dir holds no PTB files: pass the folder one
    level down if simple-examples/ was unpacked there, else fetch them."""
    nested = os.path.join(data_dir, "data")
    if os.path.isfile(split_path(nested, "train")):
        return f"the PTB files are one folder down, as simple-examples unpacks: pass --data_dir {nested}"
    return f"looked in {os.path.abspath(data_dir)}; {DOWNLOAD_HINT}"


def read_sentences(path):
    """Return the non-blank lines of a PTB file as lists of words."""
    if not os.path.isfile(path):
        raise UserError(f"{path} not found: {missing_files_hint(os.path.dirname(path))}")
    try:
        with open(path, "rb") as text:
            return sentences_in(text, path)
    except OSError as error:
        raise UserError(f"{path}: cannot read it ({error.strerror})") from None


def sentences_in(lines, name):
    """The non-blank lines of `lines` (bytes, a line each, as a binary file
    gives them) as lists of words; `name` says where they come from."""
    return [words for line_number, raw in enumerate(lines, start=1)
            if (words := decode(raw, name, line_number).split())]


def decode(raw, path, line_number):
    """One line of a PTB file as text; a UserError naming file:line if it is not."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UserError(f"{path}:{line_number}: not valid UTF-8; "
                        "PTB files must be UTF-8 text") from None
    control = CONTROL.search(line)
    if control:
        raise UserError(f"{path}:{line_number}: control character U+{ord(control.group()):04X}; "
                        "PTB files must be plain text")
    return line


def build_vocab(sentences):
    """Map each word to an id: most frequent first, ties broken by the word.

    Counting <eos> once per sentence and sorting on (-count, word) makes the
    ids the same on every run and in both frameworks.
    """
    counts = collections.Counter(word for words in sentences for word in words)
    counts[EOS] += len(sentences)
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    words = [word for word, _ in ordered]
    if UNK not in counts:
        words.append(UNK)
    return {word: index for index, word in enumerate(words)}


def to_ids(sentences, vocab):
    """Sentences of words -> sentences of ids; unknown words become <unk>."""
    unk = vocab[UNK]
    return [[vocab.get(word, unk) for word in words] for words in sentences]


def load_corpus(data_dir):
    """Read the three splits; the vocabulary comes from the training split only."""
    if not os.path.isdir(data_dir):
        raise UserError(f"data directory {data_dir} not found: {missing_files_hint(data_dir)}")
    texts = {split: read_sentences(split_path(data_dir, split)) for split in SPLITS}
    for split, sentences in texts.items():
        if not sentences:
            raise UserError(f"{split_path(data_dir, split)} has no words: every split needs "
                            f"sentences ({DOWNLOAD_HINT})")
    vocab = build_vocab(texts["train"])
    return Corpus(vocab, *(to_ids(texts[split], vocab) for split in SPLITS))


def summary(data):
    """One line per split: its words, sentences and share of <unk>, so that
    a split the vocabulary does not cover is seen before training on it."""
    unk = data.vocab[UNK]
    lines = []
    for split in SPLITS:
        sentences = getattr(data, split)
        words = sum(map(len, sentences))
        unknown = sum(ids.count(unk) for ids in sentences)
        lines.append(f"{split}: {words:,} words, {len(sentences):,} sentences, "
                     f"{unknown / words:.1%} <unk>")
    return lines


def shuffled(items, seed):
    """A copy of `items` in an order fixed by `seed`.

    Both loaders shuffle training sentences with this, so with the same seed
    Fluid and TensorFlow see the sentences of an epoch in the same order; a
    seeded RNG per epoch also makes resumed runs repeat exactly.
    """
    items = list(items)
    random.Random(seed).shuffle(items)
    return items
