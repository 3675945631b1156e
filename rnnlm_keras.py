"""Train an LSTM language model on PTB with Keras 3 on TensorFlow.

Today's TensorFlow as its users write it: a keras.Model of Embedding, LSTM
and Dense layers, trained eagerly by a compiled step. The text goes in as
fixed-length chunks [batch_size, num_steps], the LSTM state carried from one
chunk to the next through `initial_state`; --batching sentences feeds whole
sentences padded to the longest of each batch, masked in the LSTM and in
the loss. The same model as rnnlm_tensorflow.py, which builds it with the
v1 graph API, and the same sections in the same order.

`fit` cannot carry the state across batches whose last one has a single
row, so training is a custom loop around a tf.function step, as Keras's
guide to writing a training loop from scratch shows.

    python rnnlm_keras.py --model small --data_dir data
"""
import load_data_tf
from compat.keras3 import keras, tf
from config import cpu_threads, learning_rate_at, parse_config
from distributed.keras import ONE_WORKER, join_workers
from distributed.shards import alone, epoch_shares
from ptb.batching import count_batches, make_batches
from training.errors import UserError, describe_stop, run_cli, stops_deferred
from training.progress import Progress, check_not_diverged
from training.reports import epoch_record, report_epoch
from training.run import end_run, start_run
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
        self.lstms = [keras.layers.LSTM(config.hidden_size, return_sequences=True,
                                        return_state=True, kernel_initializer=uniform,
                                        recurrent_initializer=uniform, bias_initializer="zeros",
                                        unit_forget_bias=False)
                      for _ in range(config.num_layers)]
        self.dropout = keras.layers.Dropout(1 - config.keep_prob)  # upscales in training
        self.softmax = keras.layers.Dense(config.vocab_size, kernel_initializer=uniform,
                                          bias_initializer=uniform)

    def call(self, current_word, state, mask=None, training=False):
        """Logits [batch, steps, vocab] and each layer's final (hidden, cell);
        `state` is each layer's (hidden, cell) to start from, or empty for zeros."""
        x = self.dropout(self.embedding(current_word), training=training)
        final_state = []
        for layer, lstm in enumerate(self.lstms):
            x, hidden, cell = lstm(x, initial_state=list(state[layer]) if state else None,
                                   mask=mask, training=training)
            x = self.dropout(x, training=training)  # [batch, steps, hidden]
            final_state.append((hidden, cell))
        return self.softmax(x), final_state


def build_network(config):
    """The model, its weights drawn from config.seed and created by one call."""
    keras.utils.set_random_seed(config.seed)
    model = LanguageModel(config)
    model(keras.ops.zeros((1, 1), "int32"), None)
    return model


def sequence_cost(logits, next_word, mask):
    """Cross-entropy summed over every target of the batch, the padding out.

    A step minimises cost / batch_size, not / this batch's rows: a full
    batch gets TF's PTB tutorial's scaling, which the presets' learning
    rates were tuned for, and the epoch's smaller last batches only their
    share of a step."""
    cost = keras.losses.sparse_categorical_crossentropy(next_word, logits, from_logits=True)
    if mask is not None:
        cost = cost * keras.ops.cast(mask, cost.dtype)  # [batch, steps]
    return keras.ops.sum(cost)


def add_optimizer(config, workers=ONE_WORKER):
    """SGD with global-norm clipping (by the training step, with several workers)."""
    return keras.optimizers.SGD(learning_rate=1.0,
                                global_clipnorm=workers.clip_norm(config.max_grad_norm))


def set_learning_rate(optimizer, config, epoch):
    learning_rate = learning_rate_at(config, epoch)
    with stops_deferred():
        optimizer.learning_rate.assign(learning_rate)
    return learning_rate


def make_steps(model, optimizer, config, workers=ONE_WORKER):
    """The compiled training and evaluation steps: (inputs, targets, lengths
    or None, state or None, weight) -> (cost, final state); the weight is
    what this worker's loss counts for in the global batch, 1 on one worker."""
    def forward(current_word, next_word, lengths, state, training):
        mask = None if lengths is None else tf.sequence_mask(lengths, tf.shape(current_word)[1])
        logits, final_state = model(current_word, state, mask=mask, training=training)
        return sequence_cost(logits, next_word, mask), final_state

    def replica_step(current_word, next_word, lengths, state, weight):
        with tf.GradientTape() as tape:
            cost, final_state = forward(current_word, next_word, lengths, state, True)
            loss = cost / config.batch_size * weight
        variables = model.trainable_variables
        # The embedding's gradient comes as IndexedSlices, a row for every
        # word of the batch; global_clipnorm would square those rows one by
        # one, not each word's sum of them. Dense, it is the norm Fluid and
        # Paddle clip by.
        grads = [tf.convert_to_tensor(grad) for grad in tape.gradient(loss, variables)]
        optimizer.apply(workers.summed_and_clipped(grads, config.max_grad_norm), variables)
        return cost, final_state

    @tf.function(reduce_retracing=True)
    def train_step(current_word, next_word, lengths, state, weight):
        return workers.run(replica_step, (current_word, next_word, lengths, state, weight))

    @tf.function(reduce_retracing=True)
    def eval_step(current_word, next_word, lengths, state, weight):
        return forward(current_word, next_word, lengths, state, False)
    return train_step, eval_step

# -------------------------------------------------------------------- device


def choose_device(config):
    """'/GPU:0' or '/CPU:0' for --device auto|cpu|gpu; cpu hides the GPUs."""
    tf.config.threading.set_intra_op_parallelism_threads(cpu_threads(config))
    tf.config.threading.set_inter_op_parallelism_threads(cpu_threads(config))
    has_gpu = bool(tf.config.list_physical_devices("GPU"))
    if config.device == "gpu" and not has_gpu:
        raise UserError("--device gpu: this TensorFlow build has no CUDA or no GPU is visible; "
                        "install tensorflow[and-cuda] on a GPU machine, or use --device cpu")
    if config.device == "cpu" and has_gpu:
        tf.config.set_visible_devices([], "GPU")
    name = "/GPU:0" if has_gpu and config.device != "cpu" else "/CPU:0"
    print(f"device: {'GPU 0' if name == '/GPU:0' else 'CPU'}")
    return name

# ------------------------------------------------------------- training code


def run_epoch(step, batches, num_batches, label, log_lines=5, workers=ONE_WORKER):
    """Run `step` on every (mini-batch, weight), carrying the state between
    chunks; return its EpochStats, summed over the workers.

    With the training step this trains; with the evaluation step it evaluates.
    """
    progress = Progress(label, num_batches, log_lines)
    state = None
    for batch, weight in batches:
        current_word, next_word, *lengths = batch
        rows = current_word.shape[0]
        lengths = lengths[0] if lengths else None
        # The first batch gets [], and the model starts it from zeros.
        with stops_deferred():  # a stop lands between batches, never inside the step
            cost, final_state = step(current_word, next_word, lengths,
                                     carried_state(state, rows, ()), tf.constant(weight, tf.float32))
        if weight:  # else a stand-in that keeps the collectives in step
            state = final_state if lengths is None else None  # sentences start from zeros
            progress.update(float(cost), load_data_tf.batch_targets(batch),
                            computed_steps=current_word.size)
    return progress.finish(workers.sum)


def evaluate(eval_step, sentences, vocab, config, label):
    batches = alone(make_batches(load_data_tf, sentences, vocab, config))
    return run_epoch(eval_step, batches, count_batches(sentences, config), label, log_lines=0)

# --------------------------------------------------------------- checkpoints


def save_checkpoint(model, checkpoints, epoch, record):
    with checkpoints.writing(epoch, record) as path:
        model.save_weights(path + ".weights.h5")


def restore_checkpoint(model, checkpoints, epoch):
    with checkpoints.reading(epoch) as path:
        model.load_weights(path + ".weights.h5")
    print(f"loaded {checkpoints.epoch_folder(epoch)}")

# ---------------------------------------------------------------- main loop


def train(config):
    """Train and evaluate as the config says; return the test result."""
    device = choose_device(config)  # fails before any work if it must
    workers = join_workers()  # one, or those TF_CONFIG names
    banner = f"Keras {keras.__version__} on TensorFlow {tf.__version__}"
    config, eval_config, data, metrics, checkpoints = start_run(FRAMEWORK, banner, config, workers)
    with (checkpoints.claimed(config.resume, config.overwrite, workers.rank) as completed,
          workers.scope(device)):
        # 1. Build the model, its weights drawn as it is built; 2. the device was
        #    chosen above; 3. the optimizer; 4. the compiled training and evaluation steps.
        model = build_network(config)
        optimizer = add_optimizer(config, workers)
        train_step, eval_step = make_steps(model, optimizer, config, workers)
        completed = workers.from_worker_0(completed)
        if completed:
            restore_checkpoint(model, checkpoints, completed)
            metrics.start_from(checkpoints.history())

        # 5. The double loop over epochs and mini-batches.
        stopped = None
        try:
            for epoch in range(completed, config.max_max_epoch):
                learning_rate = set_learning_rate(optimizer, config, epoch)
                # 6. The batches: the training stream, batch_size rows of num_steps at a
                #    time (or, batching by sentences, this epoch's shuffled sentences);
                #    of several workers', this one's share.
                batches, num_batches = epoch_shares(load_data_tf, data.train, data.vocab, config,
                                                    workers, seed=config.seed + epoch)
                with workers.stopping_together():
                    train_stats = run_epoch(train_step, batches, num_batches,
                                            f"epoch {epoch + 1} train", workers.log_lines, workers)
                check_not_diverged(train_stats, config.vocab_size, f"epoch {epoch + 1} train")
                if workers.rank > 0:  # worker 0 alone evaluates, reports and saves
                    completed = epoch + 1
                    continue
                valid_stats = evaluate(eval_step, data.valid, data.vocab, eval_config,
                                       f"epoch {epoch + 1} valid")
                record = epoch_record(FRAMEWORK, config, epoch + 1, learning_rate,
                                      train_stats, valid_stats)
                with stops_deferred():  # the checkpoint and its metrics line together
                    save_checkpoint(model, checkpoints, epoch + 1, record)
                    completed = epoch + 1
                    report_epoch(metrics, config, record)
        except KeyboardInterrupt as stop:  # Ctrl-C or SIGTERM
            stopped = stop
            print(f"\n{describe_stop(stop)}: training stops here; evaluating on test", flush=True)

        if workers.rank > 0:
            return end_run(metrics, FRAMEWORK, None, completed, stopped, None)
        test_stats = evaluate(eval_step, data.test, data.vocab, eval_config, "test")
        best = checkpoints.best_epoch()
        best_stats = None
        if best and (best != completed or stopped):  # the model in memory is not the best
            restore_checkpoint(model, checkpoints, best)
            best_stats = evaluate(eval_step, data.test, data.vocab, eval_config, "test")
    return end_run(metrics, FRAMEWORK, test_stats, completed, stopped, (best, best_stats))

# -------------------------------------------------------------- command line


def main(argv=None):
    train(parse_config(argv, FRAMEWORK))


if __name__ == "__main__":
    run_cli(main)
