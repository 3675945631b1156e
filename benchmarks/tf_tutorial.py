"""TensorFlow's own PTB tutorial, loaded from a local checkout to be timed beside the scripts.

ptb_word_lm.py and reader.py of tensorflow/models at commit 812bc2e7 (Aug
2017): BasicLSTMCell, the graph unrolled num_steps times in Python, the
words from an input queue inside the graph, the LSTM state fed back through
feed_dict. They are read with `git show` from a clone of tensorflow/models
(or of a fork that keeps tutorials/rnn/ptb, such as github.com/jeffra/models)
when bench.py runs; nothing of them is in this repository. They run as
written, under tensorflow.compat.v1, given the TensorFlow 1 names that
TensorFlow 2 no longer has: tf.contrib's cells, seq2seq.sequence_loss and
get_or_create_global_step, and Python 3.10's inspect.getargspec.
"""
import importlib
import inspect
import os
import subprocess
import sys
import tempfile
import types

from errors import UserError

COMMIT = "812bc2e7e67fd61f225c47262666a2bfe871fedd"
FOLDER = "tutorials/rnn/ptb"
MODULES = ("reader", "ptb_word_lm")  # reader first: ptb_word_lm imports it


def sources(checkout):
    """{module: source text} of the tutorial at COMMIT in the git checkout."""
    texts = {}
    for module in MODULES:
        shown = subprocess.run(["git", "-C", checkout, "show", f"{COMMIT}:{FOLDER}/{module}.py"],
                               capture_output=True, text=True)
        if shown.returncode != 0:
            raise UserError(f"--reference tf-tutorial: {checkout} is not a git clone with commit "
                            f"{COMMIT[:8]} of {FOLDER}; give a clone of tensorflow/models or "
                            "github.com/jeffra/models")
        texts[module] = shown.stdout
    return texts


def load(checkout):
    """The tutorial's ptb_word_lm module (reader as its .reader), imported
    from a scratch folder with `tensorflow` standing for the v1 API plus the
    TensorFlow 1 names it uses."""
    from compat.tf_v1 import tf
    real_tensorflow = sys.modules["tensorflow"]
    with tempfile.TemporaryDirectory() as folder:
        for module, text in sources(checkout).items():
            with open(os.path.join(folder, f"{module}.py"), "w", encoding="utf-8") as out:
                out.write(text)
        sys.path.insert(0, folder)
        sys.modules["tensorflow"] = tensorflow_1(tf)
        try:
            modules = [importlib.import_module(module) for module in MODULES]
        finally:
            sys.modules["tensorflow"] = real_tensorflow
            sys.path.remove(folder)
    tutorial = modules[-1]
    tutorial.inspect = types.SimpleNamespace(getargspec=inspect.getfullargspec)
    tutorial.FLAGS.mark_as_parsed()  # its flags' defaults: float32
    return tutorial


def tensorflow_1(tf):
    """tensorflow.compat.v1 with the tf.contrib names the tutorial calls."""
    shim = types.ModuleType("tensorflow")
    shim.__dict__.update({name: getattr(tf, name) for name in dir(tf) if not name.startswith("__")})
    cells = tf.nn.rnn_cell
    shim.contrib = types.SimpleNamespace(
        rnn=types.SimpleNamespace(BasicLSTMCell=cells.BasicLSTMCell,
                                  MultiRNNCell=cells.MultiRNNCell,
                                  DropoutWrapper=cells.DropoutWrapper),
        seq2seq=types.SimpleNamespace(sequence_loss=sequence_loss_of(tf)),
        framework=types.SimpleNamespace(
            get_or_create_global_step=tf.train.get_or_create_global_step))
    return shim


def sequence_loss_of(tf):
    """tf.contrib.seq2seq.sequence_loss of TensorFlow 1.3, which TensorFlow 2 dropped."""
    def sequence_loss(logits, targets, weights, average_across_timesteps=True,
                      average_across_batch=True):
        num_classes = tf.shape(logits)[2]
        crossent = tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.reshape(targets, [-1]), logits=tf.reshape(logits, [-1, num_classes]))
        crossent = tf.reshape(crossent * tf.reshape(weights, [-1]), tf.shape(logits)[0:2])
        axes = [axis for axis, averaged in ((0, average_across_batch),
                                            (1, average_across_timesteps)) if averaged]
        if not axes:
            return crossent
        return tf.reduce_sum(crossent, axes) / (tf.reduce_sum(weights, axes) + 1e-12)
    return sequence_loss
