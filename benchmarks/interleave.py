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
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from benchmarks import loadgen
from benchmarks.loadgen import Plan, Result

SPREAD_FLAG = 0.20
"""(max - min) / median of a scenario's per-round ratios above which it is flagged."""


@dataclass
class Contender:
    """One target of a scenario: ``plan(tag)`` builds its wrk plan (tag "w" for warm-up)."""

    name: str
    base_url: str
    plan: Callable[[str], Plan]
    warmup: bool = True
    sent: int = 0
    runs: list[Result] = field(default_factory=list)


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
    member add repeats across rounds. Results land in ``contender.runs``.
    """
    for c in contenders:
        if c.warmup and warmup_s > 0:
            loadgen.run(c.base_url, c.plan("w"), duration_s=warmup_s, connections=connections)
    for n in range(rounds):
        order = contenders if n % 2 == 0 else list(reversed(contenders))
        for c in order:
            before_run(c)
            plan = dataclasses.replace(c.plan(""), offset=c.sent)
            result = loadgen.run(c.base_url, plan, duration_s=seconds, connections=connections)
            # At most one request per connection was in flight when wrk stopped.
            c.sent += result.requests + connections
            c.runs.append(result)
            after_run(c, result)
