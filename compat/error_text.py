"""A framework's exception as one short line, for the one-line errors.

TensorFlow wraps an op's reason in lines of its own (the graph node, the
stack where the op was made); Paddle and h5py put it first. No framework is
imported here: the checkpoint folder and the workers use it whichever runs.
"""

# Lines TensorFlow wraps around the reason for an op's failure.
WRAPPING = ("Graph execution error", "Detected at node", "File ", "Node:", "[[", "Original stack")


def first_line(error):
    """An exception as one short line: its type and the first line of its
    message that gives a reason."""
    lines = [line.strip() for line in str(error).splitlines()]
    reasons = [line for line in lines if line and not line.startswith(WRAPPING)]
    return f"{type(error).__name__}: {reasons[0]}"[:200] if reasons else type(error).__name__
