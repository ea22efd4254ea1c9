"""Benchmarks: `python -m benchmarks.NAME [--scale N]` prints one JSON line last."""
