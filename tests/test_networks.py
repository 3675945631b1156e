"""What each network really computes: unpadded LoD, carried state, masked
padding, correct gradients, and the same loss in both frameworks."""
import dataclasses
import json

import numpy as np
import pytest

import load_data_fluid
import load_data_tf
import rnnlm_fluid
import rnnlm_tensorflow
from compat.paddle_fluid import paddle
from config import Config
from model_io import layout
from ptb import batching
from ptb.batching import Batches, count_targets
from ptb.corpus import EOS
from tests.conftest import computed_once, run_command
from tests.evaluate_apart import one_batch

VOCAB = {EOS: 0, **{f"w{i}": i for i in range(1, 12)}}
SENTENCES = [[1, 2, 3, 4, 5], [6, 7], [8], [9, 10, 11, 1, 2, 3, 4]]
CONFIG = Config(vocab_size=len(VOCAB), hidden_size=8, num_layers=2, init_scale=0.5, batch_size=4)
# Each script as it teaches its framework, and with --compile: {mode: compile}.
MODES = {"idiom": False, "compiled": True}


def test_fluid_hidden_keeps_the_input_lod_without_padding():
    main_program, startup_program = paddle.static.Program(), paddle.static.Program()
    with paddle.static.program_guard(main_program, startup_program), paddle.utils.unique_name.guard():
        net = rnnlm_fluid.build_network(CONFIG)
    lstm_ops = [op for op in main_program.global_block().ops if op.type == "lstm"]
    assert len(lstm_ops) == CONFIG.num_layers  # every layer is built and used
    hidden = [op.output("Hidden")[0] for op in lstm_ops]

    place = paddle.CPUPlace()
    exe = paddle.static.Executor(place)
    exe.run(startup_program)
    batch = next(load_data_fluid.sentence_batches(SENTENCES, VOCAB, 4, 100)())
    feed = dict(zip(net.feeds, load_data_fluid.to_lod_tensors(batch, place)))
    outputs = exe.run(main_program, feed=feed, fetch_list=hidden, return_numpy=False)
    num_words = sum(len(words) + 1 for words in SENTENCES)
    for output in outputs:
        assert output.lod() == feed["current_word"].lod() == [[0, 6, 9, 11, 19]]
        assert np.array(output).shape == (num_words, CONFIG.hidden_size)


CHUNKS = dataclasses.replace(CONFIG, batching="chunks")


def fluid_session(config):
    """A Fluid program for `config` with its backward, startup run: (program, net, params_grads, exe)."""
    main_program, startup_program = paddle.static.Program(), paddle.static.Program()
    main_program.random_seed = startup_program.random_seed = 3
    with paddle.static.program_guard(main_program, startup_program), paddle.utils.unique_name.guard():
        net = rnnlm_fluid.build_network(config)
        params_grads = paddle.static.append_backward(net.loss)
    exe = paddle.static.Executor(paddle.CPUPlace())
    exe.run(startup_program)
    return main_program, net, params_grads, exe


def fluid_trainer(config, weights=None):
    """rnnlm_fluid's Trainer for `config`, holding `weights` (the shared layout) if given."""
    trainer = rnnlm_fluid.build_trainer(config, paddle.CPUPlace())
    if weights is None:
        return trainer
    scope = paddle.static.global_scope()
    for name, value in layout.framework_params("fluid", weights, config).items():
        tensor = scope.find_var(name).get_tensor()
        tensor.set(value.astype(np.array(tensor).dtype), paddle.CPUPlace())  # the lstm's may be float64
    return trainer


def fluid_weights(trainer, config):
    """The weights of a Fluid Trainer, in the shared layout."""
    scope = paddle.static.global_scope()
    params = {param.name: np.array(scope.find_var(param.name).get_tensor())
              for param in trainer.programs.main.all_parameters()}
    return layout.checked(layout.to_layout("fluid", params, config), config, "fluid")


def tensorflow_trainer(config, weights):
    """rnnlm_tensorflow's Trainer for `config`, holding `weights` (the shared layout)."""
    trainer = rnnlm_tensorflow.build_trainer(config, "/CPU:0")
    variables = tensorflow_variables(trainer)
    for name, value in layout.framework_params("tensorflow", weights, config).items():
        variables[name].load(value, trainer.session)
    return trainer


def tensorflow_variables(trainer):
    return {v.op.name: v for v in trainer.graph.graph.get_collection("variables")}


def chunk_runner(framework):
    """A function: list of chunk batches -> their total cost, through the
    script's own run_epoch, the state carried from batch to batch."""
    trainer = fluid_trainer(CHUNKS)
    if framework == "tensorflow":
        trainer, script = tensorflow_trainer(CHUNKS, fluid_weights(trainer, CHUNKS)), rnnlm_tensorflow
    else:
        script = rnnlm_fluid
    return lambda batches: script.run_epoch(trainer, Batches.listed(batches), "t", False).cost


def chunks(framework, sentences, batch_size, num_steps):
    if framework == "fluid":
        return list(load_data_fluid.chunk_batches(sentences, VOCAB, batch_size, num_steps)())
    stream = batching.id_stream(sentences, VOCAB)
    return list(batching.chunks(stream, batch_size, num_steps))


@pytest.mark.parametrize("framework", ["fluid", "tensorflow"])
def test_state_flows_from_chunk_to_chunk(framework):
    """With the state carried, cutting a row into chunks changes nothing; a
    reset at every chunk would forget the context and change the cost."""
    sentences = SENTENCES * 3
    row = count_targets(sentences)
    run = chunk_runner(framework)
    whole = run(chunks(framework, sentences, batch_size=1, num_steps=row))
    in_threes = chunks(framework, sentences, 1, 3)
    assert run(in_threes) == pytest.approx(whole, rel=1e-5)
    # Two rows and a one-row tail: the tail continues row 2's state.
    two_rows = run(chunks(framework, sentences, 2, row))
    assert run(chunks(framework, sentences, 2, 4)) == pytest.approx(two_rows, rel=1e-5)
    # The same 3-step chunks, each started from zeros: the context matters,
    # so the first assertion above is not true by accident.
    reset_every_chunk = sum(run([batch]) for batch in in_threes)
    assert reset_every_chunk != pytest.approx(whole, rel=1e-4)


@pytest.mark.parametrize("hidden_size", [8, 9])
def test_fluid_gradients_match_finite_differences(hidden_size):
    """hidden_size 8 is where Paddle 3.3.1's float32 AVX lstm backward goes
    wrong, and 9 where the lstm operator computes in float32."""
    config = dataclasses.replace(CONFIG, num_layers=1, hidden_size=hidden_size)
    program, net, params_grads, exe = fluid_session(config)
    place = paddle.CPUPlace()
    batch = next(load_data_fluid.sentence_batches(SENTENCES, VOCAB, 4, 100)())
    feed = dict(zip(net.feeds, load_data_fluid.to_lod_tensors(batch, place)))
    grads = exe.run(program, feed=feed, fetch_list=[grad for _, grad in params_grads])
    scope = paddle.static.global_scope()
    rng = np.random.default_rng(0)
    for (param, _), grad in zip(params_grads, grads):
        tensor = scope.find_var(param.name).get_tensor()
        weights = np.array(tensor)
        direction = rng.standard_normal(weights.shape).astype(weights.dtype)
        losses = []
        for step in (1e-2, -1e-2):
            tensor.set(weights + step * direction, place)
            losses.append(float(exe.run(program, feed=feed, fetch_list=[net.loss])[0]))
        tensor.set(weights, place)
        numeric = (losses[0] - losses[1]) / 2e-2
        assert float((grad * direction).sum()) == pytest.approx(numeric, rel=5e-2, abs=2e-3), param.name


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("batching", ["sentences", "chunks"])
def test_both_frameworks_compute_the_same_loss(batching, mode):
    """Identical weights from one numpy source, the same text, batched the
    same way, through each script's own evaluate(): the same cost.

    Paddle splits a layer into fc weights [input, 4H] and the lstm operator's
    recurrent weights [H, 4H] and bias [1, 4H]; BasicLSTMCell stacks input and
    recurrent rows into one kernel [input + H, 4H] with a bias [4H], gates in
    another order (model_io/layout.py, which convert.py uses), and adds
    forget_bias (0.0 here) to the forget gate.
    Batching by sentences, TensorFlow pads the 2-, 6- and 8-target sentences
    of a batch to 8 steps where Fluid does not: the padding must not count.
    Compiled, the same, TensorFlow's batches rounded up to COMPILED_LENGTH_MULTIPLE.
    """
    config = dataclasses.replace(CONFIG, batching=batching, batch_size=3, num_steps=4,
                                 compile=MODES[mode])
    trainer = fluid_trainer(config)
    tf_trainer = tensorflow_trainer(config, fluid_weights(trainer, config))
    sentences = [SENTENCES[2], SENTENCES[0], SENTENCES[3]] * 2
    fluid = rnnlm_fluid.evaluate(trainer, sentences, VOCAB, config, "fluid")
    tensorflow = rnnlm_tensorflow.evaluate(tf_trainer, sentences, VOCAB, config, "tf")
    assert fluid.targets == tensorflow.targets == count_targets(sentences)
    # Batch losses agreeing to 1e-4 per target.
    assert fluid.cost == pytest.approx(tensorflow.cost, abs=1e-4 * fluid.targets)


# The text whose cost every script computes from the same weights.
EVALUATED = [SENTENCES[2], SENTENCES[0], SENTENCES[3]] * 2


def evaluated_config(batching):
    return dataclasses.replace(CONFIG, batching=batching, batch_size=3, num_steps=4)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("script", ["paddle", "keras"])
@pytest.mark.parametrize("batching", ["sentences", "chunks"])
def test_todays_apis_compute_the_same_loss_as_fluid(script, batching, mode, todays):
    """The same weights through rnnlm_fluid's evaluate() here and through
    rnnlm_paddle's or rnnlm_keras's in a process of its own
    (tests/evaluate_apart.py, where the mapping is written), as each
    teaches its framework and compiled: the same cost. With the
    Fluid-TensorFlow test above, all four scripts agree."""
    weights, done = todays
    config = evaluated_config(batching)
    fluid = rnnlm_fluid.evaluate(fluid_trainer(config, weights), EVALUATED, VOCAB, config, "fluid")
    today = done[script]["costs"][mode][batching]
    assert today["targets"] == fluid.targets == count_targets(EVALUATED)
    assert today["cost"] == pytest.approx(fluid.cost, abs=1e-4 * fluid.targets)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("script", ["paddle", "keras"])
def test_padding_changes_neither_the_cost_nor_the_state_carried(script, mode, todays):
    """SENTENCES padded in one batch, and each alone: the same cost, and
    each row's final state is its own sentence's, not the padding's, as
    each script teaches its framework and compiled (Keras's fused LSTM
    masks as keras.layers.LSTM does). Keras no longer warns that the mask
    is destroyed: the model takes lengths, as nn.LSTM takes sequence_length."""
    _, done = todays
    padding = done[script]["padding"][mode]
    assert padding["padded_steps"] == 4 * 8 - sum(len(words) + 1 for words in SENTENCES)
    assert padding["cost"] < 1e-5 and padding["state"] < 1e-6
    assert "Warning" not in done[script]["stderr"], done[script]["stderr"]


def fluid_step(config, weights, sentences):
    """The weights (shared layout) after one step of rnnlm_fluid.py's
    training program from `weights` on `sentences` as one batch."""
    trainer = fluid_trainer(config, weights)
    rnnlm_fluid.set_learning_rate(trainer, 0)
    batch = one_batch(load_data_fluid, sentences, VOCAB, config)
    rnnlm_fluid.run_epoch(trainer, Batches.listed([batch]), "fluid", training=True)
    return fluid_weights(trainer, config)


def tensorflow_step(config, weights, sentences):
    """The same through rnnlm_tensorflow.py's training graph."""
    trainer = tensorflow_trainer(config, weights)
    with trainer.session:
        rnnlm_tensorflow.set_learning_rate(trainer, config, 0)
        batch = one_batch(load_data_tf, sentences, VOCAB, config)
        rnnlm_tensorflow.run_epoch(trainer, Batches.listed([batch]), "tf", training=True)
        params = {name: trainer.session.run(variable)
                  for name, variable in tensorflow_variables(trainer).items()}
    return layout.to_layout("tensorflow", params, config)


def run_apart(script, weights, folder):
    """rnnlm_SCRIPT.py in one process of its own, from `weights`: {"costs":
    {batching: its cost of EVALUATED}, "steps": {case: {batch_size: the
    weights after its step}}, "padding": what padding SENTENCES changes,
    "fed": the batches of FED through its input pipeline, "stderr"}
    (tests/evaluate_apart.py)."""
    np.savez(folder / "weights.npz", **layout.framework_params("fluid", weights, CONFIG))
    job = {"texts": [{"config": dataclasses.asdict(evaluated_config(batching)),
                      "sentences": EVALUATED} for batching in BATCHINGS],
           "cases": [{"config": dataclasses.asdict(config), "sentences": REPEATING,
                      "batch_sizes": sizes, "compiled": case in COMPILED_CASES}
                     for case, (config, sizes) in STEP_CASES.items()],
           "padded": {"config": dataclasses.asdict(evaluated_config("sentences")),
                      "sentences": SENTENCES},
           "fed": {"config": dataclasses.asdict(FED_CONFIG), "sentences": FED, "seed": FED_SEED},
           "out": str(folder / "after.npz")}
    (folder / "job.json").write_text(json.dumps(job))
    result = run_command("-m", "tests.evaluate_apart", script, folder / "weights.npz",
                         folder / "job.json", timeout=120)
    assert result.returncode == 0, result.stderr
    after = np.load(folder / "after.npz")
    steps = {mode: {case: {size: {name: after[f"{mode}/{number}/{size}/{name}"] for name in weights}
                           for size in sizes}
                    for number, (case, (_, sizes)) in enumerate(STEP_CASES.items())
                    if mode == "idiom" or case in COMPILED_CASES}
             for mode in MODES}
    printed = json.loads(result.stdout.strip().splitlines()[-1])
    costs = {mode: dict(zip(BATCHINGS, printed["costs"][mode])) for mode in MODES}
    return {"costs": costs, "steps": steps, "traces": printed["traces"], "fused": printed["fused"],
            "padding": printed["padding"], "fed": printed["fed"], "stderr": result.stderr}


BATCHINGS = ("sentences", "chunks")
# Sentences of many lengths, grouped by buckets into four batches of three.
FED = [[i % 11 + 1 for i in range(length)] for length in (5, 1, 8, 3, 2, 7, 4, 6, 2, 9, 1, 3)]
FED_CONFIG = dataclasses.replace(CONFIG, batching="buckets", batch_size=3)
FED_SEED = 7
# Words that repeat within the batch: their embedding rows get several gradients.
REPEATING = [[1, 2, 1, 2, 1], [1, 7], [8, 1]]
ROWS, BATCH_SIZE = len(REPEATING), 4
# One step of each script from one set of weights, on REPEATING as one batch:
# unclipped (a step is the learning rate times the gradient) at batch sizes
# ROWS and BATCH_SIZE, by sentences and by chunks; and clipped.
# The case each script also steps compiled (--compile): one step's weights,
# clipped, against Fluid's (the steps of the others take a minute more).
COMPILED_CASES = ("clipped",)
STEP_CASES = {
    "sentences": (dataclasses.replace(CONFIG, max_grad_norm=1e9), [ROWS, BATCH_SIZE]),
    "chunks": (dataclasses.replace(CONFIG, batching="chunks", max_grad_norm=1e9),
               [ROWS, BATCH_SIZE]),
    "clipped": (dataclasses.replace(CONFIG, batch_size=ROWS, max_grad_norm=0.05), [ROWS]),
}


@pytest.fixture(scope="session")
def todays(tmp_path_factory):
    """(the weights, {script: run_apart's result}) for Paddle 3 and Keras."""
    def compute():
        weights = fluid_weights(fluid_trainer(CONFIG), CONFIG)
        return weights, {script: run_apart(script, weights, tmp_path_factory.mktemp(script))
                         for script in ("paddle", "keras")}
    return computed_once(tmp_path_factory, "todays-apis", compute)


@pytest.fixture(scope="session")
def steps(todays, tmp_path_factory):
    """(the weights, {script: {mode: {case: {batch_size: the weights after its
    step}}}}), Fluid first."""
    weights, done = todays

    def compute():
        return {name: {mode: {case: {size: step(dataclasses.replace(config, batch_size=size,
                                                                    compile=compiled),
                                                weights, REPEATING)
                                     for size in sizes}
                              for case, (config, sizes) in STEP_CASES.items()
                              if not compiled or case in COMPILED_CASES}
                       for mode, compiled in MODES.items()}
                for name, step in (("fluid", fluid_step), ("tensorflow", tensorflow_step))}
    after = computed_once(tmp_path_factory, "steps", compute)
    after.update({script: result["steps"] for script, result in done.items()})
    return weights, after


@pytest.mark.parametrize("script", ["fluid", "tensorflow", "paddle", "keras"])
@pytest.mark.parametrize("batching", ["sentences", "chunks"])
def test_a_smaller_batch_moves_the_weights_by_its_share(batching, script, steps):
    """A batch of r rows, with --batch_size b, moves the weights r/b as far
    as the same rows do as a full batch (batch_size r), and each script
    takes Fluid's step from the same weights. Dividing by the batch's own
    rows gave the epoch's one-row tail a whole step."""
    weights, after = steps
    mine, fluids = after[script]["idiom"][batching], after["fluid"]["idiom"][batching]
    for name, before in weights.items():
        full, share = mine[ROWS][name] - before, mine[BATCH_SIZE][name] - before
        assert np.abs(full).max() > 1e-4, name  # the step moved this weight
        np.testing.assert_allclose(share, full * ROWS / BATCH_SIZE, rtol=0, atol=2e-6, err_msg=name)
        np.testing.assert_allclose(mine[ROWS][name], fluids[ROWS][name], rtol=0, atol=1e-6,
                                   err_msg=f"{name}: not Fluid's step")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("script", ["fluid", "tensorflow", "paddle", "keras"])
def test_every_script_clips_the_norm_of_the_whole_gradient(script, mode, steps):
    """Clipped, one SGD step at learning rate 1 is max_grad_norm long, in
    all four scripts alike. TensorFlow's clip_by_global_norm, given the
    embedding's gradient as IndexedSlices, squared a repeated word's rows
    one by one, not their sum: a wrong norm, so a longer step than Fluid's."""
    weights, after = steps
    config, _ = STEP_CASES["clipped"]
    mine, fluids = after[script][mode]["clipped"][ROWS], after["fluid"]["idiom"]["clipped"][ROWS]
    step = [mine[name] - before for name, before in weights.items()]
    assert norm(step) == pytest.approx(config.max_grad_norm, rel=1e-4)
    for name in weights:
        np.testing.assert_allclose(mine[name], fluids[name], rtol=0, atol=1e-6,
                                   err_msg=f"{name}: not Fluid's step")


def norm(arrays):
    return float(np.sqrt(sum(np.sum(np.square(array, dtype=np.float64)) for array in arrays)))


def test_every_script_is_fed_the_same_batches_by_buckets(todays):
    """For one seed, as word ids: the batches Paddle 3's DataLoader and
    Keras's tf.data hand their steps are load_data_tf's, which the v1 graph
    is fed as they are, and each of their rows, its padding cut, is Fluid's
    sentence in the same batch."""
    made = [[part.tolist() for part in batch]
            for batch in batching.make_batches(load_data_tf, FED, VOCAB, FED_CONFIG, FED_SEED)]
    assert len(made) == 4
    for script, result in todays[1].items():
        assert result["fed"] == made, script
    fluid = batching.make_batches(load_data_fluid, FED, VOCAB, FED_CONFIG, FED_SEED)
    assert [[src for src, _ in batch] for batch in fluid] == [
        [row[:length] for row, length in zip(words, lengths)] for words, _, lengths in made]


def test_keras_fused_lstm_is_keras_lstm(todays):
    """compat.fused_lstm.LSTM, Keras's compiled path, computes what
    keras.layers.LSTM computes from the same weights: the outputs, the final
    state and every gradient, with a mask (a row keeps its state past its
    end) and without, to float32 rounding."""
    fused = todays[1]["keras"]["fused"]
    assert fused["unmasked"] < 1e-5 and fused["masked"] < 1e-5, fused


def test_keras_compiles_each_shape_once_and_rounding_bounds_the_shapes(todays):
    """XLA compiles the compiled step once for each shape of batch: two
    epochs of FED by buckets trace it once a shape, all in the first; the
    padded length rounded up to COMPILED_LENGTH_MULTIPLE leaves fewer
    shapes than the batches' own lengths would."""
    traces = todays[1]["keras"]["traces"]
    assert traces["traced"] == [traces["shapes"]] * 2
    unrounded = {batch[0].shape for batch in batching.make_batches(load_data_tf, FED, VOCAB,
                                                                    FED_CONFIG, FED_SEED)}
    assert 1 <= traces["shapes"] < len(unrounded)
