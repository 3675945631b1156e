"""rnnlm_tensorflow.py's model: a checkpoint written from the shared layout,
and the export as a SavedModel with a serving signature."""
import dataclasses

import rnnlm_tensorflow
from compat.tf_v1 import tf
from model_io import layout


def write_checkpoint(config, weights, path):
    """Save `weights` as rnnlm_tensorflow.py saves a checkpoint, so that it
    can resume from it."""
    trainer = rnnlm_tensorflow.build_trainer(config, "/CPU:0")
    with trainer.session:
        variables = {variable.op.name: variable
                     for variable in trainer.graph.graph.get_collection("variables")}
        for name, value in layout.framework_params("tensorflow", weights, config).items():
            variables[name].load(value, trainer.session)
        rnnlm_tensorflow.save_checkpoint(trainer, path)


def export(config, path, out):
    """The checkpoint at `path` as a SavedModel in folder `out`, its
    "serving_default" signature from current_word and each layer's state to
    log_probs and the final state; returns what export.json says of it."""
    graph, inputs, outputs = inference_graph(config)
    with tf.Session(graph=graph) as session:
        tf.train.Saver(graph.get_collection("variables")).restore(session, path)
        with graph.as_default():
            builder = tf.saved_model.Builder(out)
            signature = tf.saved_model.predict_signature_def(inputs, outputs)
            builder.add_meta_graph_and_variables(session, [tf.saved_model.SERVING],
                                                 signature_def_map={"serving_default": signature})
            builder.save()
    return dict(runtime="saved_model", files=["saved_model.pb", "variables"], lod=False,
                word_dtype="int32", inputs=list(inputs), outputs=list(outputs),
                state_shapes=[[None, config.hidden_size]] * (len(inputs) - 1))


def inference_graph(config):
    """The network as batching by chunks builds it, without dropout, ending
    at the log-probabilities: (graph, {input name: tensor}, {output name: tensor})."""
    config = dataclasses.replace(config, batching="chunks")
    graph = tf.Graph()
    with graph.as_default(), tf.variable_scope("model"):
        net = rnnlm_tensorflow.build_network(config, is_training=False)
        current_word = net.feeds[0]
        shape = [tf.shape(current_word)[0], -1, config.vocab_size]
        inputs, outputs = {"current_word": current_word}, {
            "log_probs": tf.reshape(tf.nn.log_softmax(net.logits), shape)}  # [batch, steps, vocab]
    for layer, ((cell, hidden), (final_cell, final_hidden)) in enumerate(
            zip(net.initial_state, net.final_state)):
        inputs.update({f"initial_cell{layer}": cell, f"initial_hidden{layer}": hidden})
        outputs.update({f"final_cell{layer}": final_cell, f"final_hidden{layer}": final_hidden})
    return graph, inputs, outputs
