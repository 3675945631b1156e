"""Sample text from a trained model, in the framework that trained it.

    python generate.py --checkpoint checkpoints/fluid-small --words 100 --seed 1
    python generate.py --checkpoint checkpoints/tensorflow-small --prompt "the company said"
    python generate.py --checkpoint checkpoints/keras-small --format onnx

The checkpoint is exported (export.py) into a temporary folder by a process
of its own, and run in the framework's inference runtime
(model_io/exported.py), or with --format onnx converted to ONNX and run by
onnxruntime: what is sampled is what would be deployed. The model
starts from a sentence start (<eos>), reads the prompt, then draws one word
at a time from its next-word distribution, the LSTM state carried from word
to word. One sentence a line; the same seed gives the same text.
"""
import itertools
import os
import subprocess
import sys
import tempfile

import numpy as np

from config import OneLineParser, positive_float, positive_int, seed_number
from errors import UserError
from export import FORMATS
from model_io.exported import Exported
from model_io.saved import open_checkpoint
from ptb.corpus import EOS, UNK
from training.errors import child_error, run_cli

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args(argv):
    parser = OneLineParser(prog="generate.py",
                           description="Sample text from a training run's checkpoint.")
    add = parser.add_argument
    add("--checkpoint", required=True, help="the --save_dir of a training run")
    add("--best", action="store_true", help="the epoch of lowest valid perplexity, not the last")
    add("--words", type=positive_int, default=100, help="words to sample, sentence ends included")
    add("--temperature", type=positive_float, default=1.0,
        help="below 1 keeps to likelier words, above 1 ventures further")
    add("--seed", type=seed_number, default=1, help="random seed for the sampling")
    add("--prompt", help="words to start from; words not in the vocabulary become <unk>")
    add("--format", choices=FORMATS, default="native",
        help="the export to sample through, as export.py makes it")
    return parser.parse_args(argv)


def exported_copy(checkpoint, best, format, folder):
    """Export the checkpoint into `folder` with export.py, in a process of
    its own: the v1 graph turns eager execution off for its whole process."""
    out = os.path.join(folder, "export")
    command = [sys.executable, os.path.join(HERE, "export.py"), "--checkpoint", checkpoint,
               "--format", format, "--out", out, *(["--best"] if best else [])]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise UserError(child_error(result.stderr, f"export.py exited {result.returncode}"))
    return Exported(out)


def prompt_ids(prompt, vocab):
    """<eos> (a sentence start), then the prompt's words as ids."""
    if prompt is None:
        return [vocab[EOS]]
    words = prompt.split()
    if not words:
        raise UserError("--prompt has no words; give some, or leave it out")
    return [vocab[EOS]] + [vocab.get(word, vocab[UNK]) for word in words]


def sample(exported, start, words, temperature, seed):
    """Yield `words` ids drawn one at a time after the ids `start`."""
    rng = np.random.default_rng(seed)
    log_probs, state = exported.run(np.array([start]), exported.zero_state(1))
    for _ in range(words):
        logits = log_probs[0, -1].astype(np.float64) / temperature
        probs = np.exp(logits - logits.max())
        word = rng.choice(len(probs), p=probs / probs.sum())
        yield word
        log_probs, state = exported.run(np.array([[word]]), state)


def sentences(indices, words):
    """The words of `indices` (the prompt's, then those drawn), a list for
    each sentence: <eos> ends one; the last may be unfinished."""
    line = []
    for index in indices:
        if words[index] == EOS:
            yield line
            line = []
        else:
            line.append(words[index])
    if line:
        yield line


def main(argv=None):
    args = parse_args(argv)
    saved = open_checkpoint(args.checkpoint, args.best)  # one line now if it is not one
    start = prompt_ids(args.prompt, saved.vocab)
    with tempfile.TemporaryDirectory() as folder:
        exported = exported_copy(args.checkpoint, args.best, args.format, folder)
        words = {index: word for word, index in exported.vocab.items()}
        drawn = sample(exported, start, args.words, args.temperature, args.seed)
        for line in sentences(itertools.chain(start[1:], drawn), words):
            print(" ".join(line), flush=True)


if __name__ == "__main__":
    run_cli(main)
