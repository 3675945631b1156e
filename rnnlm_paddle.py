"""Train an LSTM language model on PTB with Paddle 3's dynamic graph.

Today's Paddle as its users write it: an nn.Layer of nn.Embedding, nn.LSTM
and nn.Linear (compat's, its bias inside the matrix product, as Fluid's fc),
run eagerly in the default IR. Sentences go in padded to the
longest of each batch, with `sequence_length`, the padding masked out of the
loss; --batching chunks feeds the text's fixed-length chunks and carries the
LSTM state from one batch to the next through `initial_states`. The batches
reach the model through paddle.io's DataLoader. The same
model as rnnlm_fluid.py, which builds it with 2018's Fluid API, and the same
sections in the same order.

    python rnnlm_paddle.py --model small --data_dir data
"""
import collections
import functools

import load_data_tf
from compat.devices import paddle_uses_gpu
from compat.paddle_dygraph import Linear, paddle
from config import cpu_threads, evaluation_config, learning_rate_at, parse_config, trained_config
from distributed.paddle import ONE_WORKER, join_workers
from ptb.batching import make_batches
from ptb.corpus import load_corpus
from training.errors import run_cli, stops_deferred
from training.progress import Progress
from training.run import Run
from training.state import last_rows

FRAMEWORK = "paddle"
nn = paddle.nn

# --------------------------------------------------------------------- model


class LanguageModel(nn.Layer):
    """Embedding, num_layers LSTM layers and a softmax layer, with dropout
    on the embedding and on each layer's output while training."""

    def __init__(self, config):
        super().__init__()
        uniform = nn.initializer.Uniform(-config.init_scale, config.init_scale)
        zero = nn.initializer.Constant(0.0)
        self.embedding = nn.Embedding(config.vocab_size, config.hidden_size, weight_attr=uniform)
        # Gates {input, forget, candidate, output}. nn.LSTM adds two biases,
        # bias_ih and bias_hh; the model has one, starting at zero, so
        # bias_hh stays zero: add_optimizer leaves it out. (bias_hh_attr=False
        # would drop nn.LSTM onto a slow step-by-step path.)
        self.lstm = nn.LSTM(config.hidden_size, config.hidden_size, config.num_layers,
                            dropout=1 - config.keep_prob, weight_ih_attr=uniform,
                            weight_hh_attr=uniform, bias_ih_attr=zero, bias_hh_attr=zero)
        self.dropout = nn.Dropout(1 - config.keep_prob)  # upscales in training, as Fluid's
        self.softmax = Linear(config.hidden_size, config.vocab_size, weight_attr=uniform,
                              bias_attr=uniform)

    def forward(self, current_word, state=None, lengths=None):
        """Logits [batch, steps, vocab] and the final (hidden, cell), each
        [layers, batch, hidden]; `lengths` stops each row at its own end."""
        x = self.dropout(self.embedding(current_word))  # [batch, steps, hidden]
        outputs, final_state = self.lstm(x, state, sequence_length=lengths)
        return self.softmax(self.dropout(outputs)), final_state


def build_network(config):
    """The model, its weights drawn from config.seed."""
    paddle.seed(config.seed)
    return LanguageModel(config)


def sequence_cost(logits, next_word, lengths):
    """Cross-entropy summed over every target of the batch, the padding out.

    A step minimises cost / batch_size, not / this batch's rows: a full
    batch gets TF's PTB tutorial's scaling, which the presets' learning
    rates were tuned for, and the epoch's smaller last batches only their
    share of a step."""
    cost = nn.functional.cross_entropy(logits, next_word.unsqueeze(-1), reduction="none")
    cost = cost.squeeze(-1)  # [batch, steps]
    if lengths is not None:
        steps = paddle.arange(cost.shape[1], dtype=lengths.dtype)
        cost = cost * (steps < lengths.unsqueeze(-1)).astype(cost.dtype)
    return cost.sum()


def add_optimizer(config, model):
    """SGD with global-norm clipping; returns it and its learning-rate schedule."""
    schedule = paddle.optimizer.lr.LambdaDecay(1.0, functools.partial(learning_rate_at, config))
    trained = [param for name, param in model.named_parameters() if ".bias_hh" not in name]
    optimizer = paddle.optimizer.SGD(learning_rate=schedule, parameters=trained,
                                     grad_clip=nn.ClipGradByGlobalNorm(config.max_grad_norm))
    return optimizer, schedule


def set_learning_rate(trainer, epoch):
    trainer.schedule.step(epoch)
    return trainer.schedule()

# -------------------------------------------------------------------- device


def choose_device(config):
    """'gpu:0' or 'cpu' for --device auto|cpu|gpu, set as Paddle's device."""
    device = "gpu:0" if paddle_uses_gpu(paddle, config.device) else "cpu"
    paddle.set_device(device)
    paddle.base.core.set_num_threads(cpu_threads(config))
    return device

# ------------------------------------------------------------- training code


def run_epoch(trainer, batches, label, training):
    """Train the model on every mini-batch (or, not training, evaluate it),
    carrying the state between chunks; return its EpochStats."""
    progress = Progress.of_epoch(label, batches, training)
    if training:
        trainer.model.train()
    else:
        trainer.model.eval()
    state = None
    for batch in input_pipeline(batches):
        current_word, next_word, *lengths = batch
        lengths = lengths[0] if lengths else None
        with stops_deferred():  # a stop lands between batches, never inside Paddle
            with paddle.set_grad_enabled(training):
                logits, state = trainer.model(current_word, carried(state, len(current_word)),
                                              lengths)
                cost = sequence_cost(logits, next_word, lengths)
            if training:
                (cost / trainer.batch_size).backward()
                trainer.optimizer.step()
                trainer.model.clear_gradients()
        state = state if lengths is None else None  # sentences start from zeros
        progress.update(float(cost), load_data_tf.batch_targets(batch),
                        computed_steps=current_word.size)
    return progress.finish()


class EpochBatches(paddle.io.IterableDataset):
    """An epoch's batches (load_data_tf's numpy arrays), one item each, made
    as they are read."""

    def __init__(self, batches):
        self.batches = batches

    def __iter__(self):
        return iter(self.batches)


def input_pipeline(batches):
    """The epoch's batches through paddle.io: a DataLoader that hands each
    as Paddle tensors, the next one read ahead on its own thread while the
    step runs. batch_size=None: the batches come made from ptb.batching,
    so that all four scripts see the same ones."""
    return paddle.io.DataLoader(EpochBatches(batches), batch_size=None)


def carried(state, rows):
    """The last batch's final (hidden, cell), cut to its last `rows` rows when
    the one-row tail continues the last row, and cut from its graph: the
    gradient stops at the batch boundary, as in the graph frameworks."""
    if state is None:
        return None
    return tuple(last_rows(part, rows, axis=1).detach() for part in state)


def evaluate(trainer, sentences, vocab, config, label):
    batches = make_batches(load_data_tf, sentences, vocab, config)
    return run_epoch(trainer, batches, label, training=False)

# --------------------------------------------------------------- checkpoints


def save_checkpoint(trainer, path):
    paddle.save(trainer.model.state_dict(), path + ".pdparams")


def restore_checkpoint(trainer, path):
    trainer.model.set_state_dict(paddle.load(path + ".pdparams"))

# ---------------------------------------------------------------- main loop

Trainer = collections.namedtuple("Trainer", "model optimizer schedule batch_size")
Trainer.__doc__ = """What trains and evaluates: the model (of several workers,
in DataParallel), its optimizer, the learning-rate schedule, and the
batch_size each step's summed cost is divided by."""


def compiled(model, config):
    """The model as it runs: eagerly, or with --compile its forward turned
    into a static program by paddle.jit.to_static (the backward runs that
    program's own)."""
    return paddle.jit.to_static(model) if config.compile else model


def build_trainer(config, workers=ONE_WORKER):
    # 1. Build the model, its weights drawn as it is built; 2. on the device that
    #    choose_device set; 3. the optimizer; 4. nothing to start: it runs eagerly (or compiled).
    model = workers.build(compiled, build_network(config), config)
    optimizer, schedule = add_optimizer(config, model)
    return Trainer(model, optimizer, schedule, config.batch_size)


def train(config):
    """Train and evaluate as the config says; return the test result."""
    choose_device(config)  # fails before any work if it must
    banner = f"PaddlePaddle {paddle.__version__} (dynamic graph)"
    workers = join_workers()  # one, or those paddle.distributed.launch started
    data = load_corpus(config.data_dir)
    config = trained_config(config, len(data.vocab), workers.count)  # the data's vocabulary
    eval_config = evaluation_config(config)  # one worker's batches, several workers' rows
    with Run(FRAMEWORK, banner, config, data, workers) as run:
        trainer = build_trainer(config, workers)
        run.keep(trainer, save_checkpoint, restore_checkpoint)  # with --resume, the last epoch

        # 5. The double loop over epochs and mini-batches; Ctrl-C ends it, and the test follows.
        with run.stoppable():
            for epoch in run.epochs():
                learning_rate = set_learning_rate(trainer, epoch)
                # 6. The batches: this epoch's shuffled sentences, padded, batch_size
                #    at a time (or, batching by chunks, the text's chunks in order).
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
