"""TensorFlow-style batches: the split as one stream, cut into fixed-length chunks.

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

For --batching sentences, sentence_batches pads whole sentences instead:

    inputs   <eos> the cat sat      lengths  4
             <eos> hi  .   .                 2     (. = padding, masked
             <eos> go  on  .                 3      out of the loss)
"""
import numpy as np

import corpus


def id_stream(sentences, vocab):
    """<eos> + each sentence + <eos>: W + L + 1 ids, so W + L targets."""
    eos = vocab[corpus.EOS]
    stream = [eos]
    for words in sentences:
        stream.extend(words)
        stream.append(eos)
    return np.array(stream, dtype=np.int32)


def chunk_batches(stream, batch_size, num_steps):
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


def count_chunk_batches(num_targets, batch_size, num_steps):
    """How many batches chunk_batches yields for a stream of num_targets targets."""
    row_length, tail = divmod(num_targets, batch_size)
    return -(-row_length // num_steps) + -(-tail // num_steps)


def count_batches(sentences, batching, batch_size, num_steps):
    """How many batches a split makes, batched by "sentences" or "chunks"."""
    if batching == "chunks":
        return count_chunk_batches(corpus.count_targets(sentences), batch_size, num_steps)
    return -(-len(sentences) // batch_size)


def sentence_batches(sentences, vocab, batch_size, seed=None):
    """Yield (inputs, targets, lengths): batch_size whole sentences, each
    [<eos>] + words -> words + [<eos>], padded to the longest of the batch.

    With a seed, the sentences are shuffled as load_data_fluid shuffles them.
    """
    order = corpus.shuffled(sentences, seed) if seed is not None else sentences
    eos = vocab[corpus.EOS]
    for start in range(0, len(order), batch_size):
        batch = [[eos] + words + [eos] for words in order[start:start + batch_size]]
        lengths = np.array([len(ids) - 1 for ids in batch], dtype=np.int32)
        padded = np.full((len(batch), lengths.max() + 1), eos, dtype=np.int32)
        for row, ids in enumerate(batch):
            padded[row, :len(ids)] = ids
        yield padded[:, :-1], padded[:, 1:], lengths


def count_targets(batch):
    """The targets a batch scores: all of a chunk; a sentence batch's lengths."""
    _, targets, *lengths = batch
    return int(lengths[0].sum()) if lengths else targets.size
