"""rnnlm_paddle.py's model: a checkpoint written from the shared layout, and
the export by paddle.jit.save for the paddle.inference predictor."""

import rnnlm_paddle
from compat.paddle_dygraph import paddle
from model_io import layout

SUFFIX = layout.SUFFIX["paddle"]


def write_checkpoint(config, weights, path):
    """Save `weights` as rnnlm_paddle.py saves a checkpoint."""
    model = rnnlm_paddle.build_network(config)
    model.set_state_dict(layout.framework_params("paddle", weights, config))
    paddle.save(model.state_dict(), path + SUFFIX)


class Inference(paddle.nn.Layer):
    """The model from current_word [batch, steps] and the stacked state
    [layers, batch, hidden] to log_probs [batch, steps, vocab] and the final state."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, current_word, initial_cell, initial_hidden):
        logits, (hidden, cell) = self.model(current_word, (initial_hidden, initial_cell))
        return paddle.nn.functional.log_softmax(logits), cell, hidden


def export(config, path, out):
    """The checkpoint at `path` saved in folder `out` by paddle.jit.save;
    returns what export.json says of it."""
    paddle.set_device("cpu")
    model = rnnlm_paddle.build_network(config)
    model.set_state_dict(paddle.load(path + SUFFIX))
    model.eval()
    layers, hidden = config.num_layers, config.hidden_size
    spec = [paddle.static.InputSpec([None, None], "int64", "current_word"),
            *(paddle.static.InputSpec([layers, None, hidden], "float32", f"initial_{part}")
              for part in ("cell", "hidden"))]
    paddle.jit.save(Inference(model), f"{out}/model", input_spec=spec)
    return dict(runtime="paddle.inference", files=["model.json", "model.pdiparams"], lod=False,
                word_dtype="int64", inputs=["current_word", "initial_cell", "initial_hidden"],
                outputs=["log_probs", "final_cell", "final_hidden"],
                state_shapes=[[layers, None, hidden]] * 2)
