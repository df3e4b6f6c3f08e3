"""Benchmarks: `python -m bench [NAME ...]` prints figures (not a test suite)."""
