"""Throughput and latency of kubescim next to its ceilings and scim2-server, in one run.

Starts a throwaway PostgreSQL, serves each target under gunicorn with the same settings,
stores the data each phase needs, drives every scenario with wrk at 4 connections and
prints a table and one PASS/FAIL line per target of docs/design.md ("Performance we
hold ourselves to"). Run from the repository root::

    python -m benchmarks.scim_throughput                      # full run, ~12 minutes
    python -m benchmarks.scim_throughput --duration 3 --big-users 10000   # quick look
    python -m benchmarks.scim_throughput --output json > run.json
    python -m benchmarks.scim_throughput --baseline run.json
    python -m benchmarks.scim_throughput --wait-for-quiet 120  # on a shared machine

Exits 1 when a check fails, 0 otherwise (SKIP is not a failure).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import functools
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import loadgen, report
from benchmarks.cpuwatch import CpuWatch, foreign_load
from benchmarks.loadgen import Plan, Result
from benchmarks.report import Results, Row
from benchmarks.scenarios import (
    CEILINGS,
    PHASES,
    Scenario,
    Sizes,
    ceiling_plan,
    group_growth,
    scim_plan,
    scim_scenarios,
    seed_plan,
)
from benchmarks.targets import CeilingTarget, KubescimTarget, PeerTarget, kubescim_unavailable
from tests.support.postgres import PostgresServer, running_postgres

TARGETS = ("ceiling", "scim2-server", "kubescim")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.scim_throughput",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--duration", type=float, default=10, help="seconds per scenario (default 10)")
    p.add_argument(
        "--repeat", type=int, default=1, help="runs per scenario; the median is reported (default 1)"
    )
    p.add_argument("--warmup", type=float, default=1, help="warm-up seconds before a scenario")
    p.add_argument(
        "--big-users",
        type=int,
        default=100_000,
        help="directory size of the large userName-eq scenario (default 100000)",
    )
    p.add_argument(
        "--targets",
        default=",".join(TARGETS),
        help=f"comma-separated subset of {','.join(TARGETS)}",
    )
    p.add_argument("--connections", type=int, default=4, help="wrk connections (default 4)")
    p.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default 2)")
    p.add_argument("--output", choices=("table", "json"), default="table")
    p.add_argument("--baseline", type=Path, help="a previous run's --output json, to show side by side")
    p.add_argument(
        "--wait-for-quiet",
        type=float,
        default=0,
        metavar="S",
        help="before each scenario, wait up to S seconds for other programs to go idle",
    )
    p.add_argument("--save", type=Path, help="also write the JSON results to this file")
    p.add_argument("--logs", type=Path, help="keep the servers' logs in this directory")
    args = p.parse_args(argv)
    unknown = set(args.targets.split(",")) - set(TARGETS)
    if unknown:
        p.error(f"unknown target(s): {', '.join(sorted(unknown))}")
    if args.big_users < 1_000:
        p.error("--big-users must be at least 1000")
    return args


BUSY = 0.10


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def postmaster_pid(pg: PostgresServer) -> int:
    return int((pg.datadir / "postmaster.pid").read_text().split()[0])


class Runner:
    def __init__(self, args: argparse.Namespace, results: Results, pg: PostgresServer) -> None:
        self.args = args
        self.results = results
        self.pg = pg
        self.sizes = Sizes(args.duration, args.big_users, args.repeat)

    def wait_for_quiet(self) -> None:
        """Wait up to ``--wait-for-quiet`` seconds for other programs to leave the CPUs."""
        deadline = time.monotonic() + self.args.wait_for_quiet
        while (load := foreign_load()) > BUSY and time.monotonic() < deadline:
            say(f"    waiting: other programs use {load:.0%} of the CPUs")

    def measure(
        self, target: str, server_pid: int, scenario: Scenario, base_url: str, plan: Callable[..., Plan]
    ) -> None:
        """Warm up (when the scenario allows), run, and record one row."""
        say(f"[{target}] {scenario.label}")
        self.wait_for_quiet()
        if scenario.warmup and self.args.warmup > 0:
            loadgen.run(base_url, plan("w"), duration_s=self.args.warmup, connections=self.args.connections)
        measured = plan("")
        runs: list[tuple[Result, float]] = []
        sent = 0
        for _ in range(self.args.repeat):
            if runs:
                self.wait_for_quiet()
            watch = CpuWatch([server_pid, postmaster_pid(self.pg)])
            watch.start()
            # Each run continues the previous one's sequence, so no POST or add repeats.
            run = loadgen.run(
                base_url,
                dataclasses.replace(measured, offset=sent),
                duration_s=self.args.duration,
                connections=self.args.connections,
            )
            runs.append((run, watch.stop()))
            # At most one request per connection was in flight when wrk stopped.
            sent += run.requests + self.args.connections
        result, others = sorted(runs, key=lambda r: r[0].rps)[(len(runs) - 1) // 2]
        notes = [group_growth(scenario, sent, self.sizes)]
        if len(runs) > 1:
            low, high = min(r.rps for r, _ in runs), max(r.rps for r, _ in runs)
            notes.append(f"median of {len(runs)} runs ({low:,.0f}-{high:,.0f} req/s)")
        if measured.values and sent > measured.capacity:
            notes.append(f"up to {sent - measured.capacity} adds repeated a member")
        if others > BUSY:
            notes.append(f"other programs used {others:.0%} CPU")
        note = "; ".join(n for n in notes if n)
        rps = [r.rps for r, _ in runs]
        self.results.add(Row(scenario, target, result, note, others=others, runs=rps))
        say(
            f"    {result.rps:,.0f} req/s, p50 {result.ms('p50'):.2f} ms, "
            f"p99 {result.ms('p99'):.2f} ms, errors {result.error_count}, others' CPU {others:.0%}"
        )

    def failed(self, target: str, scenarios: list[Scenario], error: str) -> None:
        for scenario in scenarios:
            if self.results.get(scenario.key, target) is None:
                self.results.add(Row(scenario, target, None, error=error))

    def ceilings(self, workdir: Path) -> None:
        say("[ceiling] starting")
        target = CeilingTarget(self.pg, workdir, self.args.workers)
        try:
            for scenario in CEILINGS:
                plan = functools.partial(ceiling_plan, scenario, target.ids)
                self.measure("ceiling", target.server.proc.pid, scenario, target.base_url, plan)
        finally:
            target.stop()

    def scim(self, target: PeerTarget | KubescimTarget) -> None:
        scenarios = scim_scenarios(self.sizes)
        try:
            for phase in PHASES:
                say(f"[{target.name}] phase {phase}: storing its data")
                seeded = target.load_phase(seed_plan(phase, self.sizes))
                for scenario in (s for s in scenarios if s.phase == phase):
                    plan = functools.partial(
                        scim_plan, scenario, target.prefix, target.token, seeded, self.sizes
                    )
                    assert target.server is not None
                    pid = target.server.proc.pid
                    self.measure(target.name, pid, scenario, target.base_url, plan)
        finally:
            target.stop()


def metadata(args: argparse.Namespace, pg_version: str) -> dict[str, Any]:
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    return {
        "version": 1,
        "finished": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "settings": {
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "repeat": args.repeat,
            "connections": args.connections,
            "workers": args.workers,
            "big_users": args.big_users,
            "targets": args.targets,
        },
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "postgres": pg_version,
            "wrk": (wrk.stdout or wrk.stderr).splitlines()[0] if (wrk.stdout or wrk.stderr) else "",
        },
    }


def run_target(name: str, runner: Runner, workdir: Path) -> None:
    """Measure one target; a failure is recorded in its rows and does not stop the run."""
    scenarios = CEILINGS if name == "ceiling" else scim_scenarios(runner.sizes)
    try:
        if name == "ceiling":
            runner.ceilings(workdir)
        elif name == "scim2-server":
            runner.scim(PeerTarget(workdir, runner.args.workers))
        else:
            reason = kubescim_unavailable()
            if reason:
                raise RuntimeError(f"not run: {reason}")
            say("[kubescim] starting")
            runner.scim(KubescimTarget(runner.pg, workdir, runner.args.workers))
    except Exception as exc:  # a broken target must not hide the others' figures
        say(traceback.format_exc())
        runner.failed(name, scenarios, str(exc).splitlines()[0])


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds, so servers and PostgreSQL are stopped


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGHUP, _exit_on_signal)
    loadgen.require_wrk()
    baseline = None
    if args.baseline:
        baseline = report.load_baseline(json.loads(args.baseline.read_text()))
    results = Results()
    if args.logs:
        args.logs.mkdir(parents=True, exist_ok=True)
    with (
        contextlib.nullcontext(str(args.logs))
        if args.logs
        else tempfile.TemporaryDirectory(prefix="kubescim-bench-") as workdir_name,
        running_postgres() as pg,
    ):
        pg_version = subprocess.run(
            [str(pg.bindir / "postgres"), "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
        runner = Runner(args, results, pg)
        for name in (t for t in TARGETS if t in args.targets.split(",")):
            run_target(name, runner, Path(workdir_name))
    order = [s.key for s in CEILINGS + scim_scenarios(runner.sizes)]
    results.rows.sort(key=lambda r: (order.index(r.scenario.key), TARGETS.index(r.target)))
    found = report.checks(results)
    document = json.dumps(report.to_json(results, found, metadata(args, pg_version)), indent=2)
    if args.save:
        args.save.write_text(document + "\n")
    if args.output == "json":
        print(document)
    else:
        print(report.table(results, baseline))
        print()
        print(report.render_checks(found))
        noisy = [r for r in results.rows if r.others is not None and r.others > BUSY]
        if noisy:
            print(
                f"\nWARNING: other programs used more than {BUSY:.0%} of the CPUs during "
                f"{len(noisy)} scenario(s) (see notes): those figures are low; rerun on a quiet "
                "machine or with --wait-for-quiet."
            )
    return 1 if any(c.status == "FAIL" for c in found) else 0


if __name__ == "__main__":
    sys.exit(main())
