"""Score a text with an exported model, in its framework's inference runtime only.

    python score.py exports/fluid-small data/ptb.test.txt
    python score.py exports/fluid-small data/ptb.test.txt --per_sentence
    echo "the company said" | python score.py exports/fluid-small - --per_sentence

Prints the perplexity of the text, batched as the checkpoint's training run
batched its evaluation, so it matches that run's test perplexity; with
--per_sentence, first the natural-log probability of each sentence, each
from a zero state, one a line. Before the perplexity it says how many lines
were blank (skipped) and how many words the model does not know: they are
scored as <unk>, which is cheap to predict, so they flatter it. Imports no
training script: only the export (model_io/exported.py) and the data code.
"""
import contextlib
import math
import os
import sys

import numpy as np

import load_data_tf
from config import Config, OneLineParser, evaluation_config
from errors import UserError
from model_io.exported import Exported
from ptb import batching, corpus
from training.errors import run_cli
from training.reports import counted


def parse_args(argv):
    parser = OneLineParser(prog="score.py",
                           description="Perplexity of a text under an exported model.",
                           epilog="The model knows its training text's words: PTB text is "
                                  "lower-case, numbers are N, rare words <unk>. Any other word is "
                                  "scored as <unk>, which is cheap to predict; score.py counts them.")
    parser.add_argument("export", help="a folder export.py wrote")
    parser.add_argument("file", help="text in PTB format: one sentence a line, words split by "
                                     "spaces; - reads standard input")
    parser.add_argument("--per_sentence", action="store_true",
                        help="first, for each sentence, tab-separated: its log-probability "
                             "(natural log), how many of its words are not in the vocabulary, "
                             "the sentence")
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
    targets = batching.count_targets(sentences)
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


def read_text(path):
    """The sentences of the file (lists of words) and its number of lines;
    "-" is standard input, and a pipe's path (bash's <(...)) is read too."""
    if os.path.isdir(path):
        raise UserError(f"{path} is a folder; give a text file in it, one sentence a line")
    name = "standard input" if path == "-" else path
    try:
        with contextlib.nullcontext(sys.stdin.buffer) if path == "-" else open(path, "rb") as text:
            lines = text.readlines()
    except FileNotFoundError:
        raise UserError(f"{path} not found; give a text file, one sentence a line") from None
    except OSError as error:
        raise UserError(f"{path}: cannot read it ({error.strerror})") from None
    words = corpus.sentences_in(lines, name)
    if not words:
        raise UserError(f"{name} has no words to score")
    return words, len(lines)


def unknown(words, vocab):
    """How many of `words` the vocabulary does not have."""
    return sum(word not in vocab for word in words)


def describe_text(words, lines, vocab):
    """What was read and how much of it the model knows, in one line."""
    count = sum(map(len, words))
    not_known = sum(unknown(line, vocab) for line in words)
    own_unk = sum(line.count(corpus.UNK) for line in words)
    return (f"read {counted(lines, 'line')}: {counted(len(words), 'sentence')}, "
            f"{counted(lines - len(words), 'blank line')} skipped; {not_known:,} of {count:,} "
            f"words ({not_known / count:.1%}) are not in the vocabulary and are scored as {corpus.UNK}"
            + (f", beside the text's own {own_unk:,} {corpus.UNK}" if own_unk else "")
            + ("; a text of unknown words gets a flattering perplexity" if not_known else ""))


def main(argv=None):
    args = parse_args(argv)
    exported = Exported(args.export)
    words, lines = read_text(args.file)
    sentences = corpus.to_ids(words, exported.vocab)
    if args.per_sentence:
        for line, log_prob in zip(words, sentence_log_probs(exported, sentences)):
            print(f"{log_prob:.4f}\t{unknown(line, exported.vocab)}\t{' '.join(line)}")
    print(describe_text(words, lines, exported.vocab))
    ppl, targets = perplexity(exported, sentences)
    print(f"perplexity {ppl:.6f} over {targets:,} words ({exported.meta['framework']} epoch "
          f"{exported.meta['epoch']}, {exported.meta['runtime']})")


if __name__ == "__main__":
    run_cli(main)
