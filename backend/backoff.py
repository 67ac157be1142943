"""Jitter for retry and reschedule delays, so runs that failed together do not retry in lockstep."""

from __future__ import annotations

import random

SPREAD = 0.25


def jittered(seconds: float, spread: float = SPREAD) -> float:
    """`seconds` moved at random by up to +-`spread` of itself (never below zero)."""
    return max(0.0, seconds * random.uniform(1.0 - spread, 1.0 + spread))
