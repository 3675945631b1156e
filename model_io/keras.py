"""rnnlm_keras.py's model: a checkpoint written from the shared layout, and
the export as a SavedModel by keras.export.ExportArchive."""
import rnnlm_keras
from compat.keras3 import keras, tf
from model_io import layout

SUFFIX = layout.SUFFIX["keras"]
LSTM_PARTS = layout.KERAS_LSTM_PARTS


def set_weights(model, weights):
    """Give rnnlm_keras's `model` the `weights` (the shared layout)."""
    model.embedding.embeddings.assign(weights["embedding"])
    for layer, lstm in enumerate(model.lstms):
        for part in LSTM_PARTS:
            getattr(lstm.cell, part).assign(weights[f"lstm{layer}.{part}"])
    model.softmax.kernel.assign(weights["softmax.kernel"])
    model.softmax.bias.assign(weights["softmax.bias"])


def write_checkpoint(config, weights, path):
    """Save `weights` as rnnlm_keras.py saves a checkpoint."""
    model = rnnlm_keras.build_network(config)
    set_weights(model, weights)
    model.save_weights(path + SUFFIX)


def export(config, path, out):
    """The checkpoint at `path` as a SavedModel in folder `out`, its
    "serving_default" signature from current_word and each layer's state to
    log_probs and the final state; returns what export.json says of it."""
    model = rnnlm_keras.build_network(config)
    model.load_weights(path + SUFFIX)
    layers, hidden = config.num_layers, config.hidden_size
    state = [f"{part}{layer}" for layer in range(layers) for part in ("cell", "hidden")]
    spec = {"current_word": tf.TensorSpec([None, None], tf.int32, "current_word"),
            **{f"initial_{name}": tf.TensorSpec([None, hidden], tf.float32, f"initial_{name}")
               for name in state}}

    def serve(inputs):
        initial = [(inputs[f"initial_hidden{layer}"], inputs[f"initial_cell{layer}"])
                   for layer in range(layers)]
        logits, final = model(inputs["current_word"], initial)
        outputs = {"log_probs": tf.nn.log_softmax(logits)}  # [batch, steps, vocab]
        for layer, (final_hidden, final_cell) in enumerate(final):
            outputs.update({f"final_cell{layer}": final_cell, f"final_hidden{layer}": final_hidden})
        return outputs

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", serve, input_signature=[spec])
    archive.write_out(out, verbose=False)
    return dict(runtime="saved_model", files=["saved_model.pb", "variables"], lod=False,
                word_dtype="int32", inputs=list(spec),
                outputs=["log_probs", *(f"final_{name}" for name in state)],
                state_shapes=[[None, hidden]] * len(state))
