"""What each network really computes: unpadded LoD in Fluid, carried state in TF."""
import dataclasses

import numpy as np
import pytest

import load_data_fluid
import load_data_tf
import rnnlm_fluid
import rnnlm_tensorflow
from config import Config
from corpus import EOS
from paddle_fluid import paddle
from tf_v1 import tf

VOCAB = {EOS: 0, **{f"w{i}": i for i in range(1, 12)}}
SENTENCES = [[1, 2, 3, 4, 5], [6, 7], [8], [9, 10, 11, 1, 2, 3, 4]]
CONFIG = Config(vocab_size=len(VOCAB), hidden_size=8, num_layers=2, init_scale=0.5, batch_size=4)


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
    batch = next(load_data_fluid.eval_batches(SENTENCES, VOCAB, 4)())
    feed = dict(zip(net.feeds, load_data_fluid.to_lod_tensors(batch, place)))
    outputs = exe.run(main_program, feed=feed, fetch_list=hidden, return_numpy=False)
    num_words = sum(len(words) + 1 for words in SENTENCES)
    for output in outputs:
        assert output.lod() == feed["current_word"].lod() == [[0, 6, 9, 11, 19]]
        assert np.array(output).shape == (num_words, CONFIG.hidden_size)


def tf_eval_cost(session, net, stream, batch_size, num_steps):
    """Total cross-entropy of the stream through run_epoch, chunked as asked."""
    batches = list(load_data_tf.chunk_batches(stream, batch_size, num_steps))
    ppl, _, _ = rnnlm_tensorflow.run_epoch(session, net, batches, len(batches), "t", log_lines=0)
    return np.log(ppl) * (len(stream) - 1)


def test_tf_state_flows_from_chunk_to_chunk():
    """With the state carried, cutting a row into chunks changes nothing; a
    reset at every chunk would forget the context and change the cost."""
    stream = load_data_tf.id_stream(SENTENCES * 3, VOCAB)
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.set_random_seed(3)
        init = tf.compat.v1.random_uniform_initializer(-CONFIG.init_scale, CONFIG.init_scale)
        with tf.compat.v1.variable_scope("model", initializer=init):
            net = rnnlm_tensorflow.build_network(CONFIG, is_training=False)
        initializer = tf.compat.v1.global_variables_initializer()
    with tf.compat.v1.Session(graph=graph) as session:
        session.run(initializer)
        whole = tf_eval_cost(session, net, stream, batch_size=1, num_steps=len(stream))
        assert tf_eval_cost(session, net, stream, 1, 3) == pytest.approx(whole, rel=1e-5)
        # Two rows and a one-row tail: the tail continues row 2's state.
        two_rows = tf_eval_cost(session, net, stream, 2, len(stream))
        assert tf_eval_cost(session, net, stream, 2, 4) == pytest.approx(two_rows, rel=1e-5)
        # The same 3-step chunks, each started from zeros: the context matters,
        # so the first assertion above is not true by accident.
        reset_every_chunk = sum(tf_eval_cost(session, net, stream[start:start + 4], 1, 3)
                                for start in range(0, len(stream) - 1, 3))
        assert reset_every_chunk != pytest.approx(whole, rel=1e-3)


def fluid_program(config):
    main_program, startup_program = paddle.static.Program(), paddle.static.Program()
    with paddle.static.program_guard(main_program, startup_program), paddle.utils.unique_name.guard():
        net = rnnlm_fluid.build_network(config)
        params_grads = paddle.static.append_backward(net.loss)
    exe = paddle.static.Executor(paddle.CPUPlace())
    exe.run(startup_program)
    return main_program, net, params_grads, exe


def test_fluid_gradients_match_finite_differences():
    """hidden_size 8 is where Paddle 3.3.1's float32 AVX lstm backward goes wrong."""
    config = dataclasses.replace(CONFIG, num_layers=1)
    program, net, params_grads, exe = fluid_program(config)
    place = paddle.CPUPlace()
    batch = next(load_data_fluid.eval_batches(SENTENCES, VOCAB, 4)())
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


def paddle_to_tf_gates(matrix):
    """Paddle's lstm gate blocks {candidate, input, forget, output} -> BasicLSTMCell's
    {input, candidate, forget, output}, along the last axis."""
    candidate, input_gate, forget, output = np.split(matrix, 4, axis=-1)
    return np.concatenate([input_gate, candidate, forget, output], axis=-1)


def test_both_frameworks_compute_the_same_loss():
    """Identical weights from one numpy source, the same sentences: the same loss.

    Paddle splits a layer into fc weights [input, 4H] and the lstm operator's
    recurrent weights [H, 4H] and bias [1, 4H]; BasicLSTMCell stacks input and
    recurrent rows into one kernel [input + H, 4H] with a bias [4H], gates in
    another order, and adds forget_bias (0.0 here) to the forget gate.
    """
    program, net, _, exe = fluid_program(CONFIG)
    scope = paddle.static.global_scope()
    weights = {param.name: np.array(scope.find_var(param.name).get_tensor())
               for param in program.all_parameters()}
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.variable_scope("model"):
        tf_net = rnnlm_tensorflow.build_network(CONFIG, is_training=False)
        variables = {v.op.name: v for v in tf.compat.v1.global_variables()}
    with tf.compat.v1.Session(graph=graph) as session:
        for name in ("embedding", "softmax_w", "softmax_b"):
            variables[f"model/{name}"].load(weights[name], session)
        for layer in range(CONFIG.num_layers):
            cell = f"model/rnn/multi_rnn_cell/cell_{layer}/basic_lstm_cell"
            kernel = np.concatenate([weights[f"lstm{layer}_input_w"],
                                     weights[f"lstm{layer}_hidden_w"]], axis=0)
            variables[f"{cell}/kernel"].load(paddle_to_tf_gates(kernel), session)
            variables[f"{cell}/bias"].load(paddle_to_tf_gates(weights[f"lstm{layer}_b"]).ravel(),
                                           session)
        for words in SENTENCES:
            src, trg = next(iter(load_data_fluid.sentence_reader([words], VOCAB)()))
            feed = dict(zip(net.feeds, load_data_fluid.to_lod_tensors([(src, trg)], paddle.CPUPlace())))
            fluid_loss = float(exe.run(program, feed=feed, fetch_list=[net.loss])[0])
            tf_feed = dict(zip(tf_net.feeds, (np.array([src]), np.array([trg]))))
            tf_feed.update(rnnlm_tensorflow.state_feed(
                tf_net, rnnlm_tensorflow.carried_state(None, 1, tf_net)))
            tf_loss = float(session.run(tf_net.loss, tf_feed))
            assert fluid_loss == pytest.approx(tf_loss, abs=1e-4)
