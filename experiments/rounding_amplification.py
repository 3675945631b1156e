"""How far training carries a difference the size of float32 rounding.

    python experiments/rounding_amplification.py --data_dir DIR [--model small] [--batch_size 40]

Trains rnnlm_tensorflow.py's model by chunks for one epoch twice on one
worker: from its seeded weights, and from the same weights each multiplied
by (1 + 1e-7 x a random sign), about one float32 rounding. That is all a
different CPU model, thread count or order of a sum (several workers add
their gradients, one worker its rows) changes in a step. Each run is
repeated from the start for the first N batches, for growing N, and the
table gives the distance between the two runs' weights (relative, over all
weights) and each run's valid perplexity after those N batches.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import load_data_tf  # noqa: E402
import rnnlm_tensorflow as script  # noqa: E402
from config import PRESETS, Config, OneLineParser, existing_dir, positive_int  # noqa: E402
from ptb import corpus  # noqa: E402
from ptb.batching import Batches, make_batches  # noqa: E402
from training.errors import run_cli  # noqa: E402

PERTURBATION = 1e-7


def train_prefix(trainer, config, data, start, batches):
    """Load `start`, train on `batches`, return the weights and the valid perplexity."""
    variables = trainer.graph.graph.get_collection("trainable_variables")
    for variable, value in zip(variables, start):
        variable.load(value, trainer.session)
    script.run_epoch(trainer, Batches.listed(batches), "train", training=True)
    valid = script.evaluate(trainer, data.valid, data.vocab, config, "valid")
    return trainer.session.run(variables), valid.ppl


def distance(first, second):
    squares = sum(float(np.sum((a - b) ** 2)) for a, b in zip(first, second))
    return (squares / sum(float(np.sum(a ** 2)) for a in first)) ** 0.5


def main(argv=None):
    parser = OneLineParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data_dir", type=existing_dir, required=True,
                        help="folder with ptb.{train,valid,test}.txt")
    parser.add_argument("--model", default="small", choices=sorted(PRESETS))
    parser.add_argument("--batch_size", type=positive_int, default=40)
    args = parser.parse_args(argv)
    data = corpus.load_corpus(args.data_dir)
    config = Config(**{**PRESETS[args.model], "batching": "chunks", "batch_size": args.batch_size,
                       "vocab_size": len(data.vocab), "model": args.model})
    trainer = script.build_trainer(config, "/CPU:0")
    batches = list(make_batches(load_data_tf, data.train, data.vocab, config))
    with trainer.session as session:
        script.set_learning_rate(trainer, config, 0)
        seeded = session.run(trainer.graph.graph.get_collection("trainable_variables"))
        signs = np.random.default_rng(0)
        nudged = [value * (1 + PERTURBATION * signs.choice([-1, 1], value.shape)).astype(value.dtype)
                  for value in seeded]
        print(f"{args.model}, batch {args.batch_size} x {config.num_steps}, {len(batches)} batches "
              f"an epoch; weights nudged by {PERTURBATION:g} (relative {distance(seeded, nudged):.1e})")
        print("| batches | weights apart (relative) | valid ppl | valid ppl, nudged | apart |")
        print("| --- | --- | --- | --- | --- |")
        for count in sorted({1, 3, 10, 30, 60, 100, 150, len(batches)} & set(range(len(batches) + 1))):
            first, first_ppl = train_prefix(trainer, config, data, seeded, batches[:count])
            second, second_ppl = train_prefix(trainer, config, data, nudged, batches[:count])
            print(f"| {count} | {distance(first, second):.1e} | {first_ppl:.2f} | {second_ppl:.2f} "
                  f"| {abs(second_ppl / first_ppl - 1):.2%} |", flush=True)


if __name__ == "__main__":
    run_cli(main)
