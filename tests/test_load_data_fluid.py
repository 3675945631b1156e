"""load_data_fluid: unpadded LoD tensors, seeded shuffling, chunks as equal-length sequences."""
import numpy as np

import load_data_fluid
import load_data_tf
from compat.paddle_fluid import paddle
from config import Config
from ptb import batching
from ptb.corpus import EOS

VOCAB = {EOS: 0, "a": 1, "b": 2, "c": 3}
SENTENCES = [[1, 2, 3, 1], [2], [3, 3]]


def test_pairs_predict_every_word_and_the_end():
    pairs = list(load_data_fluid.sentence_reader(SENTENCES, VOCAB, 100)())
    assert pairs[0] == ([0, 1, 2, 3, 1], [1, 2, 3, 1, 0])
    assert pairs[1] == ([0, 2], [2, 0])


def test_lod_tensors_are_flat_and_unpadded():
    batch = next(load_data_fluid.sentence_batches(SENTENCES, VOCAB, 3, 100)())
    current, following = load_data_fluid.to_lod_tensors(batch, paddle.CPUPlace())
    assert current.lod() == [[0, 5, 7, 10]]
    assert np.array(current).tolist() == [[0], [1], [2], [3], [1], [0], [2], [0], [3], [3]]
    assert np.array(following).ravel().tolist() == [1, 2, 3, 1, 0, 2, 0, 3, 3, 0]
    assert np.array(current).dtype == np.int64 and np.array(current).shape == (10, 1)


def test_training_batches_are_shuffled_by_seed_and_complete():
    sentences = [[i % 3 + 1] * (i + 1) for i in range(25)]

    def order(seed):
        return [src for batch in load_data_fluid.sentence_batches(sentences, VOCAB, 4, 100, seed)()
                for src, _ in batch]
    assert order(7) == order(7)
    assert order(7) != order(8)
    assert sorted(map(len, order(7))) == sorted(len(s) + 1 for s in sentences)
    batch_sizes = [len(b) for b in load_data_fluid.sentence_batches(sentences, VOCAB, 4, 100, 7)()]
    assert batch_sizes == [4] * 6 + [1]


def test_chunk_batches_are_tf_chunks_as_equal_length_sequences():
    fluid = list(load_data_fluid.chunk_batches(SENTENCES, VOCAB, 2, 3)())
    stream = batching.id_stream(SENTENCES, VOCAB)
    tf = list(batching.chunks(stream, 2, 3))
    assert len(fluid) == len(tf) == batching.count_batches(
        SENTENCES, Config(batching="chunks", batch_size=2, num_steps=3))
    for batch, (inputs, targets) in zip(fluid, tf):
        current, following = load_data_fluid.to_lod_tensors(batch, paddle.CPUPlace())
        rows, steps = inputs.shape
        assert current.lod() == [list(range(0, rows * steps + 1, steps))]
        assert np.array(current).ravel().tolist() == inputs.ravel().tolist()
        assert np.array(following).ravel().tolist() == targets.ravel().tolist()


def test_both_loaders_shuffle_sentences_into_the_same_order():
    sentences = [[i % 3 + 1] * (i + 1) for i in range(25)]
    fluid = [trg for batch in load_data_fluid.sentence_batches(sentences, VOCAB, 4, 100, 7)()
             for _, trg in batch]
    tf = [targets[row, :length].tolist()
          for _, targets, lengths in load_data_tf.sentence_batches(sentences, VOCAB, 4, 100, seed=7)()
          for row, length in enumerate(lengths)]
    assert fluid == tf
