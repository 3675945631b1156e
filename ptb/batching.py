"""The stream and chunk arithmetic both loaders use, and which batching to make.

The stream is <eos>, then every sentence followed by <eos>. It is cut into
`batch_size` rows laid side by side, and the rows are read `num_steps`
columns at a time, so row i of one batch continues row i of the batch before
and the LSTM state can be carried across. Targets are the inputs shifted by
one id. With 18 ids (17 targets), batch_size 3 and num_steps 4:

    stream  0 1 2 ... 17
               batch 0        batch 1   tail (batch of 1 row)
    row 0    0  1  2  3   |   4
    row 1    5  6  7  8   |   9
    row 2   10 11 12 13   |  14    ->   15 16
    targets: the same picture with every id plus one

The last columns of a row may make a shorter chunk, and the few targets that
do not fill a row (here 16 and 17) come last as a one-row batch that
continues the last row: every target is scored exactly once. Such smaller
batches train like the others, each moving the weights by its share of a
full step: every script's loss is the batch's summed cost over batch_size,
not over the batch's own rows (docs/batch-weights.md).

Batching by sentences, each sentence is a pair (src, trg) = ([<eos>] +
words, words + [<eos>]). A sentence longer than max_sentence_length steps
is cut into pieces of at most that many, each of which starts from a zero
state, so that a corpus of paragraphs thousands of words long batches into
bounded memory and still scores every target once:

    max_sentence_length 3, words a b c d e:   src  <eos> a b | c d e
                                               trg  a b c     | d e <eos>

Batching by buckets, the same sentences are grouped by length first, so
that a padded batch is nearly all words: the epoch's shuffled pairs are
taken POOL_BATCHES batches at a time, each pool sorted by length and cut
into batches, and the batches shuffled. Every script batches the same
groups (sentence_groups), Fluid unpadded, the others padded:

    shuffled      9 2 7 3 8 2 | 5 9 3 ...        (lengths; a pool of 3 batches of 2)
    sorted        2 2 3 7 8 9 | ...
    batches       [2 2] [3 7] [8 9] ...  ->  shuffled: [8 9] [2 2] ... [3 7]
"""
import numpy as np

from errors import UserError
from ptb import corpus


def id_stream(sentences, vocab):
    """<eos> + each sentence + <eos>: W + L + 1 ids, so W + L targets."""
    eos = vocab[corpus.EOS]
    stream = [eos]
    for words in sentences:
        stream.extend(words)
        stream.append(eos)
    return np.array(stream, dtype=np.int32)


def chunks(stream, batch_size, num_steps):
    """Yield (inputs, targets), each int32 [rows, steps] with steps <= num_steps.

    rows is batch_size, except for the final one-row tail, which continues
    the last row of the batches before it.
    """
    num_targets = len(stream) - 1
    row_length = num_targets // batch_size
    full = batch_size * row_length
    if row_length:
        yield from _columns(stream[:full + 1], batch_size, row_length, num_steps)
    if full < num_targets:
        yield from _columns(stream[full:], 1, num_targets - full, num_steps)


def _columns(ids, rows, row_length, num_steps):
    inputs = ids[:rows * row_length].reshape(rows, row_length)
    targets = ids[1:rows * row_length + 1].reshape(rows, row_length)
    for start in range(0, row_length, num_steps):
        yield inputs[:, start:start + num_steps], targets[:, start:start + num_steps]


def count_chunks(num_targets, batch_size, num_steps, drop_remainder=False):
    """How many batches chunks() yields for a stream of num_targets targets;
    with drop_remainder, how many of them have batch_size rows."""
    row_length, tail = divmod(num_targets, batch_size)
    return -(-row_length // num_steps) + (0 if drop_remainder else -(-tail // num_steps))


def sentence_pairs(sentences, vocab, max_length):
    """Yield (src, trg) id lists for each sentence, or for each piece of at
    most max_length steps of a longer one."""
    eos = vocab[corpus.EOS]
    for words in sentences:
        src, trg = [eos] + words, words + [eos]
        for start in range(0, len(src), max_length):
            yield src[start:start + max_length], trg[start:start + max_length]


# Batching by buckets, how many batches' sentences are sorted together: enough
# for neighbours in length, few enough that a batch still mixes the text.
POOL_BATCHES = 50


def sentence_groups(pairs, batch_size, seed=None, buckets=False):
    """The (src, trg) pairs cut into batches of `batch_size`: in their order,
    shuffled by `seed` if given; with buckets, grouped by length as the
    module's docstring shows (with a seed, the batches shuffled too)."""
    order = corpus.shuffled(pairs, seed) if seed is not None else list(pairs)
    if not buckets:
        return [order[start:start + batch_size] for start in range(0, len(order), batch_size)]
    pool = POOL_BATCHES * batch_size
    groups = []
    for start in range(0, len(order), pool):
        by_length = sorted(order[start:start + pool], key=lambda pair: len(pair[0]))
        groups += [by_length[first:first + batch_size]
                   for first in range(0, len(by_length), batch_size)]
    return corpus.shuffled(groups, seed) if seed is not None else groups


def count_targets(sentences):
    """W + L: every word and every sentence end is one prediction target."""
    return sum(len(words) + 1 for words in sentences)


def count_pieces(sentences, max_length):
    """How many pairs sentence_pairs yields."""
    return sum(-(-(len(words) + 1) // max_length) for words in sentences)


def count_batches(sentences, config, drop_remainder=False):
    """How many batches a split makes under config.batching, in either
    loader; with drop_remainder, how many of them are full."""
    if config.batching == "chunks":
        return count_chunks(count_targets(sentences), config.batch_size, config.num_steps,
                            drop_remainder)
    pieces = count_pieces(sentences, config.max_sentence_length)
    return pieces // config.batch_size if drop_remainder else -(-pieces // config.batch_size)


def check_batch_size(sentences, config):
    """Refuse a --batch_size that one batch of the training split cannot fill
    (on several workers, one global batch of config.workers x --batch_size rows),
    rather than quietly train on smaller batches than asked for."""
    if config.batching != "chunks":
        available, unit = count_pieces(sentences, config.max_sentence_length), "sentences"
    else:
        available, unit = count_targets(sentences), "target words"
    workers = config.workers
    if config.batch_size * workers > available:
        asked = (f"--batch_size {config.batch_size} on {workers} workers (a global batch of "
                 f"{config.batch_size * workers})" if workers > 1 else f"--batch_size {config.batch_size}")
        most = available // workers
        hint = f"choose at most {most:,}" if most else f"use at most {available:,} workers"
        raise UserError(f"{asked} is more than the {available:,} {unit} of the training split; "
                        + hint)


def describe_data(data, config):
    """The start-up log's lines about the data: each split's words, sentences
    and share of <unk>, and how many sentences are cut into pieces."""
    lines = []
    for split, line in zip(corpus.SPLITS, corpus.summary(data)):
        cut = describe_cuts(getattr(data, split), config)
        lines.append(f"  {line}" + (f"; {cut}" if cut else ""))
    return "\n".join(lines)


def describe_cuts(sentences, config):
    """How many sentences batching by sentences cuts into pieces, or ''."""
    if config.batching == "chunks":
        return ""
    limit = config.max_sentence_length
    long = [words for words in sentences if len(words) + 1 > limit]
    if not long:
        return ""
    return (f"{len(long):,} longer than {limit} steps cut into {count_pieces(long, limit):,} "
            "pieces, each starting from a zero state (--max_sentence_length)")


# What a padded or chunk batch of load_data_tf holds, in order.
PADDED_FIELDS = ("current_word", "next_word", "lengths")
CHUNK_FIELDS = PADDED_FIELDS[:2]


class Batches:
    """An epoch's mini-batches: iterate for them, anew each time; len() is
    how many; `fields` names the arrays of each (load_data_tf's batches)."""

    def __init__(self, reader, count, fields=PADDED_FIELDS):
        self.reader, self.count, self.fields = reader, count, fields

    @classmethod
    def listed(cls, batches):
        """The Batches of a list of batches made beforehand."""
        return cls(lambda: batches, len(batches), PADDED_FIELDS[:len(batches[0])])

    def __iter__(self):
        return iter(self.reader())

    def __len__(self):
        return self.count


# A compiled step (--compile) compiles once for each shape it is fed: padded
# sentences are rounded up to a multiple of this many steps, so that an epoch
# has a few lengths (at most max_sentence_length / 8), not one for each.
COMPILED_LENGTH_MULTIPLE = 8


def make_batches(loader, sentences, vocab, config, seed=None):
    """The Batches of `loader` (load_data_fluid or load_data_tf) for
    config.batching: the text's fixed-length chunks in order, or whole
    sentences, shuffled if given a seed (padded ones rounded for a compiled step)."""
    if config.batching == "chunks":
        reader = loader.chunk_batches(sentences, vocab, config.batch_size, config.num_steps)
    else:
        rounded = ({"length_multiple": COMPILED_LENGTH_MULTIPLE} if config.compile and loader.PADDED
                   else {})
        reader = loader.sentence_batches(sentences, vocab, config.batch_size,
                                         config.max_sentence_length, seed,
                                         buckets=config.batching == "buckets", **rounded)
    fields = CHUNK_FIELDS if config.batching == "chunks" else PADDED_FIELDS
    return Batches(reader, count_batches(sentences, config), fields)
