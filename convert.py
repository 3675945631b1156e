"""Carry a checkpoint's weights over to another script.

    python convert.py --checkpoint checkpoints/fluid-small --to tensorflow --out checkpoints/tf-from-fluid

Reads the weights of whichever script wrote the checkpoint, maps them
through one shared layout (model_io/layout.py: gate orders, transposes, the
stacked kernel of BasicLSTMCell, the two biases of nn.LSTM), and writes the
same checkpoint for the other script: its last epoch and its best, with the
metrics of every epoch, which that script loads with --resume; it prints
the command that evaluates both. Fluid's lstm weights are float64 at
hidden sizes that are a multiple of 8 (docs/paddle-3.3.1.md) and round to
float32 on the way out; every other conversion is exact.
"""
import dataclasses

from config import DEFAULT_BATCHING, FRAMEWORKS, PRESETS, Config, OneLineParser
from model_io import layout
from model_io.saved import framework_module, open_checkpoint, reading
from training.checkpoints import CheckpointFolder, refuse_inside_checkpoint, run_identity
from training.errors import run_cli
from training.reports import repo_command

# The flags that make a run what it is (checkpoints.IDENTITY), which --resume repeats.
RUN_FLAGS = ("num_layers", "hidden_size", "batching", "batch_size", "num_steps",
             "max_sentence_length", "keep_prob", "seed")


def parse_args(argv):
    parser = OneLineParser(prog="convert.py",
                           description="Rewrite a training run's checkpoint for another script.")
    add = parser.add_argument
    add("--checkpoint", required=True, help="the --save_dir of a training run")
    add("--to", required=True, choices=FRAMEWORKS, help="the script to write it for")
    add("--out", required=True,
        help="a new or empty folder for the checkpoint (a --save_dir for that script)")
    return parser.parse_args(argv)


def convert(checkpoint, framework, out):
    """Write the saved epochs of `checkpoint` as `framework`'s checkpoint in
    `out`; return the converted run's config."""
    last = open_checkpoint(checkpoint)
    refuse_inside_checkpoint(out, "--out", checkpoint, "--checkpoint")
    best = open_checkpoint(checkpoint, best=True).epoch
    target = framework_module(framework)  # loads that framework before reading
    config = dataclasses.replace(last.config, save_dir=out)
    history = last.folder.read_marker()["history"]
    folder = CheckpointFolder(out, run_identity(framework, config, last.vocab),
                              dataclasses.asdict(config), last.vocab, flag="--out")
    with folder.claimed(resume=False, overwrite=False):
        for saved in [last._replace(epoch=epoch) for epoch in sorted({best, last.epoch})]:
            with reading(saved) as path:
                weights = layout.read_weights(saved.framework, path, config)
            weights = layout.checked(weights, config, f"--checkpoint {checkpoint}")
            record, = [line for line in history if line["epoch"] == saved.epoch]
            with folder.writing(saved.epoch, record, earlier=history) as path:
                target.write_checkpoint(config, weights, path)
    return dataclasses.replace(config, max_max_epoch=last.epoch)


def resume_command(framework, config):
    """The command that loads the converted checkpoint and evaluates it on test."""
    usual = Config(**{**PRESETS[config.model], "batching": DEFAULT_BATCHING[framework]})
    flags = [f"--{name}={getattr(config, name)}" for name in RUN_FLAGS
             if getattr(config, name) != getattr(usual, name)]
    return repo_command(f"rnnlm_{framework}.py", [
        f"--model={config.model}", f"--data_dir={config.data_dir}", *flags,
        f"--save_dir={config.save_dir}", "--resume", f"--epochs={config.max_max_epoch}"])


def main(argv=None):
    args = parse_args(argv)
    config = convert(args.checkpoint, args.to, args.out)
    print(f"converted {args.checkpoint} (to epoch {config.max_max_epoch}) to {args.to} in "
          f"{args.out}; evaluate it with:\n  {resume_command(args.to, config)}")


if __name__ == "__main__":
    run_cli(main)
