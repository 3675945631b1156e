"""rnnlm_fluid.py's model: a checkpoint written from the shared layout, and
the export for the paddle.inference predictor."""
import dataclasses

import numpy as np

import rnnlm_fluid
from compat.paddle_fluid import paddle
from model_io import layout


def write_checkpoint(config, weights, path):
    """Save `weights` as rnnlm_fluid.py saves a checkpoint, optimizer state
    included, so that it can resume from it."""
    trainer = rnnlm_fluid.build_trainer(config, paddle.CPUPlace())
    scope = paddle.static.global_scope()
    for name, value in layout.framework_params("fluid", weights, config).items():
        tensor = scope.find_var(name).get_tensor()
        # The lstm's parameters may be float64 (compat.paddle_fluid.lstm_dtype).
        tensor.set(value.astype(np.array(tensor).dtype), paddle.CPUPlace())
    rnnlm_fluid.save_checkpoint(trainer, path)


def export(config, path, out):
    """The inference program and parameters of the checkpoint at `path`,
    saved in folder `out` by paddle.static.save_inference_model; returns
    what export.json says of them."""
    program, startup_program, feeds, fetches = inference_program(config)
    exe = paddle.static.Executor(paddle.CPUPlace())
    exe.run(startup_program)
    paddle.static.load(program, path, exe)
    paddle.static.save_inference_model(f"{out}/model", feeds, fetches, exe, program=program)
    state = [f"{part}{layer}" for layer in range(config.num_layers) for part in ("cell", "hidden")]
    return dict(runtime="paddle.inference", files=["model.pdmodel", "model.pdiparams"],
                lod=True, word_dtype="int64",
                inputs=["current_word", *(f"initial_{name}" for name in state)],
                outputs=["log_probs", *(f"final_{name}" for name in state)],
                state_shapes=[[None, config.hidden_size]] * len(state))


def inference_program(config):
    """The network as batching by chunks builds it (the state an input and
    an output), without dropout, ending at the log-probabilities:
    (program, startup program, feed variables, fetch variables)."""
    config = dataclasses.replace(config, batching="chunks", keep_prob=1.0)
    program, startup_program = paddle.static.Program(), paddle.static.Program()
    with paddle.static.program_guard(program, startup_program), paddle.utils.unique_name.guard():
        net = rnnlm_fluid.build_network(config)
        log_probs = paddle.nn.functional.log_softmax(net.logits)  # [total_words, vocab]
    current_word = program.global_block().var(net.feeds[0])
    feeds = [current_word, *(part for layer in net.initial_state for part in layer)]
    fetches = [log_probs, *(part for layer in net.final_state for part in layer)]
    return program, startup_program, feeds, fetches
