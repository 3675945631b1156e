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


def bucketed_corpus():
    """300 sentences of 1 to 60 words, shuffled: lengths as spread as PTB's."""
    rng = np.random.default_rng(3)
    return [[int(word) for word in rng.integers(1, 4, size=length)]
            for length in rng.integers(1, 61, size=300)]


def test_both_loaders_bucket_the_same_groups_of_similar_length():
    """One seed, the same batches as word ids: Fluid's unpadded, TF's padded
    (the other two scripts batch with load_data_tf); nearly nothing padded,
    every sentence once, and the batches shuffled by the seed."""
    sentences = bucketed_corpus()
    fluid = [[trg for _, trg in batch] for batch in
             load_data_fluid.sentence_batches(sentences, VOCAB, 4, 100, seed=7, buckets=True)()]
    tf = list(load_data_tf.sentence_batches(sentences, VOCAB, 4, 100, seed=7, buckets=True)())
    assert fluid == [[targets[row, :length].tolist() for row, length in enumerate(lengths)]
                     for _, targets, lengths in tf]
    padded_steps = sum(targets.size for _, targets, _ in tf)
    words = sum(int(lengths.sum()) for _, _, lengths in tf)
    unbucketed = load_data_tf.sentence_batches(sentences, VOCAB, 4, 100, seed=7)()
    assert 1 - words / padded_steps < 0.05 < 1 - words / sum(t.size for _, t, _ in unbucketed)
    assert sorted(map(tuple, sum(fluid, []))) == sorted(tuple(words + [0]) for words in sentences)
    again = load_data_tf.sentence_batches(sentences, VOCAB, 4, 100, seed=8, buckets=True)()
    assert [lengths.tolist() for *_, lengths in again] != [lengths.tolist() for *_, lengths in tf]
    assert len(tf) == batching.count_batches(sentences, Config(batching="buckets", batch_size=4))
