"""Train an LSTM language model on PTB with TensorFlow's v1 graph API.

The text goes in as one stream cut into fixed-length chunks
[batch_size, num_steps]; MultiRNNCell of BasicLSTMCell runs under
dynamic_rnn, and the LSTM state is carried from one chunk to the next.
--batching sentences feeds whole sentences padded to the longest of each
batch instead, the padding masked out of the loss. Mirrors rnnlm_fluid.py
section by section.

    python rnnlm_tensorflow.py --model small --data_dir data
"""
import collections

import load_data_tf
from compat.tf_v1 import tf
from config import cpu_threads, learning_rate_at, parse_config
from ptb.batching import count_batches, make_batches
from training.errors import UserError, describe_stop, run_cli, stops_deferred
from training.progress import Progress, check_not_diverged
from training.reports import epoch_record, report_epoch
from training.run import end_run, start_run
from training.state import carried_state, state_feed

FRAMEWORK = "tensorflow"

# --------------------------------------------------------------------- model

Network = collections.namedtuple("Network", "feeds loss initial_state final_state")
Network.__doc__ = """feeds: the word placeholders (and, batching by sentences,
the lengths); loss: summed over each row's steps, averaged over the rows of
the batch; initial_state: each layer's (c, h) placeholders; final_state:
each layer's (c, h) after the last step. The state tuples are empty unless
batching by chunks."""

Optimizer = collections.namedtuple("Optimizer", "train_op learning_rate")


def build_network(config, is_training):
    """Describe the model in the default graph: placeholders to loss."""
    # [batch_size, num_steps] int32 each (num_steps: the longest sentence,
    # batching by sentences); None so that every batch shape fits.
    current_word = tf.placeholder(tf.int32, [None, None], "current_word")
    next_word = tf.placeholder(tf.int32, [None, None], "next_word")
    feeds = [current_word, next_word]

    embedding = tf.get_variable("embedding", [config.vocab_size, config.hidden_size])
    x = dropout(tf.nn.embedding_lookup(embedding, current_word), config, is_training)
    cell = tf.nn.rnn_cell.MultiRNNCell([lstm_cell(config, is_training)
                                        for _ in range(config.num_layers)])
    if config.batching == "chunks":
        # Chunks carry the state from batch to batch.
        initial_state = state_placeholders(config)
        outputs, final_state = tf.nn.dynamic_rnn(cell, x, initial_state=initial_state)
        mask = 1.0
    else:
        # Padded sentences: each row starts from zeros and stops at its length.
        lengths = tf.placeholder(tf.int32, [None], "lengths")
        feeds.append(lengths)
        outputs, _ = tf.nn.dynamic_rnn(cell, x, sequence_length=lengths, dtype=tf.float32)
        initial_state = final_state = ()
        mask = tf.sequence_mask(lengths, tf.shape(next_word)[1], tf.float32)

    softmax_w = tf.get_variable("softmax_w", [config.hidden_size, config.vocab_size])
    softmax_b = tf.get_variable("softmax_b", [config.vocab_size])
    logits = tf.matmul(tf.reshape(outputs, [-1, config.hidden_size]), softmax_w) + softmax_b
    cost = tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.reshape(next_word, [-1]), logits=logits)  # [batch_size * num_steps]
    # Padding out; then sum over each row's steps, mean over rows: TF's PTB
    # tutorial's scaling, which the presets' learning rates were tuned for.
    cost = tf.reshape(cost, tf.shape(next_word)) * mask
    loss = tf.reduce_sum(cost) / tf.cast(tf.shape(next_word)[0], tf.float32)
    return Network(feeds, loss, initial_state, final_state)


def state_placeholders(config):
    """One LSTMStateTuple of (c, h) placeholders, [batch_size, hidden] each, per layer."""
    return tuple(
        tf.nn.rnn_cell.LSTMStateTuple(*(tf.placeholder(tf.float32, [None, config.hidden_size],
                                                       f"initial_{part}")
                                        for part in ("cell", "hidden")))
        for _ in range(config.num_layers))


def lstm_cell(config, is_training):
    """BasicLSTMCell: one kernel [input + hidden, 4 * hidden], gates in order
    {input, candidate, forget, output}, and a zero-initialised bias.

    forget_bias=0.0 as in TF's PTB tutorial, and so the same cell as
    Paddle's lstm operator, which adds no constant to the forget gate.
    """
    cell = tf.nn.rnn_cell.BasicLSTMCell(config.hidden_size, forget_bias=0.0, state_is_tuple=True,
                                        reuse=tf.get_variable_scope().reuse)
    if is_training and config.keep_prob < 1:
        cell = tf.nn.rnn_cell.DropoutWrapper(cell, output_keep_prob=config.keep_prob)
    return cell


def dropout(x, config, is_training):
    # Upscale during training, as Paddle's dropout does; evaluation has none.
    if not is_training or config.keep_prob >= 1:
        return x
    return tf.nn.dropout(x, rate=1 - config.keep_prob)


def add_optimizer(config, loss):
    """SGD with global-norm clipping; returns the train op and the learning-rate variable."""
    learning_rate = tf.get_variable("learning_rate", [], trainable=False,
                                    initializer=tf.zeros_initializer())
    params = tf.trainable_variables()
    grads, _ = tf.clip_by_global_norm(tf.gradients(loss, params), config.max_grad_norm)
    optimizer = tf.train.GradientDescentOptimizer(learning_rate)
    return Optimizer(optimizer.apply_gradients(zip(grads, params)), learning_rate)


def set_learning_rate(session, optimizer, config, epoch):
    learning_rate = learning_rate_at(config, epoch)
    optimizer.learning_rate.load(learning_rate, session)
    return learning_rate

# -------------------------------------------------------------------- device


def choose_device(device):
    """'/GPU:0' or '/CPU:0' for --device auto|cpu|gpu; cpu hides the GPUs."""
    has_gpu = bool(tf.config.list_physical_devices("GPU"))
    if device == "gpu" and not has_gpu:
        raise UserError("--device gpu: this TensorFlow build has no CUDA or no GPU is visible; "
                        "install tensorflow[and-cuda] on a GPU machine, or use --device cpu")
    if device == "cpu" and has_gpu:
        tf.config.set_visible_devices([], "GPU")
    name = "/GPU:0" if has_gpu and device != "cpu" else "/CPU:0"
    print(f"device: {'GPU 0' if name == '/GPU:0' else 'CPU'}")
    return name


def create_session(graph, config):
    """A Session whose CPU ops use cpu_threads(config) threads."""
    threads = cpu_threads(config)
    options = tf.ConfigProto(intra_op_parallelism_threads=threads,
                             inter_op_parallelism_threads=threads)
    return tf.Session(graph=graph, config=options)

# ------------------------------------------------------------- training code


def run_epoch(session, train_op, net, batches, num_batches, label, log_lines=5):
    """Run `net` on every mini-batch, carrying the state if there is one;
    return its EpochStats.

    With a train_op this trains; with None (and the evaluation network) it evaluates.
    """
    progress = Progress(label, num_batches, log_lines)
    fetches = [net.loss, net.final_state] + ([train_op] if train_op is not None else [])
    state = None
    for batch in batches:
        rows = batch[0].shape[0]
        feed = dict(zip(net.feeds, batch))
        feed.update(state_feed(net.initial_state, carried_state(state, rows, net.initial_state)))
        loss, state, *_ = session.run(fetches, feed)
        progress.update(float(loss) * rows, load_data_tf.batch_targets(batch),
                        computed_steps=batch[0].size)
    return progress.finish()


def evaluate(session, eval_net, sentences, vocab, config, label):
    batches = make_batches(load_data_tf, sentences, vocab, config)
    return run_epoch(session, None, eval_net, batches, count_batches(sentences, config), label,
                     log_lines=0)

# --------------------------------------------------------------- checkpoints


def save_checkpoint(session, saver, checkpoints, epoch, record):
    with checkpoints.writing(epoch, record) as path:
        saver.save(session, path, write_meta_graph=False, write_state=False)


def restore_checkpoint(session, saver, checkpoints, epoch):
    with checkpoints.reading(epoch) as path:
        saver.restore(session, path)
    print(f"resumed from {checkpoints.epoch_folder(epoch)}")

# ---------------------------------------------------------------- main loop


def build_graph(config, device):
    """The graph, the training and evaluation Networks (sharing variables),
    the Optimizer, the Saver and the initializer."""
    graph = tf.Graph()
    with graph.as_default(), tf.device(device):
        tf.set_random_seed(config.seed)
        init = tf.random_uniform_initializer(-config.init_scale, config.init_scale)
        with tf.variable_scope("model", initializer=init):
            net = build_network(config, is_training=True)
            optimizer = add_optimizer(config, net.loss)
        with tf.variable_scope("model", reuse=True):
            eval_net = build_network(config, is_training=False)
        saver = tf.train.Saver(max_to_keep=None)
        initializer = tf.global_variables_initializer()
    return graph, net, eval_net, optimizer, saver, initializer


def train(config):
    """Train and evaluate as the config says; return the test result."""
    device = choose_device(config.device)  # fails before any work if it must
    banner = f"TensorFlow {tf.__version__} (v1 graph)"
    config, data, metrics, checkpoints = start_run(FRAMEWORK, banner, config)
    with checkpoints.claimed(config.resume, config.overwrite) as completed:
        # 1. Describe the graph: a training network and an evaluation network sharing its variables.
        graph, net, eval_net, optimizer, saver, initializer = build_graph(config, device)
        # 2. The device was chosen above; 3. create the Session; 4. initialise the variables.
        session = create_session(graph, config)
        session.run(initializer)
        if completed:
            restore_checkpoint(session, saver, checkpoints, completed)
            metrics.start_from(checkpoints.history())

        # 5. The double loop over epochs and mini-batches.
        stopped = None
        try:
            for epoch in range(completed, config.max_max_epoch):
                learning_rate = set_learning_rate(session, optimizer, config, epoch)
                # 6. The reader: the training stream, batch_size rows of num_steps at a
                #    time (or, batching by sentences, this epoch's shuffled sentences).
                batches = make_batches(load_data_tf, data.train, data.vocab, config,
                                       seed=config.seed + epoch)
                train_stats = run_epoch(session, optimizer.train_op, net, batches,
                                        count_batches(data.train, config),
                                        f"epoch {epoch + 1} train")
                check_not_diverged(train_stats, config.vocab_size, f"epoch {epoch + 1} train")
                valid_stats = evaluate(session, eval_net, data.valid, data.vocab, config,
                                       f"epoch {epoch + 1} valid")
                record = epoch_record(FRAMEWORK, config, epoch + 1, learning_rate,
                                      train_stats, valid_stats)
                with stops_deferred():  # the checkpoint and its metrics line together
                    save_checkpoint(session, saver, checkpoints, epoch + 1, record)
                    completed = epoch + 1
                    report_epoch(metrics, config, record)
        except KeyboardInterrupt as stop:  # Ctrl-C or SIGTERM
            stopped = stop
            print(f"\n{describe_stop(stop)}: training stops here; evaluating on test", flush=True)

    test_stats = evaluate(session, eval_net, data.test, data.vocab, config, "test")
    session.close()
    return end_run(metrics, FRAMEWORK, test_stats, completed, stopped)

# -------------------------------------------------------------- command line


def main(argv=None):
    train(parse_config(argv, FRAMEWORK))


if __name__ == "__main__":
    run_cli(main)
