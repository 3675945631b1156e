"""The LSTM state carried from one chunk batch to the next."""
import numpy as np


def last_rows(part, rows, axis=0):
    """The last `rows` rows of one state array or tensor along `axis`: the
    chunks' one-row tail continues the last row of the batches before it.
    The part itself when it has no more: slicing an eager tensor is an op."""
    if part.shape[axis] == rows:
        return part
    return part[(slice(None),) * axis + (slice(-rows, None),)]


def carried_state(state, rows, initial_state):
    """The (cell, hidden) of each layer that a chunk batch starts from.

    Zeros, shaped like the initial-state inputs, for the first batch; after
    that the last batch's final state, cut to its last `rows` rows when the
    one-row tail continues the last row. Empty when there is no state to
    carry (sentence batches).
    """
    if state is None:
        return [tuple(np.zeros((rows, part.shape[-1]), np.float32) for part in layer)
                for layer in initial_state]
    return [(last_rows(cell, rows), last_rows(hidden, rows)) for cell, hidden in state]


def state_feed(initial_state, state):
    """{input name: value} for each layer's (cell, hidden) inputs.

    Both frameworks take feeds by name: a Fluid data layer's name, or a TF
    placeholder's tensor name.
    """
    return {part.name: value
            for layer, values in zip(initial_state, state)
            for part, value in zip(layer, values)}
