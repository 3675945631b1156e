"""keras.layers.LSTM with its loop fused on the CPU, as cuDNN fuses it on a GPU.

Import it as `from compat import fused_lstm`. On a GPU, Keras runs
an LSTM layer through cuDNN: `LSTM.inner_loop` hands the whole sequence to
`backend.lstm`. On a CPU that raises NotImplementedError, and Keras runs its
cell one time step at a time, forward and backward. Every step then
multiplies the step's input by its kernel, and the backward pass adds up
the recurrent kernel's gradient one step at a time, from products of
batch_size (20) rows that run far below the machine's matrix-product rate.

fused_lstm.LSTM is the same layer with the same weights, under the same
class name, so that a checkpoint of either is the same file. Its
inner_loop does on the CPU what cuDNN does on a GPU:
- the input projections of every time step, in one product before the loop;
- only the recurrent product inside the loop;
- after the backward loop, the recurrent kernel's gradient in one product
  over every step (a tf.custom_gradient).

The gates, their order (input, forget, candidate, output), the mask (a
row's state stops at its last word) and the outputs are Keras's own;
tests/test_networks.py checks the layer against keras.layers.LSTM. A layer
this loop does not cover (other activations, dropout inside the layer,
going backwards, unrolled) runs Keras's loop, as it would without cuDNN.
docs/performance.md has the speeds.
"""
from compat.keras3 import keras, tf


class LSTM(keras.layers.LSTM):
    """keras.layers.LSTM whose loop over time is fused on the CPU (see the module)."""

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if not self.fusable():
            return super().inner_loop(sequences, initial_state, mask, training)
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        steps_first = tf.transpose(sequences, [1, 0, 2])  # [steps, batch, input]
        # One product for every step's input projections: [steps, batch, 4 * units].
        gate_inputs = tf.tensordot(steps_first, tf.convert_to_tensor(self.cell.kernel), 1)
        gate_inputs += tf.convert_to_tensor(self.cell.bias)
        if mask is not None:
            mask = tf.transpose(mask)[..., None]  # [steps, batch, 1]
        outputs, hidden, cell = lstm_loop(gate_inputs, *initial_state,
                                          tf.convert_to_tensor(self.cell.recurrent_kernel), mask)
        outputs = tf.transpose(outputs, [1, 0, 2])  # [batch, steps, units]
        return outputs[:, -1], outputs, [hidden, cell]

    def fusable(self):
        cell = self.cell
        return (cell.activation is keras.activations.tanh
                and cell.recurrent_activation is keras.activations.sigmoid
                and cell.use_bias and not cell.dropout and not cell.recurrent_dropout
                and not self.go_backwards and not self.unroll)


def lstm_loop(gate_inputs, hidden, cell, recurrent_kernel, mask):
    """The recurrence, from each step's input projections [steps, batch, 4 *
    units]: (every step's hidden state, the last hidden, the last cell).

    Where mask[t] (bool, [steps, batch, 1]) is False, a row keeps its state,
    as Keras's loop keeps it."""

    @tf.custom_gradient
    def loop(gate_inputs, hidden, cell, recurrent_kernel):
        steps = tf.shape(gate_inputs)[0]

        def step(t, hidden, cell, saved):
            gates = gate_inputs[t] + tf.matmul(hidden, recurrent_kernel)
            input_gate, forget, candidate, output = tf.split(gates, 4, axis=1)
            input_gate, forget, output = (tf.sigmoid(input_gate), tf.sigmoid(forget),
                                          tf.sigmoid(output))
            candidate = tf.tanh(candidate)
            new_cell = forget * cell + input_gate * candidate
            squashed = tf.tanh(new_cell)
            new_hidden = output * squashed
            if mask is not None:
                new_hidden = tf.where(mask[t], new_hidden, hidden)
                new_cell = tf.where(mask[t], new_cell, cell)
            activations = tf.concat([input_gate, forget, candidate, output], 1)
            saved = [array.write(t, value) for array, value in
                     zip(saved, (new_hidden, new_cell, activations, squashed))]
            return t + 1, new_hidden, new_cell, saved

        saved = [tf.TensorArray(gate_inputs.dtype, size=steps) for _ in range(4)]
        _, last_hidden, last_cell, saved = tf.while_loop(
            lambda t, *_: t < steps, step, (0, hidden, cell, saved))
        hiddens, cells, activations, squashed = (array.stack() for array in saved)
        previous_hiddens = tf.concat([hidden[None], hiddens[:-1]], 0)
        previous_cells = tf.concat([cell[None], cells[:-1]], 0)

        def backward(d_hiddens, d_last_hidden, d_last_cell):
            def back_step(t, d_hidden, d_cell, d_gates):
                d_hidden += d_hiddens[t]
                if mask is not None:  # a row past its end passes its gradient on as it is
                    d_kept_hidden = tf.where(mask[t], 0.0, d_hidden)
                    d_kept_cell = tf.where(mask[t], 0.0, d_cell)
                    d_hidden = tf.where(mask[t], d_hidden, 0.0)
                    d_cell = tf.where(mask[t], d_cell, 0.0)
                input_gate, forget, candidate, output = tf.split(activations[t], 4, axis=1)
                d_output = d_hidden * squashed[t]
                d_cell += d_hidden * output * (1 - squashed[t] * squashed[t])
                d_gate = tf.concat([d_cell * candidate * input_gate * (1 - input_gate),
                                    d_cell * previous_cells[t] * forget * (1 - forget),
                                    d_cell * input_gate * (1 - candidate * candidate),
                                    d_output * output * (1 - output)], 1)
                d_hidden = tf.matmul(d_gate, recurrent_kernel, transpose_b=True)
                d_cell *= forget
                if mask is not None:
                    d_hidden += d_kept_hidden
                    d_cell += d_kept_cell
                return t - 1, d_hidden, d_cell, d_gates.write(t, d_gate)

            d_last_hidden = tf.zeros_like(hidden) if d_last_hidden is None else d_last_hidden
            d_last_cell = tf.zeros_like(cell) if d_last_cell is None else d_last_cell
            _, d_hidden, d_cell, d_gates = tf.while_loop(
                lambda t, *_: t >= 0, back_step,
                (steps - 1, d_last_hidden, d_last_cell,
                 tf.TensorArray(gate_inputs.dtype, size=steps)))
            d_gates = d_gates.stack()  # [steps, batch, 4 * units]
            units = tf.shape(hidden)[1]
            # The recurrent kernel's gradient over every step in one product.
            d_recurrent_kernel = tf.matmul(tf.reshape(previous_hiddens, [-1, units]),
                                           tf.reshape(d_gates, [-1, 4 * units]), transpose_a=True)
            return d_gates, d_hidden, d_cell, d_recurrent_kernel

        return (hiddens, last_hidden, last_cell), backward

    return loop(gate_inputs, hidden, cell, recurrent_kernel)
