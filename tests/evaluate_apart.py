"""Run today's-API script in a process of its own, from Fluid-named numpy
weights: evaluate each of a job's texts (print a JSON object: each one's
total cost and targets scored), and, for each of its cases, take one
training step on its text as one batch for each batch size the case names
(save the weights each step leaves, in the shared layout); and run the
model on its padded sentences in one batch and on each alone, to show what
the padding changes; each of these as the script teaches its framework and
compiled (--compile); and read its last text's batches through the script's
input pipeline.

    python -m tests.evaluate_apart {paddle,keras} WEIGHTS.npz JOB.json

Paddle's dynamic graph cannot share a process with the legacy graph, nor
Keras 3 with the v1 graph (eager execution off), and the parity tests load
both legacy scripts. The weights go through model_io/layout.py, the mapping
convert.py uses.
"""
import dataclasses
import functools
import importlib
import json
import os
import sys
import tempfile

import numpy as np

import load_data_tf
from config import Config
from model_io import layout
from ptb.batching import Batches, make_batches
from ptb.corpus import EOS


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
    from model_io.keras import set_weights
    trainer = rnnlm_keras.build_trainer(config, rnnlm_keras.choose_device(config))
    set_weights(trainer.model, weights)
    return rnnlm_keras, trainer


TRAINERS = {"paddle": paddle_trainer, "keras": keras_trainer}


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


def keras_forward(script, trainer, batch):
    """(the cost of `batch`, each layer's final (hidden, cell) stacked:
    [layers, 2, rows, hidden]) through rnnlm_keras's model, from zeros."""
    current_word, next_word, lengths = batch
    logits, final_state = trainer.model(current_word, None, lengths)
    return (float(script.sequence_cost(logits, next_word, lengths)),
            np.array([[hidden, cell] for hidden, cell in final_state]))


def paddle_forward(script, trainer, batch):
    """The same through rnnlm_paddle's."""
    current_word, next_word, lengths = map(script.paddle.to_tensor, batch)
    logits, (hidden, cell) = trainer.model(current_word, None, lengths)
    cost = float(script.sequence_cost(logits, next_word, lengths))
    return cost, np.stack([hidden.numpy(), cell.numpy()], axis=1)


def padding_effect(script, text, fluid_weights):
    """{"padded_steps": how many the batch has, "cost": the largest
    difference between the batch's cost and the sum of its sentences' alone,
    unpadded, "state": the same of each row's final state}."""
    config = Config(**text["config"])
    weights = layout.checked(layout.to_layout("fluid", fluid_weights, config), config, "weights")
    forward = functools.partial({"paddle": paddle_forward, "keras": keras_forward}[script],
                                *TRAINERS[script](config, weights))
    vocab = vocab_of(config)
    batch = one_batch(load_data_tf, text["sentences"], vocab, config)
    cost, state = forward(batch)
    # Batched as the idiom batches: a compiled step's rounding would pad them.
    unpadded = dataclasses.replace(config, compile=False)
    alone = [forward(one_batch(load_data_tf, [words], vocab, unpadded))
             for words in text["sentences"]]
    return {"padded_steps": int(batch[0].size - batch[2].sum()),
            "cost": abs(cost - sum(cost for cost, _ in alone)),
            "state": max(float(np.abs(state[:, :, row] - row_state[:, :, 0]).max())
                         for row, (_, row_state) in enumerate(alone))}


def text_cost(script, text, fluid_weights):
    """{"cost", "targets"} of the script's evaluate() on one text."""
    config = Config(**text["config"])
    weights = layout.checked(layout.to_layout("fluid", fluid_weights, config), config, "weights")
    script, trainer = TRAINERS[script](config, weights)
    stats = script.evaluate(trainer, text["sentences"], vocab_of(config), config, script.FRAMEWORK)
    return {"cost": float(stats.cost), "targets": stats.targets}


def fed_batches(script, text):
    """Each batch of `text`, shuffled by its seed, as the script's input
    pipeline hands it to the step: its arrays as lists of ids."""
    config = Config(**text["config"])
    batches = make_batches(load_data_tf, text["sentences"], vocab_of(config), config, text["seed"])
    pipeline = importlib.import_module(f"rnnlm_{script}").input_pipeline
    return [[np.asarray(part).tolist() for part in batch] for batch in pipeline(batches)]


def keras_traces(text, fluid_weights):
    """{"shapes": how many shapes of batch the text makes by its config,
    compiled; "traced": how many times the compiled training step has been
    traced (each trace one XLA compilation) after each of two epochs}."""
    config = dataclasses.replace(Config(**text["config"]), compile=True)
    weights = layout.checked(layout.to_layout("fluid", fluid_weights, config), config, "weights")
    script, trainer = keras_trainer(config, weights)
    script.set_learning_rate(trainer, config, 0)
    batches = make_batches(load_data_tf, text["sentences"], vocab_of(config), config, text["seed"])
    traced = []
    for _ in range(2):
        script.run_epoch(trainer, batches, "keras", training=True)
        traced.append(trainer.train_step.experimental_get_tracing_count())
    return {"shapes": len({batch[0].shape for batch in batches}), "traced": traced}


def fused_against_keras(seed=0):
    """{"masked" and "unmasked": the largest difference between
    compat.fused_lstm.LSTM and keras.layers.LSTM with the same weights, over
    their outputs, final states and the gradients of a loss of all three
    with respect to the inputs, the initial state and every weight}."""
    from compat import fused_lstm
    from compat.keras3 import keras, tf
    rng = np.random.default_rng(seed)
    rows, steps, width, units = 3, 5, 4, 6
    inputs, hidden, cell = (tf.constant(rng.standard_normal(shape), tf.float32) for shape in
                            ((rows, steps, width), (rows, units), (rows, units)))
    weighing = [tf.constant(rng.standard_normal(shape), tf.float32)
                for shape in ((rows, steps, units), (rows, units), (rows, units))]
    differences = {}
    for name, mask in (("unmasked", None), ("masked", tf.sequence_mask([5, 2, 3], steps))):
        results = []
        for kind in (keras.layers.LSTM, fused_lstm.LSTM):
            keras.utils.set_random_seed(seed)
            layer = kind(units, return_sequences=True, return_state=True,
                         bias_initializer="random_uniform")
            with tf.GradientTape() as tape:
                tape.watch([inputs, hidden, cell])
                outputs = layer(inputs, initial_state=[hidden, cell], mask=mask)
                loss = sum(tf.reduce_sum(output * weight) for output, weight in zip(outputs, weighing))
            grads = tape.gradient(loss, [inputs, hidden, cell, *layer.trainable_weights])
            results.append([*outputs, *grads])
        differences[name] = max(float(np.abs(np.asarray(mine) - np.asarray(keras_own)).max())
                                for keras_own, mine in zip(*results))
    return differences


def compiled(items, mode):
    """The job's texts or cases, their configs set to `mode` (compiled or
    not); compiled, a case steps only if it says so ("compiled")."""
    return [{**item, "config": {**item["config"], "compile": mode},
             **({"batch_sizes": []} if mode and not item.get("compiled", True) else {})}
            for item in items]


def main(script, weights_path, job_path):
    with open(job_path, encoding="utf-8") as job_file:
        job = json.load(job_file)
    fluid_weights = dict(np.load(weights_path))
    modes = {"idiom": False, "compiled": True}
    steps = {f"{name}/{key}": value for name, mode in modes.items()
             for key, value in take_steps(script, compiled(job["cases"], mode), fluid_weights).items()}
    np.savez(job["out"], **steps)
    costs = {name: [text_cost(script, text, fluid_weights) for text in compiled(job["texts"], mode)]
             for name, mode in modes.items()}
    padding = {name: padding_effect(script, compiled([job["padded"]], mode)[0], fluid_weights)
               for name, mode in modes.items()}
    print(json.dumps({"costs": costs, "padding": padding,
                      "fed": fed_batches(script, job["fed"]),
                      "traces": keras_traces(job["fed"], fluid_weights) if script == "keras" else None,
                      "fused": fused_against_keras() if script == "keras" else None}))


if __name__ == "__main__":
    main(*sys.argv[1:])
