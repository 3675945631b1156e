"""Both loaders, batching either way, score exactly W + L targets, with the same ids."""
import random

import numpy as np
import pytest

import load_data_fluid
import load_data_tf
from ptb import batching, corpus
from tests.corpora import grammar_sentence, write_split

LONG_LINE = " ".join(["a", "b", "c"] * 400)


@pytest.mark.parametrize("valid_lines", [
    ["a b c", "", "b", "   ", "c a"],              # blank lines
    ["a zebra c", "quagga", "b b b b"],             # out-of-vocabulary words
    ["a", LONG_LINE, "b c"],                        # a very long line
    ["a"],                                          # one word
])
def test_both_loaders_score_words_plus_lines(tmp_path, valid_lines):
    rng = random.Random(0)
    write_split(tmp_path, "train", ["a b c", "c b a"] + [grammar_sentence(rng) for _ in range(20)])
    write_split(tmp_path, "valid", valid_lines)
    write_split(tmp_path, "test", ["a"])
    data = corpus.load_corpus(str(tmp_path))
    words_plus_lines = sum(len(line.split()) + 1 for line in valid_lines if line.strip())

    fluid_targets = np.concatenate([
        load_data_fluid.flat_column(batch, 1).ravel()
        for batch in load_data_fluid.sentence_batches(data.valid, data.vocab, 3)()])
    stream = batching.id_stream(data.valid, data.vocab)
    tf_targets = np.concatenate([
        y.ravel() for _, y in batching.chunks(stream, 3, 5)])

    fluid_chunk_targets = np.concatenate([
        load_data_fluid.flat_column(batch, 1).ravel()
        for batch in load_data_fluid.chunk_batches(data.valid, data.vocab, 3, 5)()])
    tf_sentence_targets = np.concatenate([
        targets[row, :length]
        for _, targets, lengths in load_data_tf.sentence_batches(data.valid, data.vocab, 3)
        for row, length in enumerate(lengths)])

    assert len(fluid_targets) == len(tf_targets) == words_plus_lines
    np.testing.assert_array_equal(fluid_targets, stream[1:])
    np.testing.assert_array_equal(tf_sentence_targets, stream[1:])
    np.testing.assert_array_equal(np.sort(tf_targets), np.sort(stream[1:]))
    np.testing.assert_array_equal(fluid_chunk_targets, tf_targets)
