"""The one configuration the four training scripts share: presets, flags, schedule.

The presets are those of Zaremba et al. (2014) as TensorFlow's PTB tutorial
(ptb_word_lm.py) defines them. `test` is tiny, so that the whole program
runs in seconds.
"""
import argparse
import dataclasses
import math
import os
import sys


@dataclasses.dataclass(frozen=True)
class Config:
    # The model and its training schedule: the presets set these.
    init_scale: float = 0.1     # weights start uniform in [-init_scale, init_scale]
    learning_rate: float = 1.0  # SGD learning rate for the first max_epoch epochs
    max_grad_norm: float = 5.0  # gradients are clipped to this global norm
    num_layers: int = 2
    num_steps: int = 20         # chunk length when batching by chunks
    hidden_size: int = 200      # LSTM size, and the embedding size
    max_epoch: int = 4          # epochs at the full learning rate
    max_max_epoch: int = 13     # epochs in all
    keep_prob: float = 1.0      # 1 - dropout rate
    lr_decay: float = 0.5       # learning-rate factor for each epoch after max_epoch
    batch_size: int = 20        # sentences or chunk rows per mini-batch
    max_sentence_length: int = 100  # batching by sentences, longer ones are cut into pieces
    vocab_size: int = 10000     # replaced by the size of the data's vocabulary
    # The run.
    model: str = "small"
    batching: str = "sentences"  # or "chunks", "buckets"; each script has its own default
    compile: bool = False       # the framework's compiled path; each script has its own default
    data_dir: str = "data"
    device: str = "auto"
    threads: int = 0            # CPU threads for the math; 0: one per core
    seed: int = 1
    save_dir: str = ""
    metrics_file: str = ""
    logdir: str = ""            # TensorBoard event files
    resume: bool = False
    overwrite: bool = False
    workers: int = 1            # data-parallel workers, from the launcher's environment


PRESETS = {
    "test": dict(max_grad_norm=1.0, num_layers=1, num_steps=2, hidden_size=2,
                 max_epoch=1, max_max_epoch=1),
    "small": dict(),
    "medium": dict(init_scale=0.05, num_steps=35, hidden_size=650, max_epoch=6,
                   max_max_epoch=39, keep_prob=0.5, lr_decay=0.8),
    "large": dict(init_scale=0.04, max_grad_norm=10.0, num_steps=35, hidden_size=1500,
                  max_epoch=14, max_max_epoch=55, keep_prob=0.35, lr_decay=1 / 1.15),
}


# The four scripts, rnnlm_NAME.py: each framework's 2018 API, then today's,
# the order of compare.py's and bench.py's reports.
FRAMEWORKS = ("fluid", "paddle", "tensorflow", "keras")
# The ways to batch (ptb/batching.py), in the order reports list them.
BATCHINGS = ("sentences", "chunks", "buckets")
# How each batches unless told otherwise: the design's contrast.
DEFAULT_BATCHING = {"fluid": "sentences", "paddle": "sentences", "tensorflow": "chunks",
                    "keras": "chunks"}
# What --compile switches on in each script, and whether it is on unless told
# otherwise: on where it measured faster and computes the same model
# (docs/performance.md).
COMPILED_PATHS = {"fluid": "a CompiledProgram with fused operators and in-place memory",
                  "paddle": "paddle.jit.to_static",
                  "tensorflow": "XLA auto-clustering of the Session's graph",
                  "keras": "XLA (jit_compile) for the training and evaluation steps, the LSTM "
                           "layers' loop fused as cuDNN fuses it on a GPU"}
DEFAULT_COMPILE = {"fluid": False, "paddle": False, "tensorflow": False, "keras": True}


# How each script trains on more than one worker, for its --help (README,
# "More than one worker", has the commands across hosts).
WORKERS_HELP = {
    "fluid": "rnnlm_fluid.py trains on one worker: Paddle's static-graph data parallelism "
             "(fleet) needs a CUDA or XPU build for its collective mode, and its "
             "parameter-server mode is missing from the CPU wheel; train data-parallel with "
             "rnnlm_paddle.py under python -m paddle.distributed.launch (gloo on CPUs, NCCL on "
             "GPUs)",
    "paddle": "More than one worker: python -m paddle.distributed.launch --nproc_per_node N "
              "rnnlm_paddle.py FLAGS (NCCL on GPUs, gloo on CPUs); --batch_size is each worker's",
    "tensorflow": "More than one worker: python launch_tf.py --workers N rnnlm_tensorflow.py "
                  "FLAGS, or TF_CONFIG set on each host; --batch_size is each worker's",
    "keras": "More than one worker: python launch_tf.py --workers N rnnlm_keras.py FLAGS, or "
             "TF_CONFIG set on each host; --batch_size is each worker's",
}


def cpu_threads(config):
    """The CPU threads each framework's math should use: --threads, or one
    for each core this process may run on (a launcher may have bound it to
    some of them)."""
    if config.threads:
        return config.threads
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def learning_rate_at(config, epoch):
    """The learning rate of 0-based `epoch`: constant, then decayed each epoch."""
    return config.learning_rate * config.lr_decay ** max(epoch + 1 - config.max_epoch, 0)


def trained_config(config, vocab_size, workers):
    """The config a run trains with: its data's vocabulary size, its workers."""
    return dataclasses.replace(config, vocab_size=vocab_size, workers=workers)


def global_batch_config(config):
    """The config whose batch_size is the global batch's: every worker's batches."""
    return dataclasses.replace(config, batch_size=config.batch_size * config.workers)


def evaluation_config(config):
    """The config to evaluate with: batched as one worker with the global
    batch would, so that N workers report the numbers of that one worker."""
    return dataclasses.replace(global_batch_config(config), workers=1)


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """--help shows a flag's default, unless it has none to show (None, off, empty)."""

    def _get_help_string(self, action):
        if action.default in (None, False, ""):
            return action.help
        return super()._get_help_string(action)


class OneLineParser(argparse.ArgumentParser):
    """The project's parser: --help shows the defaults, an error is one line."""

    def __init__(self, **kwargs):
        super().__init__(**{"formatter_class": DefaultsHelpFormatter, **kwargs})

    def error(self, message):
        # One line that says what is wrong, instead of argparse's usage dump.
        print(f"error: {message} (see --help)", file=sys.stderr)
        sys.exit(2)


def _checked(convert, test, meaning):
    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {meaning}") from None
        if not test(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not {meaning}")
        return value
    return parse


positive_int = _checked(int, lambda v: v > 0, "a whole number above 0")
non_negative_int = _checked(int, lambda v: v >= 0, "a whole number, 0 or more")
positive_float = _checked(float, lambda v: 0 < v < math.inf, "a finite number above 0")
probability = _checked(float, lambda v: 0 < v <= 1, "a number in (0, 1]")
# A seed every framework takes as a seed: a Fluid program keeps it in a
# 32-bit int and reads 0 as "none, draw one" (a run of --seed 0 was not
# repeatable); Paddle's and NumPy's generators take no negative one.
MAX_SEED = 2**31 - 1
seed_number = _checked(int, lambda v: 1 <= v <= MAX_SEED, f"a whole number from 1 to {MAX_SEED}")


def existing_dir(path):
    if not os.path.isdir(path):
        raise argparse.ArgumentTypeError(
            f"data directory {path} not found (looked in {os.path.abspath(path)}; --data_dir is "
            "relative to the current folder): run `sh data/download.sh` first")
    return path


def build_parser(framework):
    parser = OneLineParser(
        prog=f"rnnlm_{framework}.py",
        description=f"Train the PTB word-level LSTM language model with {framework}.",
        epilog=WORKERS_HELP[framework] + ".")
    add = parser.add_argument
    add("--model", choices=sorted(PRESETS), default=Config.model,
        help="preset of Zaremba et al. (2014): test is tiny, small/medium/large as in the paper")
    add("--data_dir", type=existing_dir, default=Config.data_dir,
        help="folder with ptb.train.txt, ptb.valid.txt, ptb.test.txt")
    add("--batching", choices=BATCHINGS, default=DEFAULT_BATCHING[framework],
        help="sentences: whole sentences, state reset for each; "
             "chunks: fixed num_steps pieces of the text, state carried; "
             "buckets: whole sentences, grouped by length so that little is padded")
    add("--compile", action=argparse.BooleanOptionalAction, default=DEFAULT_COMPILE[framework],
        help=f"run {COMPILED_PATHS[framework]}"
             + ("" if framework == "fluid" else "; batching by sentences or buckets, the padded "
                "length is rounded up so that few shapes are compiled") + " (default: %(default)s)")
    add("--device", choices=["auto", "cpu", "gpu"], default=Config.device,
        help="auto uses a GPU when the build and the machine have one")
    add("--threads", type=positive_int,
        help="CPU threads for the math (default: one per core)")
    add("--epochs", type=positive_int, dest="max_max_epoch", metavar="N",
        help="epochs in all (default: the preset's)")
    add("--batch_size", type=positive_int, help="mini-batch size (default: the preset's)")
    add("--learning_rate", type=positive_float,
        help="initial SGD learning rate (default: the preset's)")
    add("--num_layers", type=positive_int, help="LSTM layers (default: the preset's)")
    add("--hidden_size", type=positive_int,
        help="LSTM and embedding size (default: the preset's)")
    add("--max_sentence_length", type=positive_int, default=Config.max_sentence_length,
        help="batching by sentences, a sentence of more time steps is cut into pieces of this "
             "many, each starting from a zero state")
    add("--num_steps", type=positive_int,
        help="chunk length for chunk batching (default: the preset's)")
    add("--keep_prob", type=probability,
        help="1 - dropout rate; 1 turns dropout off (default: the preset's)")
    add("--seed", type=seed_number, default=Config.seed,
        help="random seed for weights, shuffling and dropout")
    add("--save_dir", default=None,
        help="folder for a checkpoint after each epoch: a new or empty one, or this run's "
             "own with --resume or --overwrite (default: checkpoints/FRAMEWORK-MODEL)")
    add("--metrics_file", default=Config.metrics_file,
        help="write JSON lines here: one per epoch, then the test result (a new file, or an "
             "earlier run's metrics file, outside --save_dir)")
    add("--logdir", default=Config.logdir,
        help="write TensorBoard event files into this folder as the run goes: per batch the "
             "training loss and words/s, per epoch the perplexities and learning rate, then the "
             "test perplexity (tensorboard --logdir DIR shows them; outside --save_dir)")
    start = parser.add_mutually_exclusive_group()
    start.add_argument("--resume", action="store_true",
                       help="continue from the last epoch saved in --save_dir")
    start.add_argument("--overwrite", action="store_true",
                       help="start over: the checkpoint already in --save_dir is deleted when "
                            "this run saves its first epoch")
    return parser


def parse_config(argv, framework):
    """Command-line arguments -> Config: the preset, then any flags given."""
    args = vars(build_parser(framework).parse_args(argv))
    overrides = {key: value for key, value in args.items() if value is not None}
    overrides.setdefault("save_dir", os.path.join("checkpoints", f"{framework}-{args['model']}"))
    return Config(**{**PRESETS[args["model"]], **overrides})


def describe(config):
    """The resolved configuration, one `name = value` a line, for the start-up log."""
    return "\n".join(f"  {field.name} = {getattr(config, field.name)}"
                     for field in dataclasses.fields(config))
