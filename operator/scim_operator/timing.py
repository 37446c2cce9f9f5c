"""Where the operator's time goes: cheap counters, summed per process and logged at stop.

Three buckets answer "is it the API server, our own work, or the queue": time a piece of
reconcile work waited for one of the reconciler's threads, time it ran, and, within
any thread, time spent in Kubernetes API calls (writes and reads, through ``kube``).
Work runs on many threads at once, so the sums are thread-seconds, not wall time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

SUMMARY_PREFIX = "timing:"
"""The start of the line ``Timings.summary`` logs (benchmarks/directories_ready.py reads it)."""


@dataclass
class Bucket:
    count: int = 0
    seconds: float = 0.0


@dataclass
class Timings:
    """Thread-safe sums of seconds per bucket: ``waiting``, ``working``, ``api_write``, ``api_read``."""

    buckets: dict[str, Bucket] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, bucket: str, seconds: float) -> None:
        with self.lock:
            found = self.buckets.setdefault(bucket, Bucket())
            found.count += 1
            found.seconds += seconds

    @contextmanager
    def timed(self, bucket: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(bucket, time.perf_counter() - started)

    def summary(self) -> str:
        """One line: ``timing: waiting=N/S.Ss working=... api_write=... api_read=...``."""
        with self.lock:
            parts = [f"{k}={b.count}/{b.seconds:.2f}s" for k, b in sorted(self.buckets.items())]
        return f"{SUMMARY_PREFIX} {' '.join(parts)} (count/thread-seconds)"


def parse_summary(text: str) -> dict[str, Bucket]:
    """The buckets of the last summary line in ``text`` (an operator's log), or {}."""
    lines = [line for line in text.splitlines() if SUMMARY_PREFIX in line]
    if not lines:
        return {}
    found: dict[str, Bucket] = {}
    for part in lines[-1].split(SUMMARY_PREFIX, 1)[1].split():
        name, sep, value = part.partition("=")
        count, slash, seconds = value.partition("/")
        if sep and slash and seconds.endswith("s"):
            found[name] = Bucket(int(count), float(seconds[:-1]))
    return found


TIMINGS = Timings()
"""The process's counters."""
