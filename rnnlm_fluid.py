"""Train an LSTM language model on PTB with PaddlePaddle, Fluid style.

Sentences go in unpadded, as LoD tensors; every layer is `fc` (the four gate
projections at once) followed by the LoD `lstm` operator, which runs each
sentence for exactly its own length. --batching chunks feeds TensorFlow's
fixed-length chunks instead, as equal-length sequences, and carries the LSTM
state from one batch to the next. Mirrors rnnlm_tensorflow.py section by
section.

    python rnnlm_fluid.py --model small --data_dir data
"""
import collections
import dataclasses
import functools
import os

import corpus
import load_data_fluid
from config import cpu_threads, describe, learning_rate_at, parse_config
from paddle_fluid import paddle
from paddle.base.layer_helper import LayerHelper
from train_utils import (MetricsLog, Progress, UserError, carried_state, checkpoint_mismatch,
                         epoch_to_resume, mark_epoch_saved, report_epoch, report_test, run_cli)

FRAMEWORK = "fluid"
# The lstm operator runs in float64. Paddle 3.3.1's CPU backward of this
# operator takes an AVX path for float32 when hidden_size % 8 == 0 (every
# preset), and that path drops the output's gradient into the cell state
# (phi/kernels/funcs/detail/lstm_kernel.h: the update sits only under
# `if (cell_clip > 0)`, and the operator passes 0). float64 takes the correct
# scalar path. tests/test_networks.py checks the gradients numerically.
LSTM_DTYPE = "float64"

# --------------------------------------------------------------------- model

Network = collections.namedtuple("Network", "feeds loss initial_state final_state")
Network.__doc__ = """feeds: names of the word data layers; loss: summed over
each sequence's words, averaged over the sequences of the batch;
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
        state = initial_state_layers(config, layer) if config.batching == "chunks" else None
        hidden, last_state = lstm_layer(x, state, config, f"lstm{layer}")
        x = dropout(hidden, config)  # [total_words, hidden]
        if state:
            initial_state.append(state)
            final_state.append(last_state)

    logits = softmax_layer(x, config)  # [total_words, vocab]
    cost = paddle.nn.functional.softmax_with_cross_entropy(logits, next_word)  # [total_words, 1]
    # Sum over each sequence, mean over sequences: TF's PTB tutorial's scaling,
    # which the presets' learning rates were tuned for.
    sequence_cost = paddle.static.nn.sequence_pool(cost, "sum")  # [sequences, 1]
    return Network([current_word.name, next_word.name], paddle.mean(sequence_cost),
                   initial_state, final_state)


def initial_state_layers(config, layer):
    """Data layers for one LSTM layer's starting (cell, hidden), [sequences, hidden] each."""
    return tuple(paddle.static.data(f"initial_{part}{layer}", [-1, config.hidden_size], "float32")
                 for part in ("cell", "hidden"))


def lstm_layer(x, state, config, name):
    """fc for all four input projections at once, then the LoD lstm operator.

    The operator's gate order is {candidate, input, forget, output} in both
    the fc output and its own weights; its bias is the layer's only bias.
    `state` is None (start from zeros) or the (cell, hidden) to start from.
    Returns the hidden output and each sequence's last (cell, hidden).
    """
    size = config.hidden_size
    gates = paddle.static.nn.fc(x, 4 * size, weight_attr=uniform(f"{name}_input_w", config),
                                bias_attr=False)  # [total_words, 4 * hidden]
    helper = LayerHelper("lstm", name=name)
    weight = helper.create_parameter(uniform(f"{name}_hidden_w", config), [size, 4 * size],
                                     LSTM_DTYPE)
    zero = paddle.nn.initializer.Constant(0.0)
    bias = helper.create_parameter(paddle.ParamAttr(f"{name}_b", initializer=zero),
                                   [1, 4 * size], LSTM_DTYPE, is_bias=True)
    inputs = {"Input": paddle.cast(gates, LSTM_DTYPE), "Weight": weight, "Bias": bias}
    if state:
        inputs["C0"], inputs["H0"] = (paddle.cast(part, LSTM_DTYPE) for part in state)
    outputs = {key: helper.create_variable_for_type_inference(LSTM_DTYPE)
               for key in ("Hidden", "Cell", "BatchGate", "BatchCellPreAct")}
    helper.append_op(type="lstm", inputs=inputs, outputs=outputs,
                     attrs={"use_peepholes": False, "is_reverse": False, "is_test": False,
                            "gate_activation": "sigmoid", "cell_activation": "tanh",
                            "candidate_activation": "tanh"})
    hidden = paddle.cast(outputs["Hidden"], "float32")
    if not state:
        return hidden, ()
    last_state = tuple(paddle.cast(paddle.static.nn.sequence_lod.sequence_last_step(outputs[key]),
                                   "float32") for key in ("Cell", "Hidden"))
    return hidden, last_state


def softmax_layer(x, config):
    """The output layer's logits, x @ W + b, computed as [x, 1] @ [W; b].

    The same numbers as fc(x, vocab) with a bias, and the same parameters,
    but Paddle 3.3.1's CPU kernels for adding a bias to [words, vocab] and
    for its gradient are slow (bench.py --profile); inside the matrix
    product the bias costs almost nothing.
    """
    weight = paddle.static.create_parameter([config.hidden_size, config.vocab_size], "float32",
                                            attr=uniform("softmax_w", config))
    bias = paddle.static.create_parameter([1, config.vocab_size], "float32",
                                          attr=uniform("softmax_b", config))
    first_column = legacy_op("slice", Input=x, attrs=dict(axes=[1], starts=[0], ends=[1],
                                                          infer_flags=[1], decrease_axis=[]))
    ones = legacy_op("scale", X=first_column, attrs=dict(scale=0.0, bias=1.0))
    ones.stop_gradient = True
    x_and_one = legacy_op("concat", X=[x, ones], attrs=dict(axis=1))  # [total_words, hidden + 1]
    weight_and_bias = legacy_op("concat", X=[weight, bias], attrs=dict(axis=0))
    return legacy_op("matmul_v2", X=x_and_one, Y=weight_and_bias)


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
    optimizer = paddle.optimizer.SGD(learning_rate=schedule)
    params_grads = optimizer.backward(loss)
    optimizer.apply_gradients(clip_by_global_norm(params_grads, config.max_grad_norm))
    return schedule


def clip_by_global_norm(params_grads, max_norm):
    """Scale every gradient by max_norm / max(global norm, max_norm).

    paddle.nn.ClipGradByGlobalNorm cannot build this graph: in Paddle 3.3 it
    calls paddle.sqrt and paddle.maximum, which only make PIR ops now. These
    are the legacy ops it used to append.
    """
    op = legacy_op
    # float32 throughout, though the lstm's gradients are float64.
    squares = [paddle.cast(op("squared_l2_norm", X=grad), "float32") for _, grad in params_grads]
    norm = op("sqrt", X=op("sum", X=squares))
    limit = paddle.full([1], max_norm, "float32")
    scale = op("elementwise_div", X=limit, Y=op("elementwise_max", X=norm, Y=limit))
    # The scale operator: the same product as elementwise_mul, without its
    # slow broadcasting path (bench.py).
    return [(param, op("scale", X=grad, ScaleTensor=paddle.cast(scale, grad.dtype)))
            for param, grad in params_grads]


def legacy_op(kind, attrs=None, **inputs):
    """Append a legacy operator with one output, "Out", of its first input's
    dtype; for operators whose Python API now builds only PIR, or has none."""
    helper = LayerHelper(kind)
    first = next(iter(inputs.values()))
    first = first[0] if isinstance(first, list) else first
    out = helper.create_variable_for_type_inference(first.dtype)
    helper.append_op(type=kind, inputs=inputs, outputs={"Out": out}, attrs=attrs or {})
    return out


def set_learning_rate(schedule, epoch):
    schedule.step(epoch)
    return schedule()

# -------------------------------------------------------------------- device


def choose_place(device):
    """CUDAPlace(0) or CPUPlace() for --device auto|cpu|gpu."""
    has_gpu = paddle.is_compiled_with_cuda() and paddle.device.cuda.device_count() > 0
    if device == "gpu" and not has_gpu:
        raise UserError("--device gpu: this PaddlePaddle build has no CUDA or no GPU is visible; "
                        "install paddlepaddle-gpu on a GPU machine, or use --device cpu")
    place = paddle.CUDAPlace(0) if has_gpu and device != "cpu" else paddle.CPUPlace()
    print(f"device: {'GPU 0' if isinstance(place, paddle.CUDAPlace) else 'CPU'}")
    return place


def create_executor(place, config):
    """An Executor that runs the operators one after another in this thread,
    each using cpu_threads(config) threads for its math.

    Paddle's defaults are one math thread (FLAGS_paddle_num_threads=1)
    whatever the machine, and a pool of threads scheduling the operators,
    which on a small CPU competes with the math for the cores. Measured by
    bench.py on 2 cores, `small`: about a quarter more words/s this way.
    """
    paddle.base.core.set_num_threads(cpu_threads(config))
    paddle.set_flags({"FLAGS_new_executor_serial_run": True})
    return paddle.static.Executor(place)

# ------------------------------------------------------------- training code


def run_epoch(exe, program, net, batches, num_batches, place, label, log_lines=5):
    """Run `program` on every mini-batch, carrying the state if there is one;
    return its EpochStats.

    With the training program this trains; with the test clone it evaluates.
    """
    progress = Progress(label, num_batches, log_lines)
    fetches = [net.loss] + [part for layer in net.final_state for part in layer]
    state = None
    for batch in batches():
        feed = dict(zip(net.feeds, load_data_fluid.to_lod_tensors(batch, place)))
        feed.update(state_feed(net, carried_state(state, len(batch), net.initial_state)))
        loss, *final_state = exe.run(program, feed=feed, fetch_list=fetches)
        state = list(zip(final_state[0::2], final_state[1::2]))
        words = sum(len(trg) for _, trg in batch)
        progress.update(float(loss) * len(batch), words, computed_steps=words)
    return progress.finish()


def state_feed(net, state):
    return {part.name: value
            for layer, values in zip(net.initial_state, state)
            for part, value in zip(layer, values)}


def evaluate(exe, test_program, net, sentences, vocab, config, place, label):
    batches = make_batches(sentences, vocab, config)
    return run_epoch(exe, test_program, net, batches, count_batches(sentences, config),
                     place, label, log_lines=0)


def make_batches(sentences, vocab, config, seed=None):
    """The reader for --batching: whole sentences (shuffled if given a seed),
    or the fixed-length chunks of the text in order."""
    if config.batching == "chunks":
        return load_data_fluid.chunk_batches(sentences, vocab, config.batch_size, config.num_steps)
    if seed is None:
        return load_data_fluid.eval_batches(sentences, vocab, config.batch_size)
    return load_data_fluid.train_batches(sentences, vocab, config.batch_size, seed)


def count_batches(sentences, config):
    return load_data_fluid.count_batches(sentences, config.batching, config.batch_size,
                                         config.num_steps)

# --------------------------------------------------------------- checkpoints


def save_checkpoint(program, save_dir, epoch):
    os.makedirs(save_dir, exist_ok=True)
    paddle.static.save(program, os.path.join(save_dir, f"epoch{epoch}"))
    mark_epoch_saved(save_dir, epoch)


def restore_checkpoint(program, exe, save_dir):
    """Load the last saved epoch into the program; return how many epochs it holds."""
    epoch = epoch_to_resume(save_dir)
    try:
        paddle.static.load(program, os.path.join(save_dir, f"epoch{epoch}"), exe)
    except (ValueError, RuntimeError, AssertionError) as error:
        raise checkpoint_mismatch(save_dir, error) from None
    print(f"resumed from {save_dir} after epoch {epoch}")
    return epoch

# ---------------------------------------------------------------- main loop


def build_programs(config):
    """The training program, its test clone, the startup program, the
    Network and the learning-rate schedule."""
    main_program, startup_program = paddle.static.Program(), paddle.static.Program()
    main_program.random_seed = startup_program.random_seed = config.seed
    # unique_name.guard: the same variable names on every build, so checkpoints load.
    with paddle.static.program_guard(main_program, startup_program), paddle.utils.unique_name.guard():
        net = build_network(config)
        test_program = main_program.clone(for_test=True)  # before the optimizer: no dropout, no updates
        schedule = add_optimizer(config, net.loss)
    return main_program, test_program, startup_program, net, schedule


def train(config):
    """Train and evaluate as the config says; return the test result."""
    place = choose_place(config.device)  # fails before any work if it must
    data = corpus.load_corpus(config.data_dir)
    config = dataclasses.replace(config, vocab_size=len(data.vocab))
    print(f"PaddlePaddle {paddle.__version__} (Fluid static graph), config:\n{describe(config)}")

    # 1. Describe the network: a training program and its test clone.
    main_program, test_program, startup_program, net, schedule = build_programs(config)
    # 2. The place was chosen above; 3. create the Executor; 4. run the startup program.
    exe = create_executor(place, config)
    exe.run(startup_program)
    first_epoch = restore_checkpoint(main_program, exe, config.save_dir) if config.resume else 0
    metrics = MetricsLog(config.metrics_file, append=config.resume)

    # 5. The double loop over epochs and mini-batches.
    try:
        for epoch in range(first_epoch, config.max_max_epoch):
            learning_rate = set_learning_rate(schedule, epoch)
            # 6. The reader: this epoch's shuffled sentences, batch_size at a time
            #    (or, batching by chunks, the text's chunks in order).
            batches = make_batches(data.train, data.vocab, config, seed=config.seed + epoch)
            train = run_epoch(
                exe, main_program, net, batches, count_batches(data.train, config), place,
                f"epoch {epoch + 1} train")
            valid = evaluate(exe, test_program, net, data.valid, data.vocab, config,
                             place, f"epoch {epoch + 1} valid")
            report_epoch(metrics, FRAMEWORK, config, epoch + 1, learning_rate, train, valid)
            save_checkpoint(main_program, config.save_dir, epoch + 1)
    except KeyboardInterrupt:
        print("\ninterrupted: training stops here; evaluating on test")

    test = evaluate(exe, test_program, net, data.test, data.vocab, config, place, "test")
    result = report_test(metrics, FRAMEWORK, test)
    return result

# -------------------------------------------------------------- command line


def main(argv=None):
    train(parse_config(argv, FRAMEWORK))


if __name__ == "__main__":
    run_cli(main)
