"""Interleaved measurement: targets take turns in short rounds, so host drift cancels out.

A ratio taken from two phases minutes apart carries whatever the machine did in
between (issue 13 saw GET by id at 0.98, then 0.50, of its ceiling on a quiet host).
Here every contender is warmed up once, then each round runs every contender for a
few seconds, in alternating order (ABC, CBA, ABC...), and a ratio is computed per
round from two runs seconds apart. The report is the median ratio with its min-max
spread over the rounds; a spread wider than ``SPREAD_FLAG`` of the median is flagged,
not failed: it says the host was not steady enough for that figure.

Any benchmark can use it: give ``interleave`` a ``Contender`` per target (its base URL
and a function from a tag to the wrk plan) and read the rounds back.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from benchmarks import loadgen
from benchmarks.loadgen import Plan, Result

SPREAD_FLAG = 0.20
"""(max - min) / median of a scenario's per-round ratios above which it is flagged."""


@dataclass
class Contender:
    """One target of a scenario: ``plan(tag)`` builds its wrk plan (tag "w" for warm-up).

    ``budget`` bounds the requests of the warm-up and all rounds together (0: no bound):
    each run may send its share (``run_limits``) and stops early when it is reached;
    ``capped`` counts the runs that did.
    """

    name: str
    base_url: str
    plan: Callable[[str], Plan]
    warmup: bool = True
    sent: int = 0
    runs: list[Result] = field(default_factory=list)
    budget: int = 0
    capped: int = 0


@dataclass(frozen=True)
class Ratio:
    """Per-round ratios of one contender's req/s to a reference's."""

    rounds: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.rounds)

    @property
    def low(self) -> float:
        return min(self.rounds)

    @property
    def high(self) -> float:
        return max(self.rounds)

    @property
    def spread(self) -> float:
        """(max - min) / median."""
        return (self.high - self.low) / self.median if self.median else float("inf")

    @property
    def flagged(self) -> bool:
        return len(self.rounds) > 1 and self.spread > SPREAD_FLAG

    def text(self, unit: str = "") -> str:
        """``0.85 (0.80-0.90)``, ``SPREAD`` appended when flagged; ``unit`` follows the median."""
        if len(self.rounds) == 1:
            return f"{self.median:.2f}{unit}"
        flag = " SPREAD" if self.flagged else ""
        return f"{self.median:.2f}{unit} ({self.low:.2f}-{self.high:.2f}){flag}"


def ratio(ours: Contender, reference: Contender) -> Ratio | None:
    """Round-by-round req/s ratio, or None when either side lacks a measured round."""
    pairs = [(a.rps, b.rps) for a, b in zip(ours.runs, reference.runs, strict=False) if b.rps]
    return Ratio(tuple(a / b for a, b in pairs)) if pairs else None


def median_run(contender: Contender) -> Result:
    """The round with the median req/s (the lower middle one for an even count)."""
    ordered = sorted(contender.runs, key=lambda r: r.rps)
    return ordered[(len(ordered) - 1) // 2]


def run_limits(budget: int, warmup_s: float, seconds: float, rounds: int) -> tuple[int, int]:
    """The request limits of the warm-up and of each round that share ``budget``.

    In proportion to their seconds; (0, 0), no limit, when ``budget`` is 0. Raises
    ValueError when the budget cannot give every run at least one request.
    """
    if not budget:
        return 0, 0
    warm = max(1, math.floor(budget * warmup_s / (warmup_s + seconds * rounds))) if warmup_s > 0 else 0
    each = (budget - warm) // rounds
    if each < 1:
        raise ValueError(f"a budget of {budget} requests cannot cover a warm-up and {rounds} rounds")
    return warm, each


def interleave(
    contenders: Sequence[Contender],
    *,
    rounds: int,
    seconds: float,
    warmup_s: float,
    connections: int,
    before_run: Callable[[Contender], None] = lambda _c: None,
    after_run: Callable[[Contender, Result], None] = lambda _c, _r: None,
) -> None:
    """Warm every contender up, then run ``rounds`` rounds of ``seconds`` each, alternating.

    Each contender's runs continue its own plan's sequence (``offset``), so no POST or
    member add repeats across rounds; a contender with a ``budget`` sends at most that
    many requests in all. Results land in ``contender.runs``.
    """
    limits = {c.name: run_limits(c.budget, warmup_s if c.warmup else 0, seconds, rounds) for c in contenders}
    for c in contenders:
        if c.warmup and warmup_s > 0:
            plan = _limited(c.plan("w"), limits[c.name][0])
            loadgen.run(c.base_url, plan, duration_s=warmup_s, connections=connections)
    for n in range(rounds):
        order = contenders if n % 2 == 0 else list(reversed(contenders))
        for c in order:
            before_run(c)
            limit = limits[c.name][1]
            plan = _limited(dataclasses.replace(c.plan(""), offset=c.sent), limit)
            result = loadgen.run(c.base_url, plan, duration_s=seconds, connections=connections)
            # At most one request per connection was in flight when wrk stopped; none past a limit.
            sent = result.requests + connections
            c.sent += min(sent, limit) if limit else sent
            c.capped += result.limited
            c.runs.append(result)
            after_run(c, result)


def _limited(plan: Plan, limit: int) -> Plan:
    """``plan`` stopping after ``limit`` requests (0: unchanged)."""
    return dataclasses.replace(plan, limit=limit) if limit else plan
