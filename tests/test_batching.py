"""ptb.batching: the stream, its chunks worked out by hand, and the batch counts."""
import numpy as np
import pytest

from config import Config
from errors import UserError
from ptb import batching
from ptb.corpus import EOS


def test_chunks_worked_out_by_hand():
    # 18 ids = 17 targets, 3 rows of 5 and a tail of 2 (the picture in ptb/batching.py).
    batches = list(batching.chunks(np.arange(18, dtype=np.int32), 3, 4))
    expected = [
        ([[0, 1, 2, 3], [5, 6, 7, 8], [10, 11, 12, 13]],
         [[1, 2, 3, 4], [6, 7, 8, 9], [11, 12, 13, 14]]),
        ([[4], [9], [14]], [[5], [10], [15]]),
        ([[15, 16]], [[16, 17]]),
    ]
    assert [(x.tolist(), y.tolist()) for x, y in batches] == expected
    assert batching.count_chunks(17, 3, 4) == 3


def test_rows_continue_across_batches():
    stream = np.arange(1000, dtype=np.int32)
    batches = list(batching.chunks(stream, 4, 7))
    full = [(x, y) for x, y in batches if x.shape[0] == 4]
    for (x0, y0), (x1, _) in zip(full, full[1:]):
        assert x0.shape[1] == 7
        np.testing.assert_array_equal(x1[:, 0], y0[:, -1])  # next input = last target
    tail_x = batches[-1][0]
    assert tail_x.shape[0] == 1 and tail_x[0, 0] == full[-1][1][-1, -1]


def test_every_target_once_with_chunk_shapes():
    for num_targets in (1, 3, 5, 40, 41, 239):
        stream = np.arange(num_targets + 1, dtype=np.int32)
        batches = list(batching.chunks(stream, 5, 6))
        assert len(batches) == batching.count_chunks(num_targets, 5, 6)
        targets = np.concatenate([y.ravel() for _, y in batches])
        assert sorted(targets.tolist()) == list(range(1, num_targets + 1))
        for x, y in batches:
            assert x.shape == y.shape and x.shape[1] <= 6 and x.shape[0] in (1, 5)
            np.testing.assert_array_equal(y, x + 1)


def test_id_stream_starts_and_ends_sentences_with_eos():
    vocab = {EOS: 0, "a": 1, "b": 2}
    stream = batching.id_stream([[1, 2], [2]], vocab)
    assert stream.tolist() == [0, 1, 2, 0, 2, 0]
    assert stream.dtype == np.int32


def test_count_batches_for_each_batching():
    sentences = [[1]] * 7  # 14 targets
    assert batching.count_batches(sentences, Config(batching="sentences", batch_size=3)) == 3
    # 3 rows of 4 targets in chunks of 3 steps (2 batches), then a 2-target tail.
    chunks = Config(batching="chunks", batch_size=3, num_steps=3)
    assert batching.count_batches(sentences, chunks) == 2 + 1


def test_a_global_batch_too_large_for_the_data_names_the_workers():
    """On 2 workers, --batch_size 20 asks for 40 sentences a step: the hint is
    the largest --batch_size each worker can have."""
    config = Config(batching="sentences", batch_size=20, workers=2)
    with pytest.raises(UserError) as refused:
        batching.check_batch_size([[1, 2]] * 30, config)
    assert str(refused.value) == ("--batch_size 20 on 2 workers (a global batch of 40) is more than "
                                  "the 30 sentences of the training split; choose at most 15")
    with pytest.raises(UserError, match="more than the 3 sentences .*; use at most 3 workers$"):
        batching.check_batch_size([[1, 2]] * 3, Config(batching="sentences", batch_size=1, workers=4))
