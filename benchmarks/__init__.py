"""Reproducible performance comparisons: `.venv/bin/python -m benchmarks [--rows N]` (see docs/benchmarks.md)."""
