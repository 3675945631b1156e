"""Run today's-API script in a process of its own, from Fluid-named numpy
weights: evaluate a text (print the total cost and the targets scored), or,
for each of a job's cases, take one training step on its text as one batch
for each batch size the case names (save the weights each step leaves, in
the shared layout).

    python -m tests.evaluate_apart {paddle,keras} WEIGHTS.npz JOB.json

Paddle's dynamic graph cannot share a process with the legacy graph, nor
Keras 3 with the v1 graph (eager execution off), and the parity tests load
both legacy scripts. The weights go through trained/layout.py, the mapping
convert.py uses.
"""
import dataclasses
import json
import os
import sys
import tempfile

import numpy as np

import load_data_tf
from config import Config
from distributed.shards import alone
from ptb.batching import make_batches
from ptb.corpus import EOS
from trained import layout


def paddle_model(config, weights):
    import rnnlm_paddle
    rnnlm_paddle.choose_device(config)
    model = rnnlm_paddle.build_network(config)
    missing, unexpected = model.set_state_dict(layout.framework_params("paddle", weights, config))
    assert not missing and not unexpected, (missing, unexpected)
    return rnnlm_paddle, model


def paddle_cost(config, weights, sentences, vocab):
    script, model = paddle_model(config, weights)
    return script.evaluate(model, sentences, vocab, config, "paddle")


def paddle_step(config, weights, batch):
    script, model = paddle_model(config, weights)
    optimizer, schedule = script.add_optimizer(config, model)
    script.set_learning_rate(schedule, 0)
    script.run_epoch(model, optimizer, alone([batch]), 1, config.batch_size, "paddle", log_lines=0)
    return layout.to_layout("paddle", {name: value.numpy()
                                       for name, value in model.state_dict().items()}, config)


def keras_steps(config, weights):
    import rnnlm_keras
    from trained.keras import model_with
    rnnlm_keras.choose_device(config)
    model = model_with(config, weights)
    optimizer = rnnlm_keras.add_optimizer(config)
    return rnnlm_keras, model, optimizer, rnnlm_keras.make_steps(model, optimizer, config)


def keras_cost(config, weights, sentences, vocab):
    script, _, _, (_, eval_step) = keras_steps(config, weights)
    return script.evaluate(eval_step, sentences, vocab, config, "keras")


def keras_step(config, weights, batch):
    script, model, optimizer, (train_step, _) = keras_steps(config, weights)
    script.set_learning_rate(optimizer, config, 0)
    script.run_epoch(train_step, alone([batch]), 1, "keras", log_lines=0)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model")
        model.save_weights(path + layout.SUFFIX["keras"])
        return layout.read_weights("keras", path, config)


def one_batch(loader, sentences, vocab, config):
    """The first batch of `sentences` with one row (or sentence) for each."""
    batches = make_batches(loader, sentences, vocab,
                           dataclasses.replace(config, batch_size=len(sentences)))
    return next(iter(batches() if callable(batches) else batches))


def vocab_of(config):
    return {EOS: 0, **{f"w{i}": i for i in range(1, config.vocab_size)}}


def take_steps(script, cases, fluid_weights):
    """{"CASE/BATCH_SIZE/WEIGHT": the weight after that case's step at that batch size}."""
    step = {"paddle": paddle_step, "keras": keras_step}[script]
    after = {}
    for number, case in enumerate(cases):
        config = Config(**case["config"])
        weights = layout.checked(layout.to_layout("fluid", fluid_weights, config), config, "weights")
        batch = one_batch(load_data_tf, case["sentences"], vocab_of(config), config)
        for size in case["batch_sizes"]:
            stepped = step(dataclasses.replace(config, batch_size=size), weights, batch)
            after.update({f"{number}/{size}/{name}": value for name, value in stepped.items()})
    return after


def main(script, weights_path, job_path):
    with open(job_path, encoding="utf-8") as job_file:
        job = json.load(job_file)
    fluid_weights = dict(np.load(weights_path))
    if "cases" in job:
        np.savez(job["out"], **take_steps(script, job["cases"], fluid_weights))
        return
    config = Config(**job["config"])
    vocab = vocab_of(config)
    weights = layout.checked(layout.to_layout("fluid", fluid_weights, config), config, weights_path)
    cost = {"paddle": paddle_cost, "keras": keras_cost}[script]
    stats = cost(config, weights, job["sentences"], vocab)
    print(json.dumps({"cost": float(np.log(stats.ppl) * stats.targets), "targets": stats.targets}))


if __name__ == "__main__":
    main(*sys.argv[1:])
