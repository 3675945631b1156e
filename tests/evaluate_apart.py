"""Run today's-API script in a process of its own, from Fluid-named numpy
weights: evaluate each of a job's texts (print a JSON list of each one's
total cost and targets scored), and, for each of its cases, take one
training step on its text as one batch for each batch size the case names
(save the weights each step leaves, in the shared layout).

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
from ptb.batching import Batches, make_batches
from ptb.corpus import EOS
from trained import layout


def paddle_trainer(config, weights):
    import rnnlm_paddle
    rnnlm_paddle.choose_device(config)
    trainer = rnnlm_paddle.build_trainer(config)
    params = layout.framework_params("paddle", weights, config)
    missing, unexpected = trainer.model.set_state_dict(params)
    assert not missing and not unexpected, (missing, unexpected)
    return rnnlm_paddle, trainer


def paddle_step(config, weights, batch):
    script, trainer = paddle_trainer(config, weights)
    script.set_learning_rate(trainer, 0)
    script.run_epoch(trainer, Batches.listed([batch]), "paddle", training=True)
    return layout.to_layout("paddle", {name: value.numpy()
                                       for name, value in trainer.model.state_dict().items()}, config)


def keras_trainer(config, weights):
    import rnnlm_keras
    from trained.keras import set_weights
    trainer = rnnlm_keras.build_trainer(config, rnnlm_keras.choose_device(config))
    set_weights(trainer.model, weights)
    return rnnlm_keras, trainer


def keras_step(config, weights, batch):
    script, trainer = keras_trainer(config, weights)
    script.set_learning_rate(trainer, config, 0)
    script.run_epoch(trainer, Batches.listed([batch]), "keras", training=True)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model")
        script.save_checkpoint(trainer, path)
        return layout.read_weights("keras", path, config)


def one_batch(loader, sentences, vocab, config):
    """The first batch of `sentences` with one row (or sentence) for each."""
    batches = make_batches(loader, sentences, vocab,
                           dataclasses.replace(config, batch_size=len(sentences)))
    return next(iter(batches))


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


def text_cost(script, text, fluid_weights):
    """{"cost", "targets"} of the script's evaluate() on one text."""
    config = Config(**text["config"])
    weights = layout.checked(layout.to_layout("fluid", fluid_weights, config), config, "weights")
    script, trainer = {"paddle": paddle_trainer, "keras": keras_trainer}[script](config, weights)
    stats = script.evaluate(trainer, text["sentences"], vocab_of(config), config, script.FRAMEWORK)
    return {"cost": float(stats.cost), "targets": stats.targets}


def main(script, weights_path, job_path):
    with open(job_path, encoding="utf-8") as job_file:
        job = json.load(job_file)
    fluid_weights = dict(np.load(weights_path))
    np.savez(job["out"], **take_steps(script, job["cases"], fluid_weights))
    print(json.dumps([text_cost(script, text, fluid_weights) for text in job["texts"]]))


if __name__ == "__main__":
    main(*sys.argv[1:])
