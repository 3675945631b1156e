"""The model outside training: a checkpoint's weights read into one shared layout and
written from it (convert.py), its export (export.py), and the runtimes that load an
export with none of the training code (score.py, generate.py)."""
