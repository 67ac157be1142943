"""The RQ worker process and its tasks (python -m worker)."""
