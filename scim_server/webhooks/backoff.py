"""Retry delays: exponential, capped, with full jitter (AWS architecture blog's variant)."""

from __future__ import annotations

import random


def retry_delay(attempts: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds before attempt ``attempts + 1``: uniform in [base/2, min(cap, base * 2**attempts)]."""
    ceiling = min(cap, base * 2 ** min(attempts, 32))
    return (rng or random).uniform(min(base / 2, ceiling), ceiling)
