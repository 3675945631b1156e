"""Train an LSTM language model on PTB with PaddlePaddle, Fluid style.

Sentences go in unpadded, as LoD tensors; every layer is `fc` (the four gate
projections at once) followed by `dynamic_lstm` (the LoD lstm operator),
which runs each sentence for exactly its own length. --batching chunks feeds
the text's fixed-length chunks instead, as equal-length sequences, and
carries the LSTM state from one batch to the next. Mirrors
rnnlm_tensorflow.py section by section.

    python rnnlm_fluid.py --model small --data_dir data
"""
import collections
import functools

import load_data_fluid
from compat.devices import paddle_uses_gpu
from compat.paddle_fluid import GradientClipByGlobalNorm, dynamic_lstm, fc, paddle, reduce_sum
from config import cpu_threads, evaluation_config, learning_rate_at, parse_config, trained_config
from distributed.fluid import one_worker_only
from ptb.batching import make_batches
from ptb.corpus import load_corpus
from training.errors import run_cli, stops_deferred
from training.progress import Progress
from training.run import Run
from training.state import carried_state, state_feed

FRAMEWORK = "fluid"

# --------------------------------------------------------------------- model

Network = collections.namedtuple("Network", "feeds logits cost loss initial_state final_state")
Network.__doc__ = """feeds: names of the word data layers; logits: [total_words,
vocab], before the softmax; cost: the cross-entropy summed over every
target of the batch; loss: cost / batch_size, what a step minimises;
initial_state: each layer's (cell, hidden) data layers; final_state: each
layer's (cell, hidden) after every sequence's last word. The state lists
are empty unless batching by chunks."""


def build_network(config):
    """Describe the model in the current program: data layers to loss."""
    # [total_words, 1] int64 each; LoD level 1 holds where sequences start.
    current_word = paddle.static.data("current_word", [-1, 1], "int64", lod_level=1)
    next_word = paddle.static.data("next_word", [-1, 1], "int64", lod_level=1)

    x = paddle.static.nn.embedding(current_word, size=[config.vocab_size, config.hidden_size],
                                   param_attr=uniform("embedding", config))
    x = dropout(x, config)  # [total_words, 1, hidden]
    initial_state, final_state = [], []
    for layer in range(config.num_layers):
        # Chunks carry the state from batch to batch; sentences start from zero.
        state = state_layers(config, layer) if config.batching == "chunks" else None
        hidden, last_state = lstm_layer(x, state, config, layer)
        x = dropout(hidden, config)  # [total_words, hidden]
        if state:
            initial_state.append(state)
            final_state.append(last_state)

    logits = fc(x, config.vocab_size, param_attr=uniform("softmax_w", config),
                bias_attr=uniform("softmax_b", config))  # [total_words, vocab]
    cost = paddle.nn.functional.softmax_with_cross_entropy(logits, next_word)  # [total_words, 1]
    # Summed over every word. The loss divides by batch_size, not by this
    # batch's sequences: a full batch gets TF's PTB tutorial's scaling, which
    # the presets' learning rates were tuned for, and the epoch's smaller
    # last batches only their share of a step.
    cost = reduce_sum(cost)
    return Network([current_word.name, next_word.name], logits, cost, cost / config.batch_size,
                   initial_state, final_state)


def state_layers(config, layer):
    """Data layers for one LSTM layer's starting (cell, hidden), [sequences, hidden] each."""
    return tuple(paddle.static.data(f"initial_{part}{layer}", [-1, config.hidden_size], "float32")
                 for part in ("cell", "hidden"))


def lstm_layer(x, state, config, layer):
    """fc for all four input projections at once, then dynamic_lstm.

    The gate order is {candidate, input, forget, output} in both the fc
    output and the lstm's own weights; its bias is the layer's only bias.
    `state` is None (start from zeros) or the (cell, hidden) to start from.
    Returns the hidden output and each sequence's last (cell, hidden).
    """
    size = config.hidden_size
    gates = fc(x, 4 * size, param_attr=uniform(f"lstm{layer}_input_w", config),
               bias_attr=False)  # [total_words, 4 * hidden]
    cell_0, hidden_0 = state or (None, None)
    zero = paddle.nn.initializer.Constant(0.0)
    hidden, cell = dynamic_lstm(gates, 4 * size, h_0=hidden_0, c_0=cell_0,
                                param_attr=uniform(f"lstm{layer}_hidden_w", config),
                                bias_attr=paddle.ParamAttr(f"lstm{layer}_b", initializer=zero),
                                name=f"lstm{layer}")
    if not state:
        return hidden, ()
    return hidden, tuple(paddle.static.nn.sequence_lod.sequence_last_step(part)
                         for part in (cell, hidden))


def uniform(name, config):
    init = paddle.nn.initializer.Uniform(-config.init_scale, config.init_scale)
    return paddle.ParamAttr(name=name, initializer=init)


def dropout(x, config):
    # Upscale during training, as tf.nn.dropout does; the test clone turns it off.
    if config.keep_prob >= 1:
        return x
    return paddle.nn.functional.dropout(x, p=1 - config.keep_prob)


def add_optimizer(config, loss):
    """SGD with global-norm clipping; returns the learning-rate schedule."""
    schedule = paddle.optimizer.lr.LambdaDecay(1.0, functools.partial(learning_rate_at, config))
    optimizer = paddle.optimizer.SGD(learning_rate=schedule,
                                     grad_clip=GradientClipByGlobalNorm(config.max_grad_norm))
    optimizer.minimize(loss)
    return schedule


def set_learning_rate(trainer, epoch):
    trainer.programs.schedule.step(epoch)
    return trainer.programs.schedule()

# -------------------------------------------------------------------- device


def choose_place(device):
    """CUDAPlace(0) or CPUPlace() for --device auto|cpu|gpu."""
    return paddle.CUDAPlace(0) if paddle_uses_gpu(paddle, device) else paddle.CPUPlace()


def create_executor(place, config):
    """An Executor that runs the operators one after another in this thread,
    each using cpu_threads(config) threads for its math.

    Paddle's defaults are one math thread whatever the machine, and a pool
    of threads scheduling the operators, which on a small CPU competes with
    the math for the cores (docs/performance.md).
    """
    paddle.base.core.set_num_threads(cpu_threads(config))
    paddle.set_flags({"FLAGS_new_executor_serial_run": True})
    return paddle.static.Executor(place)

# ------------------------------------------------------------- training code


def run_epoch(trainer, batches, label, training):
    """Run the training program (or, not training, its test clone) on every
    mini-batch, carrying the state if there is one; return its EpochStats."""
    net = trainer.programs.net
    program = trainer.train_program if training else trainer.eval_program
    progress = Progress.of_epoch(label, batches, training)
    fetches = [net.cost] + [part for layer in net.final_state for part in layer]
    state = None
    for batch in batches:
        feed = dict(zip(net.feeds, load_data_fluid.to_lod_tensors(batch, trainer.place)))
        feed.update(state_feed(net.initial_state, carried_state(state, len(batch),
                                                                net.initial_state)))
        with stops_deferred():  # a stop lands between batches, never inside exe.run
            cost, *final_state = trainer.exe.run(program, feed=feed, fetch_list=fetches)
        state = list(zip(final_state[0::2], final_state[1::2]))
        words = load_data_fluid.batch_targets(batch)
        progress.update(float(cost), words, computed_steps=words)
    return progress.finish()


def evaluate(trainer, sentences, vocab, config, label):
    batches = make_batches(load_data_fluid, sentences, vocab, config)
    return run_epoch(trainer, batches, label, training=False)

# --------------------------------------------------------------- checkpoints


def save_checkpoint(trainer, path):
    paddle.static.save(trainer.programs.main, path)


def restore_checkpoint(trainer, path):
    paddle.static.load(trainer.programs.main, path, trainer.exe)

# ---------------------------------------------------------------- main loop

Programs = collections.namedtuple("Programs", "main test startup net schedule")
Programs.__doc__ = """main: the training program; test: its clone for
evaluation; startup: the program that initialises the parameters; net: the
Network; schedule: the learning-rate schedule."""


def build_programs(config):
    """The training program, its test clone and the startup program."""
    main_program, startup_program = paddle.static.Program(), paddle.static.Program()
    main_program.random_seed = startup_program.random_seed = config.seed
    # unique_name.guard: the same variable names on every build, so checkpoints load.
    with paddle.static.program_guard(main_program, startup_program), paddle.utils.unique_name.guard():
        net = build_network(config)
        test_program = main_program.clone(for_test=True)  # before the optimizer: no dropout, no updates
        schedule = add_optimizer(config, net.loss)
    return Programs(main_program, test_program, startup_program, net, schedule)


def compiled(program, config):
    """The program as exe.run runs it: as it is, or with --compile a
    CompiledProgram, its elementwise-add and activation operators fused and
    its variables' memory reused in place."""
    if not config.compile:
        return program
    strategy = paddle.static.BuildStrategy()
    strategy.fuse_elewise_add_act_ops = True
    strategy.enable_inplace = True
    return paddle.static.CompiledProgram(program, build_strategy=strategy)


Trainer = collections.namedtuple("Trainer", "exe place programs train_program eval_program")
Trainer.__doc__ = """What trains and evaluates: the Executor, its place, the
Programs, and what exe.run runs to train and to evaluate (compiled)."""


def build_trainer(config, place):
    # 1. Describe the network: a training program and its test clone.
    programs = build_programs(config)
    # 2. The place, chosen by choose_place; 3. create the Executor; 4. run the startup program.
    exe = create_executor(place, config)
    exe.run(programs.startup)
    return Trainer(exe, place, programs, compiled(programs.main, config),
                   compiled(programs.test, config))


def train(config):
    """Train and evaluate as the config says; return the test result."""
    place = choose_place(config.device)  # fails before any work if it must
    banner = f"PaddlePaddle {paddle.__version__} (Fluid static graph)"
    workers = one_worker_only()  # distributed/fluid.py says why
    data = load_corpus(config.data_dir)
    config = trained_config(config, len(data.vocab), workers.count)  # the data's vocabulary
    eval_config = evaluation_config(config)  # one worker's batches, several workers' rows
    with Run(FRAMEWORK, banner, config, data, workers) as run:
        trainer = build_trainer(config, place)
        run.keep(trainer, save_checkpoint, restore_checkpoint)  # with --resume, the last epoch

        # 5. The double loop over epochs and mini-batches; Ctrl-C ends it, and the test follows.
        with run.stoppable():
            for epoch in run.epochs():
                learning_rate = set_learning_rate(trainer, epoch)
                # 6. The reader: this epoch's shuffled sentences, batch_size at a time
                #    (or, batching by chunks, the text's chunks in order).
                batches = run.epoch_batches(load_data_fluid, epoch)
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
