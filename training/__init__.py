"""What every training run shares, framework-free: errors, progress, reports, checkpoints, state."""
