"""Evaluate a text with today's-API script in a process of its own, from
Fluid-named numpy weights; print the total cost and the targets scored.

    python -m tests.evaluate_apart {paddle,keras} WEIGHTS.npz JOB.json

Paddle's dynamic graph cannot share a process with the legacy graph, nor
Keras 3 with the v1 graph (eager execution off), and the parity tests load
both legacy scripts. The weights go through trained/layout.py, the mapping
convert.py uses.
"""
import json
import sys

import numpy as np

from config import Config
from ptb.corpus import EOS
from trained import layout


def paddle_cost(config, weights, sentences, vocab):
    import rnnlm_paddle
    rnnlm_paddle.choose_device(config)
    model = rnnlm_paddle.build_network(config)
    missing, unexpected = model.set_state_dict(layout.framework_params("paddle", weights, config))
    assert not missing and not unexpected, (missing, unexpected)
    return rnnlm_paddle.evaluate(model, sentences, vocab, config, "paddle")


def keras_cost(config, weights, sentences, vocab):
    import rnnlm_keras
    from trained.keras import model_with
    rnnlm_keras.choose_device(config)
    model = model_with(config, weights)
    _, eval_step = rnnlm_keras.make_steps(model, rnnlm_keras.add_optimizer(config), config)
    return rnnlm_keras.evaluate(eval_step, sentences, vocab, config, "keras")


def main(script, weights_path, job_path):
    with open(job_path, encoding="utf-8") as job_file:
        job = json.load(job_file)
    config = Config(**job["config"])
    vocab = {EOS: 0, **{f"w{i}": i for i in range(1, config.vocab_size)}}
    cost = {"paddle": paddle_cost, "keras": keras_cost}[script]
    fluid_weights = dict(np.load(weights_path))
    weights = layout.checked(layout.to_layout("fluid", fluid_weights, config), config, weights_path)
    stats = cost(config, weights, job["sentences"], vocab)
    print(json.dumps({"cost": float(np.log(stats.ppl) * stats.targets), "targets": stats.targets}))


if __name__ == "__main__":
    main(*sys.argv[1:])
