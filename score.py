"""Score a text with an exported model, in its framework's inference runtime only.

    python score.py exports/fluid-small data/ptb.test.txt
    python score.py exports/fluid-small data/ptb.test.txt --per_sentence

Prints the perplexity of the text, batched as the checkpoint's training run
batched its evaluation, so it matches that run's test perplexity; with
--per_sentence, first the natural-log probability of each sentence, each
from a zero state, one a line. Imports no training script: only the export
(trained/exported.py) and the data code.
"""
import math
import os

import numpy as np

import load_data_tf
from config import Config, OneLineParser
from ptb import batching, corpus
from ptb.errors import UserError
from trained.exported import Exported
from training.errors import run_cli
from training.run import evaluation_config


def parse_args(argv):
    parser = OneLineParser(prog="score.py",
                           description="Perplexity of a text under an exported model.")
    parser.add_argument("export", help="a folder export.py wrote")
    parser.add_argument("file", help="text in PTB format: one sentence a line, words split by spaces")
    parser.add_argument("--per_sentence", action="store_true",
                        help="print each sentence's log-probability (natural log) first")
    return parser.parse_args(argv)


def perplexity(exported, sentences):
    """(perplexity, targets) of `sentences` (lists of ids), batched as the
    checkpoint's evaluation was: chunks with the state carried, or sentences
    from a zero state."""
    config = evaluation_config(Config(**exported.meta["config"]))
    if config.batching == "chunks":
        costs = chunk_costs(exported, sentences, config.batch_size, config.num_steps)
    else:
        costs = sentence_costs(exported, sentences, config.batch_size, config.max_sentence_length)
    total = sum(cost for cost, _ in costs)
    targets = corpus.count_targets(sentences)
    return math.exp(total / targets), targets


def chunk_costs(exported, sentences, batch_size, num_steps):
    """(summed -log p, targets) of each [rows, steps] chunk, the state carried."""
    state = None
    for inputs, targets in load_data_tf.chunk_batches(sentences, exported.vocab, batch_size,
                                                      num_steps)():
        rows = len(inputs)
        state = exported.zero_state(rows) if state is None else exported.last_rows(state, rows)
        log_probs, state = exported.run(inputs, state)
        yield -target_log_probs(log_probs, targets).sum(), targets.size


def sentence_costs(exported, sentences, batch_size, max_length):
    """(summed -log p, targets) of each piece of each sentence, in file
    order, each from a zero state."""
    batches = load_data_tf.sentence_batches(sentences, exported.vocab, batch_size, max_length)
    for inputs, targets, lengths in batches():
        log_probs, _ = exported.run(inputs, exported.zero_state(len(inputs)), lengths)
        scores = target_log_probs(log_probs, targets)
        for row, length in enumerate(lengths):
            yield -scores[row, :length].sum(), int(length)


def target_log_probs(log_probs, targets):
    """log p of each target, float64 [rows, steps], from [rows, steps, vocab]."""
    return np.take_along_axis(log_probs, targets[..., None], axis=-1)[..., 0].astype(np.float64)


def sentence_log_probs(exported, sentences):
    """The natural-log probability of each sentence and its <eos>, from a zero state."""
    max_length = exported.meta["config"]["max_sentence_length"]
    pieces = iter(sentence_costs(exported, sentences, 64, max_length))
    for words in sentences:
        # A sentence longer than max_length steps was scored in pieces.
        count = batching.count_pieces([words], max_length)
        yield -sum(next(pieces)[0] for _ in range(count))


def read_text(path, vocab):
    if not os.path.isfile(path):
        raise UserError(f"{path} not found; give a text file, one sentence a line")
    words = corpus.read_sentences(path)
    if not words:
        raise UserError(f"{path} has no words to score")
    return words, corpus.to_ids(words, vocab)


def main(argv=None):
    args = parse_args(argv)
    exported = Exported(args.export)
    words, sentences = read_text(args.file, exported.vocab)
    if args.per_sentence:
        for line, log_prob in zip(words, sentence_log_probs(exported, sentences)):
            print(f"{log_prob:.4f}\t{' '.join(line)}")
    ppl, targets = perplexity(exported, sentences)
    print(f"perplexity {ppl:.6f} over {targets:,} words ({exported.meta['framework']} epoch "
          f"{exported.meta['epoch']}, {exported.meta['runtime']})")


if __name__ == "__main__":
    run_cli(main)
