"""Fluid-style batches: whole sentences, unpadded, as LoD tensors.

A mini-batch of sentences is one flat column of word ids plus the offsets
where each sentence starts. For three sentences of 4, 2 and 3 targets:

    current_word  <eos> the cat sat | <eos> hi | <eos> go  on      flat [9, 1] int64
    next_word     the   cat sat <eos>| hi <eos>| go    on  <eos>   flat [9, 1] int64
    LoD (offsets) [0,                  4,        6,              9]

No padding anywhere: the lstm operator reads the offsets and runs every
sentence for exactly its own length. For --batching chunks, the sequences
are the text's fixed-length chunks instead (chunk_batches below), all of one
length, so nothing is padded either.

Each function returns a Paddle reader creator: call it for an iterator.
"""
import numpy as np

from compat.paddle_fluid import paddle
from ptb import batching, corpus

# The sentences go in unpadded, each LoD sequence its own length: nothing to round for --compile.
PADDED = False


def sentence_reader(sentences, vocab, max_length):
    """A Paddle reader creator yielding (src_ids, trg_ids) for each sentence.

    src = [<eos>] + words and trg = words + [<eos>]: the leading <eos> marks
    the start, so every word and the sentence end are predicted. A sentence
    of more than max_length steps comes in pieces (ptb.batching).
    """
    def reader():
        yield from batching.sentence_pairs(sentences, vocab, max_length)
    return reader


def seeded_shuffle(reader, seed):
    """Like paddle.reader.shuffle over the whole split, but seeded.

    paddle.reader.shuffle draws from the global `random` module, so an
    epoch's order would depend on everything run before it.
    """
    def shuffled_reader():
        yield from corpus.shuffled(reader(), seed)
    return shuffled_reader


def sentence_batches(sentences, vocab, batch_size, max_length, seed=None, buckets=False):
    """Mini-batches of `batch_size` (src, trg) sentence pairs: in file order,
    or shuffled by `seed` (as load_data_tf shuffles them); with buckets,
    sentences of similar length together, the groups load_data_tf pads."""
    reader = sentence_reader(sentences, vocab, max_length)
    if buckets:
        return lambda: iter(batching.sentence_groups(list(reader()), batch_size, seed, buckets))
    if seed is not None:
        reader = seeded_shuffle(reader, seed)
    return paddle.batch(reader, batch_size)


def chunk_batches(sentences, vocab, batch_size, num_steps):
    """The text's [batch_size, num_steps] chunks (ptb.batching), each row
    one sequence of a LoD batch.

    Row i of a batch continues row i of the batch before, so the LSTM state
    can be carried across batches.
    """
    stream = batching.id_stream(sentences, vocab)

    def batches():
        for inputs, targets in batching.chunks(stream, batch_size, num_steps):
            yield list(zip(inputs, targets))
    return batches


def to_lod_tensors(batch, place):
    """A mini-batch of (src, trg) pairs -> two LoD tensors for current_word, next_word."""
    lengths = [[len(src) for src, _ in batch]]
    return [paddle.base.create_lod_tensor(flat_column(batch, side), lengths, place)
            for side in (0, 1)]


def flat_column(batch, side):
    """One side of every pair, concatenated: int64 [total_words, 1]."""
    return np.concatenate([pair[side] for pair in batch]).astype("int64").reshape(-1, 1)


def batch_targets(batch):
    """The target tokens a mini-batch scores."""
    return sum(len(trg) for _, trg in batch)
