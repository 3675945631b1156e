"""An export folder (export.py) loaded in its framework's inference runtime,
with none of the training code: paddle.inference for Fluid's and Paddle 3's
exports, TensorFlow's SavedModel loader for the v1 graph's and Keras's, and
onnxruntime, which imports neither framework, for ONNX exports.

    EXPORT/
      export.json   what the model is and how to feed it (written last)
      vocab.txt     the words, one a line in id order
      ...           the framework's own files, listed in export.json

Every export takes current_word and the LSTM state, and gives the
log-probabilities of the next word and the final state, so that a server
can carry the state from one call to the next.
"""
import hashlib
import json
import os
import warnings

import numpy as np

from compat.loading import stops_end_it_quietly
from errors import UserError
from model_io.saved import read_vocab
from training.checkpoints import VOCAB
from training.errors import stops_deferred
from training.state import last_rows

EXPORT_JSON = "export.json"


class Exported:
    """An export, ready to run: `run` gives next-word log-probabilities."""

    def __init__(self, folder):
        self.meta = read_meta(folder)
        self.vocab = read_vocab(os.path.join(folder, VOCAB), self.meta["vocabulary"])
        try:
            # A stop waits until the runtime is loaded: inside a C extension's
            # import it would come out as an ImportError (Paddle's says
            # "initialization failed"), read below as a damaged export.
            with stops_deferred():
                self.runtime = RUNTIMES[self.meta["runtime"]](folder, self.meta)
        except Exception as error:  # each runtime has its own errors for a damaged file
            raise UserError(f"cannot load the export in {folder} ({str(error).strip()[:160]}); "
                            "it is damaged: export it again") from None

    def zero_state(self, rows):
        """The state a sequence starts from: zeros, `rows` of them."""
        return [np.zeros([rows if size is None else size for size in shape], np.float32)
                for shape in self.meta["state_shapes"]]

    def last_rows(self, state, rows):
        """The state of the last `rows` rows: a one-row tail continues the last row."""
        return [last_rows(part, rows, axis) for part, axis in zip(state, self.state_axes())]

    def state_axes(self):
        return [shape.index(None) for shape in self.meta["state_shapes"]]

    def run(self, words, state, lengths=None):
        """words: int [rows, steps], each row running for its length (all
        `steps` if lengths is None) from its state -> (log-probabilities
        float32 [rows, steps, vocab], the final state). Past a row's length
        the log-probabilities mean nothing, and so does the final state."""
        with stops_deferred():  # a stop lands between calls, never inside the runtime
            return self.runtime(words, state, lengths)


def read_meta(folder):
    path = os.path.join(folder, EXPORT_JSON)
    try:
        with open(path, encoding="utf-8") as meta_file:
            meta = json.load(meta_file)
    except FileNotFoundError:
        raise UserError(f"{folder} is not a complete export (no {EXPORT_JSON}); export it again "
                        "with export.py") from None
    except (OSError, ValueError) as error:
        raise UserError(f"cannot read {path} ({error}); export it again") from None
    found = file_digests(folder)
    missing = sorted(set(meta.get("sha256", {})) - set(found))
    if missing:
        raise UserError(f"{folder} is not a complete export ({', '.join(missing)} missing); "
                        "export it again")
    changed = [name for name, digest in meta["sha256"].items() if found[name] != digest]
    if changed:
        # Checked before loading: a runtime may crash on a damaged file rather than raise.
        raise UserError(f"{folder}: {', '.join(changed)} changed since the export; it is "
                        "damaged: export it again")
    return meta


def file_digests(folder):
    """{path in the folder: SHA-256} of every file but export.json."""
    digests = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            relative = os.path.relpath(path, folder)
            if relative != EXPORT_JSON:
                with open(path, "rb") as content:
                    digests[relative] = hashlib.file_digest(content, "sha256").hexdigest()
    return digests


def paddle_runtime(folder, meta):
    """paddle.inference's predictor on the export's program and parameters."""
    os.environ.setdefault("GLOG_minloglevel", "2")
    warnings.filterwarnings("ignore", message="No ccache found")
    with stops_end_it_quietly():  # its import installs glog's SIGTERM handler (compat/loading.py)
        import paddle.inference as inference
    model, params = (os.path.join(folder, name) for name in meta["files"])
    config = inference.Config(model, params)
    config.disable_glog_info()
    config.set_cpu_math_library_num_threads(os.cpu_count() or 1)
    predictor = inference.create_predictor(config)

    def run(words, state, lengths):
        rows, steps = words.shape
        lengths = np.full(rows, steps) if lengths is None else lengths
        if meta["lod"]:  # one flat column, each row only its length: no padding
            words = np.concatenate([row[:length] for row, length in zip(words, lengths)])[:, None]
        for name, value in zip(meta["inputs"], [words.astype(meta["word_dtype"]), *state]):
            handle = predictor.get_input_handle(name)
            handle.reshape(value.shape)
            handle.copy_from_cpu(np.ascontiguousarray(value))
            if meta["lod"] and name == "current_word":
                handle.set_lod([np.concatenate([[0], np.cumsum(lengths)]).tolist()])
        predictor.run()
        log_probs, *final = (predictor.get_output_handle(name).copy_to_cpu()
                             for name in predictor.get_output_names())
        if meta["lod"]:
            log_probs = padded(log_probs, lengths, steps)
        return log_probs, final
    return run


def padded(flat, lengths, steps):
    """[total, vocab] of rows one after another -> [rows, steps, vocab], zeros after each length."""
    out = np.zeros((len(lengths), steps, flat.shape[-1]), flat.dtype)
    starts = np.concatenate([[0], np.cumsum(lengths)])
    for row, length in enumerate(lengths):
        out[row, :length] = flat[starts[row]:starts[row] + length]
    return out


def saved_model_runtime(folder, meta):
    """TensorFlow's SavedModel loader, calling the serving signature."""
    from compat.keras3 import tf  # today's TensorFlow, eager
    signature = tf.saved_model.load(folder).signatures["serving_default"]

    def run(words, state, lengths):
        feed = dict(zip(meta["inputs"], [tf.constant(words, meta["word_dtype"]), *state]))
        outputs = signature(**feed)
        log_probs, *final = (outputs[name].numpy() for name in meta["outputs"])
        return log_probs, final
    return run


def onnx_runtime(folder, meta):
    """onnxruntime's CPU session on model.onnx."""
    import onnxruntime
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = os.cpu_count() or 1
    session = onnxruntime.InferenceSession(os.path.join(folder, *meta["files"]), options,
                                           providers=["CPUExecutionProvider"])

    def run(words, state, lengths):
        feed = dict(zip(meta["inputs"], [words.astype(meta["word_dtype"]), *state]))
        log_probs, *final = session.run(meta["outputs"], feed)
        return log_probs, final
    return run


RUNTIMES = {"paddle.inference": paddle_runtime, "saved_model": saved_model_runtime,
            "onnxruntime": onnx_runtime}
