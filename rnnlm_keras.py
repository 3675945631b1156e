"""Train an LSTM language model on PTB with Keras 3 on TensorFlow.

Today's TensorFlow as its users write it: a keras.Model of Embedding, LSTM
and Dense layers, trained eagerly by a compiled step: by default XLA's,
with the LSTM layers' loop over time fused as cuDNN fuses it on a GPU
(compat/fused_lstm.py); --no-compile runs keras.layers.LSTM's own loop in a
tf.function. The text goes in as
fixed-length chunks [batch_size, num_steps], the LSTM state carried from one
chunk to the next through `initial_state`; --batching sentences feeds whole
sentences padded to the longest of each batch, masked in the LSTM and in
the loss. The batches reach the step through tf.data. The same model as
rnnlm_tensorflow.py, which builds it with the v1 graph API, and the same
sections in the same order.

`fit` cannot carry the state across batches whose last one has a single
row, so training is a custom loop around a tf.function step, as Keras's
guide to writing a training loop from scratch shows.

    python rnnlm_keras.py --model small --data_dir data
"""
import collections

import numpy as np

import load_data_tf
from compat import fused_lstm
from compat.devices import tensorflow_device
from compat.keras3 import keras, tf
from config import cpu_threads, evaluation_config, learning_rate_at, parse_config, trained_config
from distributed.keras import ONE_WORKER, global_gradient, join_workers
from ptb.batching import make_batches
from ptb.corpus import load_corpus
from training.errors import run_cli, stops_deferred
from training.progress import Progress
from training.run import Run
from training.state import carried_state

FRAMEWORK = "keras"

# --------------------------------------------------------------------- model


class LanguageModel(keras.Model):
    """Embedding, num_layers LSTM layers and a softmax layer, with dropout
    on the embedding and on each layer's output while training."""

    def __init__(self, config):
        super().__init__()
        uniform = keras.initializers.RandomUniform(-config.init_scale, config.init_scale)
        self.embedding = keras.layers.Embedding(config.vocab_size, config.hidden_size,
                                                embeddings_initializer=uniform)
        # Gates {input, forget, candidate, output}, one bias starting at zero:
        # unit_forget_bias=False, or Keras would start the forget gate's at 1.
        # Compiled, the same layer with its loop over time fused, as cuDNN's is.
        lstm = fused_lstm.LSTM if config.compile else keras.layers.LSTM
        self.lstms = [lstm(config.hidden_size, return_sequences=True, return_state=True,
                           kernel_initializer=uniform, recurrent_initializer=uniform,
                           bias_initializer="zeros", unit_forget_bias=False)
                      for _ in range(config.num_layers)]
        self.dropout = keras.layers.Dropout(1 - config.keep_prob)  # upscales in training
        self.softmax = keras.layers.Dense(config.vocab_size, kernel_initializer=uniform,
                                          bias_initializer=uniform)

    def call(self, current_word, state, lengths=None, training=False):
        """Logits [batch, steps, vocab] and each layer's final (hidden, cell);
        `state` is each layer's (hidden, cell) to start from, or empty for
        zeros; `lengths` stops each row at its own end: the LSTMs skip the
        padding, and their final state is each row's at its last word."""
        # The mask goes to the LSTMs, not to the model: a Keras `mask` argument
        # means a mask to pass on to the layers after it, which the logits have none of.
        mask = None if lengths is None else tf.sequence_mask(lengths, tf.shape(current_word)[1])
        x = self.dropout(self.embedding(current_word), training=training)
        final_state = []
        for layer, lstm in enumerate(self.lstms):
            x, hidden, cell = lstm(x, initial_state=list(state[layer]) if state else None,
                                   mask=mask, training=training)
            x = self.dropout(x, training=training)  # [batch, steps, hidden]
            final_state.append((hidden, cell))
        return self.softmax(x), final_state

    def zero_state(self, rows):
        """Each layer's (hidden, cell) of zeros, `rows` of them."""
        return [(np.zeros((rows, lstm.units), np.float32),) * 2 for lstm in self.lstms]


def build_network(config):
    """The model, its weights drawn from config.seed and created by one call."""
    keras.utils.set_random_seed(config.seed)
    model = LanguageModel(config)
    model(keras.ops.zeros((1, 1), "int32"), None)
    return model


def sequence_cost(logits, next_word, lengths):
    """Cross-entropy summed over every target of the batch, the padding out.

    A step minimises cost / batch_size, not / this batch's rows: a full
    batch gets TF's PTB tutorial's scaling, which the presets' learning
    rates were tuned for, and the epoch's smaller last batches only their
    share of a step."""
    cost = keras.losses.sparse_categorical_crossentropy(next_word, logits, from_logits=True)
    if lengths is not None:
        cost = cost * tf.sequence_mask(lengths, tf.shape(cost)[1], cost.dtype)  # [batch, steps]
    return keras.ops.sum(cost)


def add_optimizer(config):
    """SGD with global-norm clipping."""
    return keras.optimizers.SGD(learning_rate=1.0, global_clipnorm=config.max_grad_norm)


def set_learning_rate(trainer, config, epoch):
    learning_rate = learning_rate_at(config, epoch)
    with stops_deferred():
        trainer.optimizer.learning_rate.assign(learning_rate)
    return learning_rate


def make_steps(model, optimizer, config):
    """The compiled training and evaluation steps: (inputs, targets, lengths
    or None, state or None) -> (cost, final state). With --compile (the
    default), XLA compiles the model's math, forward and backward, once for
    each shape of batch; the update and any all-reduce stay in TensorFlow's
    graph."""
    # The strategy in whose scope the steps are made: with one worker the
    # default, which runs a step as it is; several workers' (distributed/keras.py).
    strategy = tf.distribute.get_strategy()
    model_math = tf.function(jit_compile=True) if config.compile else (lambda function: function)

    def forward(current_word, next_word, lengths, state, training):
        logits, final_state = model(current_word, state, lengths, training=training)
        return sequence_cost(logits, next_word, lengths), final_state

    @model_math
    def gradients(current_word, next_word, lengths, state):
        with tf.GradientTape() as tape:
            cost, final_state = forward(current_word, next_word, lengths, state, True)
            loss = cost / config.batch_size
        return cost, final_state, tape.gradient(loss, model.trainable_variables)

    def replica_step(current_word, next_word, lengths, state):
        cost, final_state, grads = gradients(current_word, next_word, lengths, state)
        # The embedding's gradient comes as IndexedSlices, a row for every
        # word of the batch; global_clipnorm would square those rows one by
        # one, not each word's sum of them. Dense, it is the norm Fluid and
        # Paddle clip by.
        grads = [tf.convert_to_tensor(grad) for grad in global_gradient(grads, config)]
        optimizer.apply(grads, model.trainable_variables)
        return cost, final_state

    # Compiled, a step is traced for each shape, as XLA compiles it for each;
    # eager, once for all shapes.
    @tf.function(reduce_retracing=not config.compile)
    def train_step(current_word, next_word, lengths, state):
        return strategy.run(replica_step, args=(current_word, next_word, lengths, state))

    @tf.function(reduce_retracing=not config.compile, jit_compile=config.compile)
    def eval_step(current_word, next_word, lengths, state):
        return forward(current_word, next_word, lengths, state, False)
    return train_step, eval_step

# -------------------------------------------------------------------- device


def choose_device(config):
    """'/GPU:0' or '/CPU:0' for --device auto|cpu|gpu; cpu hides the GPUs."""
    tf.config.threading.set_intra_op_parallelism_threads(cpu_threads(config))
    # Twice the threads between ops: with one a core, a run now and then had
    # the step's independent ops wait on one thread (tf.data and the eager
    # runtime share the pool), at 0.55x the speed (docs/what-replaced-lod.md).
    tf.config.threading.set_inter_op_parallelism_threads(2 * cpu_threads(config))
    return tensorflow_device(tf, config.device)

# ------------------------------------------------------------- training code


def run_epoch(trainer, batches, label, training):
    """Run the training step (or, not training, the evaluation step) on
    every mini-batch, carrying the state between chunks; return its EpochStats."""
    step = trainer.train_step if training else trainer.eval_step
    progress = Progress.of_epoch(label, batches, training)
    # Zeros shaped like this for the first batch, not an empty state: a step
    # of one argument structure is traced once, not twice.
    initial_state = trainer.model.zero_state(1)
    state = None
    for batch in input_pipeline(batches):
        current_word, next_word, *lengths = batch
        lengths = lengths[0] if lengths else None
        with stops_deferred():  # a stop lands between batches, never inside the step
            cost, state = step(current_word, next_word, lengths,
                               carried_state(state, len(current_word), initial_state))
        state = state if lengths is None else None  # sentences start from zeros
        progress.update(float(cost), load_data_tf.batch_targets(batch),
                        computed_steps=current_word.shape.num_elements())
    return progress.finish()


def input_pipeline(batches):
    """The epoch's batches (load_data_tf's numpy arrays) through tf.data:
    int32 tensors, the next batch made on tf.data's own thread while the
    step runs. The batches themselves come from ptb.batching, so all four
    scripts see the same ones."""
    shapes = {"current_word": [None, None], "next_word": [None, None], "lengths": [None]}
    signature = tuple(tf.TensorSpec(shapes[name], tf.int32, name) for name in batches.fields)
    dataset = tf.data.Dataset.from_generator(lambda: iter(batches), output_signature=signature)
    # One thread of tf.data's own and one batch ahead: its defaults (a pool of
    # a thread a core, and an autotuner) competed with the step's math for the
    # cores, and an epoch now and then trained at 0.65x (docs/performance.md).
    options = tf.data.Options()
    options.threading.private_threadpool_size = 1
    options.threading.max_intra_op_parallelism = 1
    options.autotune.enabled = False
    return dataset.prefetch(1).with_options(options)


def evaluate(trainer, sentences, vocab, config, label):
    batches = make_batches(load_data_tf, sentences, vocab, config)
    return run_epoch(trainer, batches, label, training=False)

# --------------------------------------------------------------- checkpoints


def save_checkpoint(trainer, path):
    trainer.model.save_weights(path + ".weights.h5")


def restore_checkpoint(trainer, path):
    trainer.model.load_weights(path + ".weights.h5")

# ---------------------------------------------------------------- main loop

Trainer = collections.namedtuple("Trainer", "model optimizer train_step eval_step")
Trainer.__doc__ = """What trains and evaluates: the model, its optimizer and
the compiled steps (make_steps)."""


def build_model(config, device):
    """The model, its optimizer and their steps, on `device`."""
    with tf.device(device):
        model = build_network(config)
        optimizer = add_optimizer(config)
    return Trainer(model, optimizer, *make_steps(model, optimizer, config))


def build_trainer(config, device, workers=ONE_WORKER):
    # 1. Build the model, its weights drawn as it is built; 2. on the device chosen by
    #    choose_device; 3. the optimizer; 4. the compiled training and evaluation steps.
    #    Several workers build them under their strategy (distributed/keras.py).
    return workers.build(build_model, config, device)


def train(config):
    """Train and evaluate as the config says; return the test result."""
    device = choose_device(config)  # fails before any work if it must
    banner = f"Keras {keras.__version__} on TensorFlow {tf.__version__}"
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
                # 6. The batches: the training stream, batch_size rows of num_steps at a
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
