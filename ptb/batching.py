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
continues the last row: every target is scored exactly once.
"""
import numpy as np

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


def count_chunks(num_targets, batch_size, num_steps):
    """How many batches chunks() yields for a stream of num_targets targets."""
    row_length, tail = divmod(num_targets, batch_size)
    return -(-row_length // num_steps) + -(-tail // num_steps)


def count_batches(sentences, config):
    """How many batches a split makes under config.batching, in either loader."""
    if config.batching == "chunks":
        return count_chunks(corpus.count_targets(sentences), config.batch_size, config.num_steps)
    return -(-len(sentences) // config.batch_size)


def make_batches(loader, sentences, vocab, config, seed=None):
    """The batches of `loader` (load_data_fluid or load_data_tf) for
    config.batching: the text's fixed-length chunks in order, or whole
    sentences, shuffled if given a seed."""
    if config.batching == "chunks":
        return loader.chunk_batches(sentences, vocab, config.batch_size, config.num_steps)
    return loader.sentence_batches(sentences, vocab, config.batch_size, seed)
