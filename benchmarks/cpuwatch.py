"""How much CPU other programs took while a scenario ran (Linux ``/proc``).

On a two-core machine a test suite or a compiler running beside the benchmark halves
its figures. ``CpuWatch`` counts the CPU time of the whole machine and of the processes
the benchmark owns (this process, its finished children such as wrk, and the process
trees of the server under test and of PostgreSQL); the difference is someone else's.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterable
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def _machine() -> tuple[float, float]:
    """(busy, total) CPU seconds since boot, summed over all CPUs."""
    with open("/proc/stat") as f:
        ticks = [int(v) for v in f.readline().split()[1:]]
    idle = ticks[3] + ticks[4]
    return (sum(ticks) - idle) / _TICK, sum(ticks) / _TICK


def _processes() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds) for every process we can read."""
    out: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK)
    return out


def tree_cpu(roots: Iterable[int]) -> float:
    """CPU seconds used so far by the processes under ``roots`` (themselves included)."""
    procs = _processes()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in procs.items():
        children.setdefault(ppid, []).append(pid)
    total, todo, seen = 0.0, list(roots), set()
    while todo:
        pid = todo.pop()
        if pid in seen or pid not in procs:
            continue
        seen.add(pid)
        total += procs[pid][1]
        todo.extend(children.get(pid, ()))
    return total


def _own() -> float:
    mine = resource.getrusage(resource.RUSAGE_SELF)
    done = resource.getrusage(resource.RUSAGE_CHILDREN)
    return mine.ru_utime + mine.ru_stime + done.ru_utime + done.ru_stime


class CpuWatch:
    """Measure other programs' CPU use between ``start()`` and ``stop()``."""

    def __init__(self, roots: Iterable[int]) -> None:
        """``roots``: the server's and PostgreSQL's top processes (their trees count as ours)."""
        self.roots = list(roots)

    def _sample(self) -> tuple[float, float, float]:
        busy, total = _machine()
        return busy, total, tree_cpu(self.roots) + _own()

    def start(self) -> None:
        self._start = self._sample()

    def stop(self) -> float:
        """The fraction of the machine's CPU (0..1) others used since ``start()``."""
        busy0, total0, ours0 = self._start
        busy1, total1, ours1 = self._sample()
        return max(0.0, (busy1 - busy0) - (ours1 - ours0)) / max(total1 - total0, 1e-9)


def foreign_load(interval_s: float = 2.0) -> float:
    """The fraction of the machine's CPU busy over ``interval_s`` with no target running."""
    watch = CpuWatch([])
    watch.start()
    time.sleep(interval_s)
    return watch.stop()


def wait_for_idle(threshold: float = 0.10, window_s: float = 0.25, max_s: float = 10.0) -> float:
    """Wait until the whole machine is below ``threshold`` busy over ``window_s``; return the wait.

    Between two targets' runs: a server still finishing slow requests, a control plane
    fanning out the last writes, PostgreSQL flushing, would otherwise run on into the
    next target's seconds (and, being a target's own process, not be flagged). Gives up
    after ``max_s`` seconds (a machine that never settles shows in the foreign-load notes).
    """
    start = time.monotonic()
    while time.monotonic() - start < max_s:
        busy0, total0 = _machine()
        time.sleep(window_s)
        busy1, total1 = _machine()
        if (busy1 - busy0) / max(total1 - total0, 1e-9) < threshold:
            break
    return time.monotonic() - start
