"""load_data_tf: the chunks as numpy arrays, and padded sentences worked out by hand."""
import numpy as np

import load_data_tf
from ptb import batching
from ptb.corpus import EOS

VOCAB = {EOS: 0, "a": 1, "b": 2, "c": 3}


def test_chunk_batches_are_the_stream_chunks():
    sentences = [[1, 2, 3, 1], [2], [3, 3]]
    stream = batching.id_stream(sentences, VOCAB)
    mine = list(load_data_tf.chunk_batches(sentences, VOCAB, 2, 3)())
    assert [(x.tolist(), y.tolist()) for x, y in mine] == [
        (x.tolist(), y.tolist()) for x, y in batching.chunks(stream, 2, 3)]
    assert all(x.dtype == np.int32 for x, _ in mine)
    assert load_data_tf.batch_targets(mine[0]) == mine[0][1].size


def test_sentence_batches_pad_to_the_longest_and_give_lengths():
    batches = list(load_data_tf.sentence_batches([[1, 2, 3, 1], [2], [3, 3]], VOCAB, 3, 100)())
    assert len(batches) == 1
    inputs, targets, lengths = batches[0]
    assert inputs.tolist() == [[0, 1, 2, 3, 1], [0, 2, 0, 0, 0], [0, 3, 3, 0, 0]]
    assert targets.tolist() == [[1, 2, 3, 1, 0], [2, 0, 0, 0, 0], [3, 3, 0, 0, 0]]
    assert lengths.tolist() == [5, 2, 3]
    assert load_data_tf.batch_targets(batches[0]) == 10
