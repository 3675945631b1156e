"""How often each compiled path compiles in an epoch, batching each way:

    python experiments/compilations.py --data_dir data/ptb-mini [--model small] [--epochs 2]

For rnnlm_keras.py and rnnlm_paddle.py with --compile, each batching in a
process of its own, it trains --epochs epochs (each with its own shuffle, as
the scripts do) and evaluates the valid split after each, with the scripts'
own functions, and counts after each epoch:
- keras: the traces of the training and evaluation steps, each one an XLA
  compilation (tf.function's tracing count);
- paddle: the translations of paddle.jit.to_static's bytecode translator
  (SOT), each one a program built for a new guard, such as a new shape
  that its dynamic shapes do not cover;
beside the shapes of batch (rows, steps) that the training and the valid
batches have had so far, which a compiler that specialises on shapes
compiles once each, for the step that runs them.
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from config import BATCHINGS, PRESETS, Config, OneLineParser, evaluation_config, existing_dir, positive_int  # noqa: E402
from experiments.children import measured_apart  # noqa: E402
from training.errors import run_cli  # noqa: E402

FRAMEWORKS = ("keras", "paddle")


def counter(framework, trainer):
    """A function that returns how many compilations there have been so far."""
    if framework == "keras":
        return lambda: (trainer.train_step.experimental_get_tracing_count()
                        + trainer.eval_step.experimental_get_tracing_count())
    from paddle.jit.sot.opcode_translator.executor.executor_cache import OpcodeExecutorCache
    return lambda: OpcodeExecutorCache().translate_count


def build(framework, config):
    """(the script's module, its trainer, compiled as --compile builds it)."""
    if framework == "keras":
        import rnnlm_keras as script
        return script, script.build_trainer(config, script.choose_device(config))
    import rnnlm_paddle as script
    script.choose_device(config)
    return script, script.build_trainer(config)


def count_one(framework, batching, model, data_dir, epochs):
    """[{epoch, compilations so far, shapes so far of the training and of
    the valid batches}], in this process."""
    import load_data_tf
    from ptb import corpus
    from ptb.batching import make_batches
    data = corpus.load_corpus(data_dir)
    config = Config(**{**PRESETS[model], "model": model, "batching": batching, "compile": True,
                       "vocab_size": len(data.vocab), "device": "cpu"})
    script, trainer = build(framework, config)
    compilations = counter(framework, trainer)
    valid = make_batches(load_data_tf, data.valid, data.vocab, evaluation_config(config))
    counts, shapes = [], {"train": set(), "valid": {batch[0].shape for batch in valid}}
    for epoch in range(epochs):
        train = make_batches(load_data_tf, data.train, data.vocab, config, seed=config.seed + epoch)
        script.run_epoch(trainer, train, f"epoch {epoch + 1} train", training=True)
        script.run_epoch(trainer, valid, f"epoch {epoch + 1} valid", training=False)
        shapes["train"] |= {batch[0].shape for batch in train}
        counts.append(dict(epoch=epoch + 1, compilations=compilations(),
                           shapes=len(shapes["train"]) + len(shapes["valid"])))
    return counts


def main(argv=None):
    parser = OneLineParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data_dir", type=existing_dir, default="data")
    parser.add_argument("--model", default="small", choices=sorted(PRESETS))
    parser.add_argument("--epochs", type=positive_int, default=2)
    parser.add_argument("--one", nargs=2, metavar=("FRAMEWORK", "BATCHING"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(count_one(*args.one, args.model, args.data_dir, args.epochs)))
        return
    print("| script | batching | epoch | compilations so far | shapes so far |")
    print("| --- | --- | --- | --- | --- |")
    for framework in FRAMEWORKS:
        for batching in BATCHINGS:
            rows = measured_apart([sys.executable, __file__, "--one", framework, batching,
                                   "--model", args.model, "--data_dir", args.data_dir,
                                   "--epochs", str(args.epochs)], f"{framework} by {batching}")
            for row in rows:
                print(f"| {framework} | {batching} | {row['epoch']} | {row['compilations']} | "
                      f"{row['shapes']} |", flush=True)


if __name__ == "__main__":
    run_cli(main)
