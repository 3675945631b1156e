"""TensorFlow-style batches: numpy arrays, fixed-length chunks or padded sentences.

The padded loader of three scripts: rnnlm_tensorflow.py, rnnlm_paddle.py and
rnnlm_keras.py (the card keeps its 2018 name; Fluid's LoD loader is
load_data_fluid.py).

By default the split is one stream cut into [batch_size, num_steps] chunks
(the picture is in ptb/batching.py): row i of one batch continues row i of
the batch before, so the LSTM state can be carried across.

For --batching sentences, sentence_batches pads whole sentences to the
longest of each batch instead:

    inputs   <eos> the cat sat      lengths  4
             <eos> hi  .   .                 2     (. = padding, masked
             <eos> go  on  .                 3      out of the loss)

A compiled step (--compile: XLA in the TF scripts) is compiled anew for
every shape it is fed, so there the padded length is rounded up to a
multiple of a few steps (length_multiple), which bounds the shapes of an
epoch to a few; the padding is masked like any other.

Each function returns a reader, as the Fluid loader does: call it for an
iterator of tuples of numpy arrays, which feed the placeholders in order.
It is the loader of the three padded scripts: rnnlm_tensorflow.py,
rnnlm_paddle.py and rnnlm_keras.py.
"""
import numpy as np

from ptb import batching, corpus


def chunk_batches(sentences, vocab, batch_size, num_steps):
    """A reader of (inputs, targets), each int32 [rows, steps]: the text's chunks in order."""
    stream = batching.id_stream(sentences, vocab)
    return lambda: batching.chunks(stream, batch_size, num_steps)


# The sentences go in padded: ptb.batching.make_batches rounds their length for a compiled step.
PADDED = True


def sentence_batches(sentences, vocab, batch_size, max_length, seed=None, buckets=False,
                     length_multiple=1):
    """A reader of (inputs, targets, lengths): batch_size whole sentences,
    each [<eos>] + words -> words + [<eos>], padded to the longest of the
    batch, rounded up to a multiple of length_multiple.

    A sentence of more than max_length steps comes in pieces (ptb.batching).
    With a seed, the sentences are shuffled as load_data_fluid shuffles them;
    with buckets, grouped by length first, in the same groups as Fluid's.
    """
    pairs = list(batching.sentence_pairs(sentences, vocab, max_length))
    eos = vocab[corpus.EOS]

    def reader():
        for group in batching.sentence_groups(pairs, batch_size, seed, buckets):
            yield padded(group, eos, length_multiple)
    return reader


def padded(pairs, eos, length_multiple=1):
    """(inputs, targets, lengths) of some (src, trg) pairs, padded with <eos>
    to the longest, rounded up to a multiple of length_multiple."""
    lengths = np.array([len(src) for src, _ in pairs], dtype=np.int32)
    steps = -(-lengths.max() // length_multiple) * length_multiple
    inputs, targets = (np.full((len(pairs), steps), eos, dtype=np.int32) for _ in range(2))
    for row, (src, trg) in enumerate(pairs):
        inputs[row, :len(src)], targets[row, :len(trg)] = src, trg
    return inputs, targets, lengths


def batch_targets(batch):
    """The target tokens a mini-batch scores: all of a chunk; a sentence
    batch's lengths. The batch may come as numpy arrays or any framework's
    tensors (today's scripts read it through their input pipelines)."""
    _, targets, *lengths = batch
    return int(np.sum(lengths[0])) if lengths else int(np.size(targets))
