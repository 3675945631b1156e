"""What bench.py measures beyond one script's speed."""
