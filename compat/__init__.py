"""Each framework imported in the mode the training scripts need, with its workarounds."""
