"""Evaluate a text with today's-API script in a process of its own, from
Fluid-named numpy weights; print the total cost and the targets scored.

    python -m tests.evaluate_apart {paddle,keras} WEIGHTS.npz JOB.json

Paddle's dynamic graph cannot share a process with the legacy graph, nor
Keras 3 with the v1 graph (eager execution off), and the parity tests load
both legacy scripts. The mapping of the weights is written here, where it
happens.
"""
import json
import sys

import numpy as np

from config import Config
from ptb.corpus import EOS


def fluid_to_today_gates(matrix):
    """The Fluid lstm operator's gate blocks {candidate, input, forget, output}
    -> {input, forget, candidate, output}, the order of both nn.LSTM and
    keras.layers.LSTM, along the last axis."""
    candidate, input_gate, forget, output = np.split(matrix.astype("float32"), 4, axis=-1)
    return np.concatenate([input_gate, forget, candidate, output], axis=-1)


def paddle_state_dict(weights, num_layers):
    """Fluid's parameters in nn.LSTM's layout.

    Fluid keeps a layer's input projection in an fc [input, 4H] and the
    recurrent weights [H, 4H] and one bias [1, 4H] in the lstm operator;
    nn.LSTM keeps weight_ih [4H, input] and weight_hh [4H, H], transposed,
    and two biases, of which the second stays zero.
    """
    state = {"embedding.weight": weights["embedding"], "softmax.weight": weights["softmax_w"],
             "softmax.bias": weights["softmax_b"].ravel()}
    for layer in range(num_layers):
        bias = fluid_to_today_gates(weights[f"lstm{layer}_b"]).ravel()
        parts = {"weight_ih": fluid_to_today_gates(weights[f"lstm{layer}_input_w"]).T,
                 "weight_hh": fluid_to_today_gates(weights[f"lstm{layer}_hidden_w"]).T,
                 "bias_ih": bias, "bias_hh": np.zeros_like(bias)}
        # nn.LSTM names each parameter twice: per cell, and flat for its fused kernel.
        for part, value in parts.items():
            state[f"lstm.{layer}.cell.{part}"] = state[f"lstm.{part}_l{layer}"] = value
    return {name: value.astype("float32") for name, value in state.items()}


def paddle_cost(config, weights, sentences, vocab):
    import rnnlm_paddle
    rnnlm_paddle.choose_device(config)
    model = rnnlm_paddle.build_network(config)
    missing, unexpected = model.set_state_dict(paddle_state_dict(weights, config.num_layers))
    assert not missing and not unexpected, (missing, unexpected)
    return rnnlm_paddle.evaluate(model, sentences, vocab, config, "paddle")


def load_keras_weights(model, weights, num_layers):
    """Fluid's parameters in keras.layers.LSTM's layout: kernel [input, 4H]
    and recurrent_kernel [H, 4H], untransposed, and one bias [4H]."""
    model.embedding.embeddings.assign(weights["embedding"])
    for layer in range(num_layers):
        cell = model.lstms[layer].cell
        cell.kernel.assign(fluid_to_today_gates(weights[f"lstm{layer}_input_w"]))
        cell.recurrent_kernel.assign(fluid_to_today_gates(weights[f"lstm{layer}_hidden_w"]))
        cell.bias.assign(fluid_to_today_gates(weights[f"lstm{layer}_b"]).ravel())
    model.softmax.kernel.assign(weights["softmax_w"])
    model.softmax.bias.assign(weights["softmax_b"].ravel())


def keras_cost(config, weights, sentences, vocab):
    import rnnlm_keras
    rnnlm_keras.choose_device(config)
    model = rnnlm_keras.build_network(config)
    load_keras_weights(model, weights, config.num_layers)
    _, eval_step = rnnlm_keras.make_steps(model, rnnlm_keras.add_optimizer(config))
    return rnnlm_keras.evaluate(eval_step, sentences, vocab, config, "keras")


def main(script, weights_path, job_path):
    with open(job_path, encoding="utf-8") as job_file:
        job = json.load(job_file)
    config = Config(**job["config"])
    vocab = {EOS: 0, **{f"w{i}": i for i in range(1, config.vocab_size)}}
    cost = {"paddle": paddle_cost, "keras": keras_cost}[script]
    stats = cost(config, dict(np.load(weights_path)), job["sentences"], vocab)
    print(json.dumps({"cost": float(np.log(stats.ppl) * stats.targets), "targets": stats.targets}))


if __name__ == "__main__":
    main(*sys.argv[1:])
