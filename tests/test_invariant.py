"""Both loaders, batching any way, score exactly W + L targets, with the same ids."""
import random

import numpy as np
import pytest

import load_data_fluid
import load_data_tf
from ptb import batching, corpus
from tests.corpora import grammar_sentence, write_split

LONG_LINE = " ".join(["a", "b", "c"] * 400)
PARAGRAPH = " ".join(["a", "b", "c", "d", "e"] * 20_000)  # 100,000 words on one line


@pytest.mark.parametrize("valid_lines, max_length", [
    (["a b c", "", "b", "   ", "c a"], 100),      # blank lines
    (["a zebra c", "quagga", "b b b b"], 100),     # out-of-vocabulary words
    (["a", LONG_LINE, "b c"], 100),                # a very long line, cut into pieces
    (["a", LONG_LINE, "b c"], 2000),               # the same line whole
    (["b c", PARAGRAPH, "a"], 100),                # a paragraph of 100,000 words
    (["a"], 1),                                    # one word, in pieces of one step
])
def test_both_loaders_score_words_plus_lines(tmp_path, valid_lines, max_length):
    rng = random.Random(0)
    write_split(tmp_path, "train", ["a b c", "c b a"] + [grammar_sentence(rng) for _ in range(20)])
    write_split(tmp_path, "valid", valid_lines)
    write_split(tmp_path, "test", ["a"])
    data = corpus.load_corpus(str(tmp_path))
    words_plus_lines = sum(len(line.split()) + 1 for line in valid_lines if line.strip())

    fluid_targets = np.concatenate([
        load_data_fluid.flat_column(batch, 1).ravel()
        for batch in load_data_fluid.sentence_batches(data.valid, data.vocab, 3, max_length)()])
    stream = batching.id_stream(data.valid, data.vocab)
    tf_targets = np.concatenate([
        y.ravel() for _, y in batching.chunks(stream, 3, 5)])

    fluid_chunk_targets = np.concatenate([
        load_data_fluid.flat_column(batch, 1).ravel()
        for batch in load_data_fluid.chunk_batches(data.valid, data.vocab, 3, 5)()])
    tf_sentence_targets = np.concatenate([
        targets[row, :length]
        for _, targets, lengths in load_data_tf.sentence_batches(data.valid, data.vocab, 3, max_length)()
        for row, length in enumerate(lengths)])

    # By buckets, the same targets grouped by length; each once.
    fluid_bucket_targets, tf_bucket_targets = (
        np.concatenate([load_data_fluid.flat_column(batch, 1).ravel() for batch in
                        load_data_fluid.sentence_batches(data.valid, data.vocab, 3, max_length,
                                                         seed=1, buckets=True)()]),
        np.concatenate([targets[row, :length]
                        for _, targets, lengths in load_data_tf.sentence_batches(
                            data.valid, data.vocab, 3, max_length, seed=1, buckets=True)()
                        for row, length in enumerate(lengths)]))

    assert len(fluid_targets) == len(tf_targets) == words_plus_lines
    np.testing.assert_array_equal(fluid_bucket_targets, tf_bucket_targets)
    np.testing.assert_array_equal(np.sort(tf_bucket_targets), np.sort(stream[1:]))
    np.testing.assert_array_equal(fluid_targets, stream[1:])
    np.testing.assert_array_equal(tf_sentence_targets, stream[1:])
    np.testing.assert_array_equal(np.sort(tf_targets), np.sort(stream[1:]))
    np.testing.assert_array_equal(fluid_chunk_targets, tf_targets)


def test_sentence_pieces_never_pass_the_limit_and_tile_the_sentence():
    vocab = {corpus.EOS: 0, **{str(i): i for i in range(1, 10)}}
    sentence = [1, 2, 3, 4, 5, 6, 7]  # 8 steps
    pairs = list(batching.sentence_pairs([sentence], vocab, 3))
    assert pairs == [([0, 1, 2], [1, 2, 3]), ([3, 4, 5], [4, 5, 6]), ([6, 7], [7, 0])]
    assert batching.count_pieces([sentence, [1]], 3) == len(pairs) + 1
    batches = list(load_data_tf.sentence_batches([sentence] * 5, vocab, 4, 3)())
    assert max(inputs.shape[1] for inputs, _, _ in batches) == 3
    fluid = list(load_data_fluid.sentence_batches([sentence] * 5, vocab, 4, 3)())
    assert max(len(src) for batch in fluid for src, _ in batch) == 3
    assert len(batches) == len(fluid) == -(-15 // 4)
