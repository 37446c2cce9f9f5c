"""How a contender's request budget is shared between its warm-up and its rounds."""

from __future__ import annotations

import pytest

from benchmarks.interleave import run_limits


def test_no_budget_no_limit() -> None:
    assert run_limits(0, warmup_s=1, seconds=2, rounds=5) == (0, 0)


@pytest.mark.parametrize(
    ("budget", "warmup_s", "seconds", "rounds"),
    [(980, 1, 2, 5), (980, 1, 2, 2), (1000, 0, 2, 5), (7, 1, 1, 5), (980, 30, 0.5, 3)],
)
def test_every_run_gets_a_share_and_together_they_stay_within_the_budget(
    budget: int, warmup_s: float, seconds: float, rounds: int
) -> None:
    warm, each = run_limits(budget, warmup_s, seconds, rounds)
    assert each >= 1
    assert (warm >= 1) == (warmup_s > 0)
    assert warm + each * rounds <= budget


def test_shares_follow_the_seconds() -> None:
    assert run_limits(1100, warmup_s=1, seconds=2, rounds=5) == (100, 200)


def test_a_budget_too_small_for_the_rounds_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot cover"):
        run_limits(5, warmup_s=1, seconds=2, rounds=5)
