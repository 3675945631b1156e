"""Data-parallel training on each framework's own distributed engine."""
