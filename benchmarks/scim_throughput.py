"""Throughput and latency of kubescim next to its ceilings and scim2-server, in one run.

Starts a throwaway PostgreSQL and every target at once under gunicorn with the same
settings, stores the data each phase needs, and measures every scenario in alternating
rounds over the targets (``interleave.py``) with wrk at 4 connections; prints a table
with each ratio's median and min-max over the rounds, and one PASS/FAIL line per target
of docs/design.md ("Performance we hold ourselves to"). Run from the repository root::

    python -m benchmarks.scim_throughput                      # full run, ~15 minutes
    python -m benchmarks.scim_throughput --duration 4 --rounds 2 --big-users 10000   # quick look
    python -m benchmarks.scim_throughput --targets ceiling,kubescim,kubescim-configmaps
    python -m benchmarks.scim_throughput --output json > run.json
    python -m benchmarks.scim_throughput --baseline run.json
    python -m benchmarks.scim_throughput --wait-for-quiet 120  # on a shared machine

The targets: ``ceiling`` (``ceilings.py``), ``scim2-server`` (``peer.py``), ``kubescim``
on PostgreSQL and ``kubescim-configmaps``: kubescim on ``configmaps://kubescim-bench`` of
the test suite's real control plane (started only for this target; when its binaries
are not built, its rows say SKIP and why). ConfigMap storage runs the scenarios that fit
its documented capacity, on data sized for it, and with a write limit of
``--configmap-write-rate`` (default 1,000/s per process, far above the shipped 20/s, so
its figures show the backend, not the limiter); its other rows say n/a
(``configmap_capacity.py``). Its ratios are to the ceiling and to kubescim on PostgreSQL;
docs/design.md's targets are PostgreSQL's, so it gets figures and one INFO line, no check.

Exits 1 when a check fails, 0 otherwise (SKIP is not a failure).
"""

from __future__ import annotations

import argparse
import contextlib
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
from pathlib import Path
from typing import Any

from benchmarks import loadgen, report
from benchmarks.configmap_capacity import ConfigMapCapacity
from benchmarks.configmap_cluster import WRITE_RATE, configmap_cluster, controlplane_missing
from benchmarks.cpuwatch import CpuWatch, foreign_load, wait_for_idle
from benchmarks.interleave import SPREAD_FLAG, Contender, Ratio, interleave, median_run, ratio
from benchmarks.loadgen import Plan, Result
from benchmarks.report import CONFIGMAPS, Results, Row
from benchmarks.scenarios import (
    CEILINGS,
    PHASES,
    Capacity,
    FullSize,
    Scenario,
    Sizes,
    ceiling_plan,
    scim_plan,
    scim_scenarios,
)
from benchmarks.targets import CeilingTarget, KubescimTarget, PeerTarget, kubescim_unavailable
from tests.support.postgres import PostgresServer, running_postgres

TARGETS = ("ceiling", "scim2-server", "kubescim", CONFIGMAPS)
REFERENCES = {"kubescim": ("ceiling", "scim2-server"), CONFIGMAPS: ("ceiling", "kubescim")}
"""The targets each target's req/s is divided by, round by round."""
ScimTarget = PeerTarget | KubescimTarget


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.scim_throughput",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--duration", type=float, default=10, help="seconds per scenario and target (default 10)")
    p.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="alternating rounds per scenario, --duration split among them (default 5)",
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
    p.add_argument(
        "--scenarios",
        default="",
        metavar="KEYS",
        help="comma-separated subset of the scenarios (keys as in --output json, e.g. "
        "post_user,add_member_10); phases with none are skipped, data and all (default: all)",
    )
    p.add_argument(
        "--configmap-write-rate",
        type=float,
        default=WRITE_RATE,
        metavar="N",
        help=f"{CONFIGMAPS}: KUBESCIM_STORAGE_WRITE_RATE per server process (default {WRITE_RATE:,.0f}, "
        "far above the shipped 20, so figures show the backend, not the limiter)",
    )
    p.add_argument("--connections", type=int, default=4, help="wrk connections (default 4)")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    p.add_argument(
        "--threads",
        type=int,
        default=4,
        help="threads per worker, every target (default 4, kubescim serve's default; 1 = sync workers)",
    )
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
    keys = [s.key for s in scim_scenarios(Sizes(args.duration, args.big_users))]
    unknown = set(filter(None, args.scenarios.split(","))) - set(keys)
    if unknown:
        p.error(f"unknown scenario(s): {', '.join(sorted(unknown))}; choose from {', '.join(keys)}")
    if args.big_users < 1_000:
        p.error("--big-users must be at least 1000")
    return args


BUSY = 0.10
# Statistics are taken after each phase's seeding (VACUUM ANALYZE); autovacuum waking up
# during the writes would land in whichever target's round it hit (a second run of the
# same target right after its first ran at half speed).
QUIET_POSTGRES = {"autovacuum": "off"}


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Runner:
    """Every target up at once; per scenario, the targets take turns (``interleave``)."""

    def __init__(self, args: argparse.Namespace, results: Results, pg: PostgresServer) -> None:
        self.args = args
        self.results = results
        self.pg = pg
        self.sizes = Sizes(args.duration, args.big_users)
        self.wanted = args.targets.split(",")
        chosen = set(filter(None, args.scenarios.split(",")))
        self.scenarios = [s for s in scim_scenarios(self.sizes) if not chosen or s.key in chosen]
        self.capacity: dict[str, Capacity] = {
            "scim2-server": FullSize(self.sizes),
            "kubescim": FullSize(self.sizes),
            CONFIGMAPS: ConfigMapCapacity(),
        }
        self.plane_pids: list[int] = []

    def wait_for_quiet(self) -> None:
        """Wait up to ``--wait-for-quiet`` seconds for other programs to leave the CPUs."""
        deadline = time.monotonic() + self.args.wait_for_quiet
        while (load := foreign_load()) > BUSY and time.monotonic() < deadline:
            say(f"    waiting: other programs use {load:.0%} of the CPUs")

    def measure(self, scenario: Scenario, contenders: list[tuple[Contender, int]]) -> None:
        """Interleave the contenders of one scenario and record a row per target."""
        say(f"[{', '.join(c.name for c, _ in contenders)}] {scenario.label}")
        self.wait_for_quiet()
        pids = {c.name: pid for c, pid in contenders}
        others: dict[str, list[float]] = {c.name: [] for c, _ in contenders}
        waits: dict[str, list[float]] = {c.name: [] for c, _ in contenders}
        watch = CpuWatch([])

        def before(c: Contender) -> None:
            nonlocal watch
            # Every run starts on a settled machine: what the previous target left running
            # (a slow request, the control plane's watch fan-out) must not eat into this one.
            waits[c.name].append(wait_for_idle())
            # The control plane is ours too: it serves the ConfigMap target and idles otherwise.
            watch = CpuWatch([pids[c.name], self.pg.postmaster_pid, *self.plane_pids])
            watch.start()

        def after(c: Contender, result: Result) -> None:
            others[c.name].append(watch.stop())
            say(
                f"    {c.name}: {result.rps:,.0f} req/s, p50 {result.ms('p50'):.2f} ms, "
                f"p99 {result.ms('p99'):.2f} ms, errors {result.error_count}"
            )

        rounds = self.args.rounds
        interleave(
            [c for c, _ in contenders],
            rounds=rounds,
            seconds=max(1.0, self.args.duration / rounds),
            warmup_s=self.args.warmup if scenario.warmup else 0,
            connections=self.args.connections,
            before_run=before,
            after_run=after,
        )
        by_name = {c.name: c for c, _ in contenders}
        for c, _ in contenders:
            runs = c.runs
            result = median_run(c)
            notes = [self.capacity[c.name].group_growth(scenario, c.sent)] if c.name in self.capacity else []
            if c.capped:
                notes.append(f"{c.capped} of {rounds} rounds stopped at their share of {c.budget:,} requests")
            if c.name == "ceiling" and scenario.ceiling:
                notes.append(f"ceiling: {scenario.ceiling}")
            settled = max(waits[c.name], default=0.0)
            if settled >= 1.0:
                notes.append(f"waited up to {settled:.1f} s for the machine to settle before a run")
            busy = max(others[c.name], default=0.0)
            if busy > BUSY:
                notes.append(f"other programs used up to {busy:.0%} CPU")
            ratios: dict[str, Ratio] = {}
            for ref in REFERENCES.get(c.name, ()):
                if ref in by_name and (r := ratio(c, by_name[ref])) is not None:
                    ratios[ref] = r
            note = "; ".join(n for n in notes if n)
            self.results.add(
                Row(scenario, c.name, result, note, others=busy, runs=[r.rps for r in runs], ratios=ratios)
            )

    def failed(self, target: str, scenarios: list[Scenario], error: str = "", skipped: str = "") -> None:
        """A row for each scenario ``target`` has none for: an error, or why it was skipped."""
        for scenario in scenarios:
            if self.results.get(scenario.key, target) is None:
                self.results.add(Row(scenario, target, None, error=error, skipped=skipped))

    def run(self, workdir: Path) -> None:
        """Start the targets, then measure phase by phase, scenario by scenario."""
        with contextlib.ExitStack() as stack:
            ceiling = peer = ours = None
            if "ceiling" in self.wanted:
                say("[ceiling] starting")
                ceiling = CeilingTarget(self.pg, workdir, self.args.workers, self.args.threads)
                stack.callback(ceiling.stop)
            if "scim2-server" in self.wanted:
                peer = PeerTarget(workdir, self.args.workers, self.args.threads)
                stack.callback(peer.stop)
            if "kubescim" in self.wanted:
                reason = kubescim_unavailable()
                if reason:
                    self.failed("kubescim", self.scenarios, f"not run: {reason}")
                else:
                    say("[kubescim] starting")
                    ours = KubescimTarget.on_postgres(self.pg, workdir, self.args.workers, self.args.threads)
                    stack.callback(ours.stop)
            on_configmaps = self.start_configmaps(stack, workdir) if CONFIGMAPS in self.wanted else None
            if ceiling is not None:
                json_ceiling = CEILINGS[0]
                plan = functools.partial(ceiling_plan, json_ceiling, ceiling.ids)
                self.measure(
                    json_ceiling, [(Contender("ceiling", ceiling.base_url, plan), ceiling.server.proc.pid)]
                )
            scim = [t for t in (ours, on_configmaps, peer) if t is not None]
            for phase in PHASES:
                self.phase(phase, ceiling, scim)

    def start_configmaps(self, stack: contextlib.ExitStack, workdir: Path) -> KubescimTarget | None:
        """kubescim on ConfigMaps of a control plane started for it; None (rows say why) if not."""
        reason = kubescim_unavailable() or controlplane_missing()
        if reason:
            self.failed(CONFIGMAPS, self.scenarios, skipped=f"SKIP: not run: {reason.splitlines()[0]}")
            return None
        say(f"[{CONFIGMAPS}] starting the control plane and the server")
        try:
            cluster = stack.enter_context(configmap_cluster(self.args.configmap_write_rate))
            self.plane_pids = cluster.plane.pids
            target = KubescimTarget(
                cluster.url,
                workdir,
                self.args.workers,
                self.args.threads,
                name=CONFIGMAPS,
                env=cluster.env,
            )
        except Exception as exc:  # the other targets' figures still count
            say(traceback.format_exc())
            self.failed(CONFIGMAPS, self.scenarios, f"not started: {str(exc).splitlines()[0]}")
            return None
        stack.callback(target.stop)
        return target

    def phase(self, phase: str, ceiling: CeilingTarget | None, targets: list[ScimTarget]) -> None:
        scenarios = [s for s in self.scenarios if s.phase == phase]
        if not scenarios:
            return
        seeded: dict[str, Any] = {}
        for target in targets:
            capacity = self.capacity[target.name]
            fits = [s for s in scenarios if not capacity.beyond(s)]
            for scenario in (s for s in scenarios if s not in fits):
                self.failed(target.name, [scenario], skipped=capacity.beyond(scenario))
            if not fits:
                continue
            say(f"[{target.name}] phase {phase}: storing its data")
            try:
                seeded[target.name] = target.load_phase(capacity.seed_plan(phase))
            except Exception as exc:  # a broken target must not hide the others' figures
                say(traceback.format_exc())
                self.failed(target.name, fits, str(exc))
        for scenario in scenarios:
            contenders: list[tuple[Contender, int]] = []
            for target in targets:
                capacity = self.capacity[target.name]
                if target.name not in seeded or capacity.beyond(scenario):
                    continue
                assert target.server is not None
                plan = functools.partial(
                    scim_plan, scenario, target.prefix, target.token, seeded[target.name], self.sizes
                )
                contender = Contender(
                    target.name, target.base_url, plan, scenario.warmup, budget=capacity.budget(scenario)
                )
                contenders.append((contender, target.server.proc.pid))
            if ceiling is not None and scenario.ceiling:
                reference = next(c for c in CEILINGS if c.key == scenario.ceiling)
                # A tag per scenario: the INSERT ceiling's rows stay unique across scenarios.
                plan = functools.partial(_tagged_ceiling_plan, reference, ceiling.ids, scenario.key)
                contenders.append((Contender("ceiling", ceiling.base_url, plan), ceiling.server.proc.pid))
            if contenders:
                try:
                    self.measure(scenario, contenders)
                except Exception as exc:
                    say(traceback.format_exc())
                    for c, _ in contenders:
                        self.failed(c.name, [scenario], str(exc).splitlines()[0])


def _tagged_ceiling_plan(reference: Scenario, ids: list[str], scenario: str, tag: str) -> Plan:
    return ceiling_plan(reference, ids, f"{scenario}{tag}")


def metadata(args: argparse.Namespace, pg_version: str) -> dict[str, Any]:
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    return {
        "version": 1,
        "finished": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "settings": {
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "rounds": args.rounds,
            "spread_flag": SPREAD_FLAG,
            "connections": args.connections,
            "workers": args.workers,
            "threads": args.threads,
            "big_users": args.big_users,
            "targets": args.targets,
            "configmap_write_rate": args.configmap_write_rate,
        },
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "postgres": pg_version,
            "wrk": (wrk.stdout or wrk.stderr).splitlines()[0] if (wrk.stdout or wrk.stderr) else "",
        },
    }


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
        running_postgres(QUIET_POSTGRES) as pg,
    ):
        pg_version = subprocess.run(
            [str(pg.bindir / "postgres"), "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
        runner = Runner(args, results, pg)
        runner.run(Path(workdir_name))
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
        if (info := report.configmap_summary(results, args.configmap_write_rate)) is not None:
            print(info)
        spread = [
            f"{r.scenario.key} {r.target} vs {ref}"
            for r in results.rows
            for ref, q in r.ratios.items()
            if q.flagged
        ]
        if spread:
            print(
                f"\nSPREAD: the per-round ratio varied by more than {SPREAD_FLAG:.0%} of its median in "
                f"{', '.join(spread)}: the host was not steady enough for those figures; rerun them."
            )
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
