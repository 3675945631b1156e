"""TensorFlow's sparse gradients, one row per index, for either TensorFlow
mode (the framework comes in as an argument, as the scripts imported it)."""


def each_word_once(tf, grad):
    """The embedding's gradient with one row per word.

    It comes as IndexedSlices with a row for every word of the batch (or,
    gathered from several workers, of every worker's batch), a repeated
    word's gradient split over several rows; clip_by_global_norm would
    square those rows one by one, not their sum, and clip by a wrong norm.
    Summed per word, it is the norm Fluid and Paddle clip by, and it stays
    sparse: made dense, [vocab, hidden], it slowed each v1 step (the more
    at `small`: docs/performance.md). A dense gradient comes back as it is.
    """
    if not isinstance(grad, tf.IndexedSlices):
        return grad
    words, rows = tf.unique(grad.indices)
    summed = tf.math.unsorted_segment_sum(grad.values, rows, tf.size(words))
    return tf.IndexedSlices(summed, words, grad.dense_shape)
