"""Standalone checks behind claims in docs/; not needed to train."""
