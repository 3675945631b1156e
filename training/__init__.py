"""What every training run shares, framework-free: its lifecycle (run.py), errors,
progress, reports, checkpoints, state, and files written whole (files.py)."""
