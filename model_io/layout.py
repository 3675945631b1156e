"""The model's weights in one layout, and each script's checkpoint read into it and written from it.

The shared layout, float32:

    embedding                 [vocab, hidden]
    lstm{l}.kernel            [hidden, 4 * hidden]   the input projections
    lstm{l}.recurrent_kernel  [hidden, 4 * hidden]
    lstm{l}.bias              [4 * hidden]           the layer's one bias
    softmax.kernel            [hidden, vocab]
    softmax.bias              [vocab]

the four gates side by side along the last axis, in the order {input,
forget, candidate, output} (GATES): keras.layers.LSTM's layout, and
nn.LSTM's transposed. Fluid's lstm operator orders the gates {candidate,
input, forget, output}, BasicLSTMCell {input, candidate, forget, output}.

Reading needs no framework but TensorFlow's checkpoint reader, so that a
process running one script's framework can read any other's checkpoint.
"""
import pickle
import re

import h5py
import numpy as np

from errors import UserError

GATES = "ifco"  # input, forget, candidate (c), output
FLUID_GATES = "cifo"
TENSORFLOW_GATES = "icfo"
TENSORFLOW_CELL = "model/rnn/multi_rnn_cell/cell_{layer}/basic_lstm_cell"
# What each script's saver adds to the checkpoint's path.
SUFFIX = {"fluid": ".pdparams", "paddle": ".pdparams", "keras": ".weights.h5"}
KERAS_LSTM_PARTS = ("kernel", "recurrent_kernel", "bias")


def shapes(config):
    """{name: shape} of every weight of the model `config` describes."""
    vocab, hidden = config.vocab_size, config.hidden_size
    expected = {"embedding": (vocab, hidden), "softmax.kernel": (hidden, vocab),
                "softmax.bias": (vocab,)}
    for layer in range(config.num_layers):
        expected.update({f"lstm{layer}.kernel": (hidden, 4 * hidden),
                         f"lstm{layer}.recurrent_kernel": (hidden, 4 * hidden),
                         f"lstm{layer}.bias": (4 * hidden,)})
    return expected


def reorder_gates(matrix, source, target):
    """The four gate blocks of `matrix`'s last axis, from order `source` to
    order `target` (each a permutation of GATES)."""
    blocks = dict(zip(source, np.split(matrix, 4, axis=-1)))
    return np.concatenate([blocks[gate] for gate in target], axis=-1)


def checked(weights, config, where):
    """`weights` as float32 if they are exactly the model's, with its shapes;
    else one line that says which one does not fit."""
    for name, shape in shapes(config).items():
        found = weights.get(name)
        if found is None:
            raise UserError(f"{where} has no weight {name}; it is not a checkpoint of this model")
        if found.shape != shape:
            raise UserError(f"{where}: {name} is {list(found.shape)}, but the model in its "
                            f"checkpoint.json needs {list(shape)}; the shapes cannot match")
    return {name: np.asarray(weights[name], np.float32) for name in shapes(config)}


def read_weights(framework, path, config):
    """The weights of `framework`'s checkpoint at `path`, in the shared layout."""
    return to_layout(framework, READERS[framework](path), config)


def to_layout(framework, params, config):
    """{name: array} as `framework`'s checkpoint names its weights -> the shared layout."""
    return TO_LAYOUT[framework](params, config)


def framework_params(framework, weights, config):
    """The shared layout -> {name: array} as `framework`'s model names its weights."""
    return FROM_LAYOUT[framework](weights, config)

# ------------------------------------------------------------------- fluid


def fluid_to_layout(params, config):
    """paddle.static.save's parameters; the lstm's may be float64
    (compat.paddle_fluid.lstm_dtype) and round to float32 in `checked`."""
    weights = {"embedding": params["embedding"], "softmax.kernel": params["softmax_w"],
               "softmax.bias": params["softmax_b"].reshape(-1)}
    for layer in range(config.num_layers):
        kernel, recurrent, bias = (reorder_gates(params[f"lstm{layer}_{name}"], FLUID_GATES, GATES)
                                   for name in ("input_w", "hidden_w", "b"))
        weights.update({f"lstm{layer}.kernel": kernel, f"lstm{layer}.recurrent_kernel": recurrent,
                        f"lstm{layer}.bias": bias.reshape(-1)})
    return weights


def fluid_params(weights, config):
    params = {"embedding": weights["embedding"], "softmax_w": weights["softmax.kernel"],
              "softmax_b": weights["softmax.bias"].reshape(1, -1)}
    for layer in range(config.num_layers):
        kernel, recurrent, bias = (reorder_gates(weights[f"lstm{layer}.{name}"], GATES, FLUID_GATES)
                                   for name in ("kernel", "recurrent_kernel", "bias"))
        params.update({f"lstm{layer}_input_w": kernel, f"lstm{layer}_hidden_w": recurrent,
                       f"lstm{layer}_b": bias.reshape(1, -1)})
    return params

# -------------------------------------------------------------- tensorflow


def read_tensorflow(path):
    """The checkpoint's variables, by name."""
    import tensorflow  # in whichever mode the process runs it
    reader = tensorflow.train.load_checkpoint(path)
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}


def tensorflow_to_layout(params, config):
    """BasicLSTMCell stacks a layer's input and recurrent rows into one
    kernel [input + hidden, 4 * hidden]."""
    weights = {"embedding": params["model/embedding"], "softmax.kernel": params["model/softmax_w"],
               "softmax.bias": params["model/softmax_b"]}
    for layer in range(config.num_layers):
        cell = TENSORFLOW_CELL.format(layer=layer)
        kernel = reorder_gates(params[f"{cell}/kernel"], TENSORFLOW_GATES, GATES)
        inputs = kernel.shape[0] - config.hidden_size
        weights.update({f"lstm{layer}.kernel": kernel[:inputs],
                        f"lstm{layer}.recurrent_kernel": kernel[inputs:],
                        f"lstm{layer}.bias": reorder_gates(params[f"{cell}/bias"],
                                                           TENSORFLOW_GATES, GATES)})
    return weights


def tensorflow_params(weights, config):
    params = {"model/embedding": weights["embedding"], "model/softmax_w": weights["softmax.kernel"],
              "model/softmax_b": weights["softmax.bias"]}
    for layer in range(config.num_layers):
        cell = TENSORFLOW_CELL.format(layer=layer)
        kernel = np.concatenate([weights[f"lstm{layer}.kernel"],
                                 weights[f"lstm{layer}.recurrent_kernel"]])
        params[f"{cell}/kernel"] = reorder_gates(kernel, GATES, TENSORFLOW_GATES)
        params[f"{cell}/bias"] = reorder_gates(weights[f"lstm{layer}.bias"], GATES,
                                               TENSORFLOW_GATES)
    return params

# ------------------------------------------------------------------ paddle


def paddle_to_layout(params, config):
    """nn.LSTM's state dict: the same gate order, weights transposed, and two
    biases, added (bias_hh stays zero in training: rnnlm_paddle.add_optimizer)."""
    weights = {"embedding": params["embedding.weight"], "softmax.kernel": params["softmax.weight"],
               "softmax.bias": params["softmax.bias"]}
    for layer in range(config.num_layers):
        weights.update({f"lstm{layer}.kernel": params[f"lstm.weight_ih_l{layer}"].T,
                        f"lstm{layer}.recurrent_kernel": params[f"lstm.weight_hh_l{layer}"].T,
                        f"lstm{layer}.bias": params[f"lstm.bias_ih_l{layer}"]
                        + params[f"lstm.bias_hh_l{layer}"]})
    return weights


def paddle_params(weights, config):
    params = {"embedding.weight": weights["embedding"], "softmax.weight": weights["softmax.kernel"],
              "softmax.bias": weights["softmax.bias"]}
    for layer in range(config.num_layers):
        bias = weights[f"lstm{layer}.bias"]
        parts = {"weight_ih": weights[f"lstm{layer}.kernel"].T,
                 "weight_hh": weights[f"lstm{layer}.recurrent_kernel"].T,
                 "bias_ih": bias, "bias_hh": np.zeros_like(bias)}
        # nn.LSTM names each parameter twice: per cell, and flat for its fused kernel.
        for part, value in parts.items():
            params[f"lstm.{layer}.cell.{part}"] = params[f"lstm.{part}_l{layer}"] = value
    return params

# ------------------------------------------------------------------- keras


def read_keras(path):
    """save_weights' HDF5 file as {shared layout name: array}: Keras's layout
    is the shared one. Layers are groups named by kind (lstm, lstm_1, ... in
    the order the model made them), and "vars/N" is a layer's Nth weight."""
    weights, lstms = {}, {}

    def collect(name, item):
        lstm = re.fullmatch(r"layers/lstm(?:_(\d+))?/cell/vars/(\d)", name)
        dense = re.fullmatch(r"layers/dense(?:_\d+)?/vars/(\d)", name)
        if lstm:
            lstms.setdefault(int(lstm[1] or 0), {})[KERAS_LSTM_PARTS[int(lstm[2])]] = item[()]
        elif dense:
            weights[("softmax.kernel", "softmax.bias")[int(dense[1])]] = item[()]
        elif name == "embedding/vars/0":
            weights["embedding"] = item[()]

    with h5py.File(path + SUFFIX["keras"], "r") as saved:
        saved.visititems(collect)
    for layer, number in enumerate(sorted(lstms)):
        weights.update({f"lstm{layer}.{part}": value for part, value in lstms[number].items()})
    return weights


def same_layout(weights, config):
    return dict(weights)


def read_pickle(suffix):
    """paddle.static.save's and paddle.save's files: pickled dicts of numpy arrays."""
    def read(path):
        with open(path + suffix, "rb") as saved:
            return pickle.load(saved)
    return read


READERS = {"fluid": read_pickle(SUFFIX["fluid"]), "tensorflow": read_tensorflow,
           "paddle": read_pickle(SUFFIX["paddle"]), "keras": read_keras}
TO_LAYOUT = {"fluid": fluid_to_layout, "tensorflow": tensorflow_to_layout,
             "paddle": paddle_to_layout, "keras": same_layout}
FROM_LAYOUT = {"fluid": fluid_params, "tensorflow": tensorflow_params, "paddle": paddle_params,
               "keras": same_layout}
