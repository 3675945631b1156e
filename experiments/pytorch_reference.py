"""The presets' recipe in PyTorch: a reference for perplexity (`small`) and for speed (bench.py).

A PyTorch reference of the `small` recipe reaches test perplexity 195.5 on
ptb-mini, about 5% below rnnlm_tensorflow.py. This script is that recipe,
written independently: the same vocabulary, the same [batch_size,
num_steps] chunks of the same stream (ptb.batching), the state
carried and cut for the one-row tail, the loss summed over the batch's
targets and divided by batch_size, uniform init, SGD with the preset's schedule and
global-norm clipping. torch is not one of the project's requirements:

    python -m venv /tmp/torch && /tmp/torch/bin/pip install torch==2.15.0 numpy
    /tmp/torch/bin/python experiments/pytorch_reference.py --data_dir data/ptb-mini
    /tmp/torch/bin/python experiments/pytorch_reference.py --data_dir data/ptb-mini --one_bias

torch.nn.LSTM has two bias vectors per layer (b_ih and b_hh), both
initialised in [-init_scale, init_scale] and both updated with the same
gradient; BasicLSTMCell and Paddle's lstm operator have one, starting at
zero. --one_bias gives nn.LSTM the single zero-initialised bias of the
other two. docs/pytorch-reference.md has the results.
"""
import math
import os
import sys

import numpy as np

try:
    import torch
    from torch import nn
except ModuleNotFoundError:
    sys.exit(f"error: {sys.executable} has no torch; run this file with the Python of a venv "
             "that has torch==2.15.0, as its docstring shows")

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from config import PRESETS, Config, OneLineParser, existing_dir, learning_rate_at, seed_number  # noqa: E402
from ptb import batching, corpus  # noqa: E402
from training.errors import run_cli  # noqa: E402


class LanguageModel(nn.Module):
    def __init__(self, config, one_bias):
        super().__init__()
        self.embedding = nn.Embedding(config.vocab_size, config.hidden_size)
        # Dropout as the scripts have it: on the embedding's output and on
        # each layer's (nn.LSTM's between the layers, then self.dropout).
        self.lstm = nn.LSTM(config.hidden_size, config.hidden_size, config.num_layers,
                            batch_first=True, dropout=1 - config.keep_prob)
        self.dropout = nn.Dropout(1 - config.keep_prob)
        self.softmax = nn.Linear(config.hidden_size, config.vocab_size)
        for weight in self.parameters():
            nn.init.uniform_(weight, -config.init_scale, config.init_scale)
        if one_bias:
            for name, weight in self.lstm.named_parameters():
                if name.startswith("bias"):
                    nn.init.zeros_(weight)
                    weight.requires_grad_(name.startswith("bias_ih"))

    def forward(self, inputs, state):
        outputs, state = self.lstm(self.dropout(self.embedding(inputs)), state)
        return self.softmax(self.dropout(outputs)), state


def run_epoch(model, batches, config, learning_rate=None):
    """Perplexity over the (inputs, targets) batches, chunks of one stream;
    trains when given a learning rate."""
    params = [weight for weight in model.parameters() if weight.requires_grad]
    cross_entropy = nn.CrossEntropyLoss(reduction="sum")
    state, total, targets = None, 0.0, 0
    for inputs, labels in batches:
        inputs, labels = (torch.from_numpy(ids.astype(np.int64)) for ids in (inputs, labels))
        if state is not None:  # carried; the one-row tail continues the last row
            state = tuple(part[:, -inputs.shape[0]:].detach() for part in state)
        with torch.set_grad_enabled(learning_rate is not None):
            logits, state = model(inputs, state)
            loss = cross_entropy(logits.reshape(-1, config.vocab_size), labels.reshape(-1))
        if learning_rate is not None:
            model.zero_grad()
            (loss / config.batch_size).backward()  # a smaller batch: its share of a step
            nn.utils.clip_grad_norm_(params, config.max_grad_norm)
            with torch.no_grad():
                for weight in params:
                    weight -= learning_rate * weight.grad
        total += loss.item()
        targets += labels.numel()
    return math.exp(total / targets)


def main(argv=None):
    parser = OneLineParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data_dir", type=existing_dir, default="data")
    parser.add_argument("--model", default="small", choices=sorted(PRESETS))
    parser.add_argument("--seed", type=seed_number, default=1)
    parser.add_argument("--one_bias", action="store_true",
                        help="one zero-initialised LSTM bias, as BasicLSTMCell has")
    args = parser.parse_args(argv)
    torch.manual_seed(args.seed)
    data = corpus.load_corpus(args.data_dir)
    config = Config(**PRESETS[args.model], vocab_size=len(data.vocab))
    streams = {split: batching.id_stream(getattr(data, split), data.vocab)
               for split in ("train", "valid", "test")}
    model = LanguageModel(config, args.one_bias)

    def chunks(split):
        return batching.chunks(streams[split], config.batch_size, config.num_steps)
    for epoch in range(config.max_max_epoch):
        learning_rate = learning_rate_at(config, epoch)
        model.train()
        train_ppl = run_epoch(model, chunks("train"), config, learning_rate)
        model.eval()
        valid_ppl = run_epoch(model, chunks("valid"), config)
        print(f"epoch {epoch + 1}  lr {learning_rate:.4g}  train ppl {train_ppl:.2f}  "
              f"valid ppl {valid_ppl:.2f}", flush=True)
    print(f"test ppl {run_epoch(model, chunks('test'), config):.2f}")


if __name__ == "__main__":
    run_cli(main)
