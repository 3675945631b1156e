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
from compat.devices import tensorflow_device
from compat.indexed_slices import each_word_once
from compat.tf_v1 import tf
from config import cpu_threads, evaluation_config, learning_rate_at, parse_config, trained_config
from distributed.tf_v1 import ONE_WORKER, global_gradient, join_workers
from ptb.batching import make_batches
from ptb.corpus import load_corpus
from training.errors import run_cli, stops_deferred
from training.progress import Progress
from training.run import Run
from training.state import carried_state, state_feed

FRAMEWORK = "tensorflow"

# --------------------------------------------------------------------- model

Network = collections.namedtuple("Network", "feeds logits cost loss initial_state final_state")
Network.__doc__ = """feeds: the word placeholders (and, batching by sentences,
the lengths); logits: [batch_size * num_steps, vocab], before the softmax;
cost: the cross-entropy summed over every target of the batch; loss: cost /
batch_size, what a step minimises; initial_state: each layer's (c, h)
placeholders; final_state: each layer's (c, h) after the last step. The
state tuples are empty unless batching by chunks."""

Optimizer = collections.namedtuple("Optimizer", "train_op new_learning_rate set_learning_rate")
Optimizer.__doc__ = """set_learning_rate: the op that sets the rate to the
new_learning_rate placeholder, as TF's PTB tutorial does."""


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
    # Padding out, then summed. The loss divides by batch_size, not by this
    # batch's rows: a full batch gets TF's PTB tutorial's scaling, which the
    # presets' learning rates were tuned for, and the epoch's smaller last
    # batches only their share of a step.
    cost = tf.reduce_sum(tf.reshape(cost, tf.shape(next_word)) * mask)
    return Network(feeds, logits, cost, cost / config.batch_size, initial_state, final_state)


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
    """SGD with global-norm clipping (of the workers' global gradient, if several)."""
    # Every worker sets the same rate: any replica's assignment will do.
    learning_rate = tf.get_variable("learning_rate", [], trainable=False,
                                    initializer=tf.zeros_initializer(),
                                    aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
    new_learning_rate = tf.placeholder(tf.float32, [], "new_learning_rate")
    params = tf.trainable_variables()
    # One row per word of the embedding's sparse gradient: the norm Fluid and Paddle clip by.
    grads = [each_word_once(tf, grad) for grad in tf.gradients(loss, params)]
    grads, _ = tf.clip_by_global_norm(global_gradient(grads, config), config.max_grad_norm)
    optimizer = tf.train.GradientDescentOptimizer(learning_rate)
    # The gradient is the global batch's already (global_gradient): several
    # workers apply it as it is, not summed over them again.
    train_op = optimizer.apply_gradients(zip(grads, params), skip_gradients_aggregation=True)
    return Optimizer(train_op, new_learning_rate, tf.assign(learning_rate, new_learning_rate))


def set_learning_rate(trainer, config, epoch):
    learning_rate = learning_rate_at(config, epoch)
    optimizer = trainer.graph.optimizer
    with stops_deferred():
        trainer.session.run(optimizer.set_learning_rate,
                            {optimizer.new_learning_rate: learning_rate})
    return learning_rate

# -------------------------------------------------------------------- device


def choose_device(device):
    """'/GPU:0' or '/CPU:0' for --device auto|cpu|gpu; cpu hides the GPUs."""
    return tensorflow_device(tf, device)


def create_session(graph, config, target=""):
    """A Session whose CPU ops use cpu_threads(config) threads, in this
    process (or on the server at `target`: a worker's, if there are
    several); with --compile, XLA compiles clusters of the graph's
    operators, once for each shape fed."""
    threads = cpu_threads(config)
    options = tf.ConfigProto(intra_op_parallelism_threads=threads,
                             inter_op_parallelism_threads=threads)
    if config.compile:
        options.graph_options.optimizer_options.global_jit_level = tf.OptimizerOptions.ON_1
    return tf.Session(target, graph=graph, config=options)

# ------------------------------------------------------------- training code


def run_epoch(trainer, batches, label, training):
    """Run the training network (or, not training, the evaluation network)
    on every mini-batch, carrying the state if there is one; return its EpochStats."""
    net = trainer.graph.net if training else trainer.graph.eval_net
    progress = Progress.of_epoch(label, batches, training)
    fetches = [net.cost, net.final_state] + ([trainer.graph.optimizer.train_op] if training else [])
    state = None
    for batch in batches:
        feed = dict(zip(net.feeds, batch))
        feed.update(state_feed(net.initial_state, carried_state(state, len(batch[0]),
                                                                net.initial_state)))
        with stops_deferred():  # a stop lands between batches, never inside session.run
            cost, state, *_ = trainer.session.run(fetches, feed)
        progress.update(float(cost), load_data_tf.batch_targets(batch),
                        computed_steps=batch[0].size)
    return progress.finish()


def evaluate(trainer, sentences, vocab, config, label):
    batches = make_batches(load_data_tf, sentences, vocab, config)
    return run_epoch(trainer, batches, label, training=False)

# --------------------------------------------------------------- checkpoints


def save_checkpoint(trainer, path):
    trainer.graph.saver.save(trainer.session, path, write_meta_graph=False, write_state=False)


def restore_checkpoint(trainer, path):
    trainer.graph.saver.restore(trainer.session, path)

# ---------------------------------------------------------------- main loop

Graph = collections.namedtuple("Graph", "graph net eval_net optimizer saver initializer")
Graph.__doc__ = """graph: the tf.Graph; net and eval_net: the training and
evaluation Networks, sharing their variables; optimizer: the Optimizer;
saver: the Saver; initializer: the op that initialises the variables."""


def build_graph(config, device):
    """The training and evaluation networks, in the default graph."""
    with tf.device(device):
        tf.set_random_seed(config.seed)
        init = tf.random_uniform_initializer(-config.init_scale, config.init_scale)
        with tf.variable_scope("model", initializer=init):
            net = build_network(config, is_training=True)
            optimizer = add_optimizer(config, net.loss)
        with tf.variable_scope("model", reuse=True):
            eval_net = build_network(config, is_training=False)
        saver = tf.train.Saver(max_to_keep=None)
        initializer = tf.global_variables_initializer()
    return Graph(tf.get_default_graph(), net, eval_net, optimizer, saver, initializer)


Trainer = collections.namedtuple("Trainer", "session graph")
Trainer.__doc__ = """What trains and evaluates: the Session and the Graph."""


def build_trainer(config, device, workers=ONE_WORKER):
    # 1. Describe the graph: a training network and an evaluation network sharing its variables
    #    (several workers build it under their strategy: distributed/tf_v1.py).
    with tf.Graph().as_default():
        graph = workers.build(build_graph, config, device)
    # 2. The device, chosen by choose_device; 3. create the Session; 4. initialise the variables.
    session = create_session(graph.graph, config, workers.target)
    session.run(graph.initializer)
    return Trainer(session, graph)


def train(config):
    """Train and evaluate as the config says; return the test result."""
    device = choose_device(config.device)  # fails before any work if it must
    banner = f"TensorFlow {tf.__version__} (v1 graph)"
    workers = join_workers()  # one, or those TF_CONFIG names
    data = load_corpus(config.data_dir)
    config = trained_config(config, len(data.vocab), workers.count)  # the data's vocabulary
    eval_config = evaluation_config(config)  # one worker's batches, several workers' rows
    with Run(FRAMEWORK, banner, config, data, workers) as run:
        trainer = build_trainer(config, device, workers)
        run.keep(trainer, save_checkpoint, restore_checkpoint)  # with --resume, the last epoch

        # 5. The double loop over epochs and mini-batches; Ctrl-C ends it, and the test follows.
        with run.stoppable():
            for epoch in run.epochs():
                learning_rate = set_learning_rate(trainer, config, epoch)
                # 6. The reader: the training stream, batch_size rows of num_steps at a
                #    time (or, batching by sentences, this epoch's shuffled sentences).
                batches = run.epoch_batches(load_data_tf, epoch)
                train_stats = run_epoch(trainer, batches, f"epoch {epoch + 1} train", training=True)
                valid_stats = evaluate(trainer, data.valid, data.vocab, eval_config,
                                       f"epoch {epoch + 1} valid")
                run.end_epoch(epoch, learning_rate, train_stats, valid_stats)
        return run.test(lambda: evaluate(trainer, data.test, data.vocab, eval_config, "test"))

# -------------------------------------------------------------- command line


def main(argv=None):
    train(parse_config(argv, FRAMEWORK))


if __name__ == "__main__":
    run_cli(main)
