"""Small corpora the tests write themselves: nothing depends on downloaded data."""
import collections
import math
import os
import random

DETERMINERS = ["the", "a"]
NOUNS = ["cat", "dog", "bird", "fish", "man", "child"]
VERBS = {"sees": "the", "likes": "a", "finds": "the", "hears": "a"}
ADVERBS = ["today", "again", "now"]


def grammar_sentence(rng):
    """DET NOUN VERB DET NOUN [ADV]: each verb fixes the next determiner,
    so a model that learns context beats the unigram distribution."""
    verb = rng.choice(sorted(VERBS))
    words = [rng.choice(DETERMINERS), rng.choice(NOUNS), verb, VERBS[verb], rng.choice(NOUNS)]
    if rng.random() < 0.5:
        words.append(rng.choice(ADVERBS))
    return " ".join(words)


def write_grammar_corpus(folder, train_lines=400, eval_lines=60, seed=0, even_for=None):
    """Write ptb.{train,valid,test}.txt in PTB format (a leading space a line).
    With `even_for`, the training split's targets are a multiple of it
    (train_lines should be one too): batches of that many rows or sentences
    leave no short remainder."""
    rng = random.Random(seed)
    sizes = {"train": train_lines, "valid": eval_lines, "test": eval_lines}
    for split, lines in sizes.items():
        sentences = [grammar_sentence(rng) for _ in range(lines)]
        if split == "train" and even_for:
            sentences = with_targets_a_multiple(sentences, even_for, rng)
        write_split(folder, split, sentences)
    return folder


def with_targets_a_multiple(sentences, multiple, rng):
    """The sentences, adverbs added to some that have none, until their
    targets (words and <eos>) are a multiple of `multiple`."""
    missing = -sum(len(line.split()) + 1 for line in sentences) % multiple
    evened = []
    for line in sentences:
        if missing and len(line.split()) == 5:
            line, missing = f"{line} {rng.choice(ADVERBS)}", missing - 1
        evened.append(line)
    assert not missing, "too few sentences without an adverb"
    return evened


def write_split(folder, split, lines, newline="\n"):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, f"ptb.{split}.txt"), "w", encoding="utf-8", newline="") as out:
        out.writelines(f" {line}{newline}" for line in lines)


def unigram_perplexity(train_sentences, eval_sentences):
    """Perplexity on eval of add-one unigram counts from train, <eos> included."""
    counts = collections.Counter(w for words in train_sentences for w in words + ["<eos>"])
    vocab = set(counts) | {w for words in eval_sentences for w in words}
    total = sum(counts.values()) + len(vocab)
    eval_words = [w for words in eval_sentences for w in words + ["<eos>"]]
    log_prob = sum(math.log((counts[w] + 1) / total) for w in eval_words)
    return math.exp(-log_prob / len(eval_words))
