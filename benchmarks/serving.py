"""Serving modes side by side: gunicorn sync vs gthread workers, with and without keep-alive.

Identity providers keep their connections open. gunicorn's sync workers answer every
request with ``Connection: close``, so each request pays a TCP handshake; gthread
workers keep the connection. This starts kubescim once per mode on one PostgreSQL
database and one directory, and drives IdP-like requests at 4 and 16 connections, the
load generator once with keep-alive and once sending ``Connection: close`` (a client
that reconnects each time), the modes interleaved round by round
(``benchmarks/interleave.py``). Run from the repository root::

    python -m benchmarks.serving                        # ~8 minutes
    python -m benchmarks.serving --duration 4 --rounds 2  # quick look
    python -m benchmarks.serving --modes sync,gthread-2x4,gthread-2x8

A mode is ``sync`` (``--workers 2``) or ``gthread-WxT`` (``--workers W --threads T``).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import itertools
import math
import sys
import tempfile
from pathlib import Path

from benchmarks import loadgen
from benchmarks.interleave import Contender, interleave, median_run, ratio
from benchmarks.loadgen import Plan
from benchmarks.payloads import SCIM_JSON, add_members_body, template, user_body
from benchmarks.seedplan import GroupSet, Seeded, SeedPlan, UserSet
from benchmarks.targets import KubescimTarget
from tests.support.postgres import running_postgres

SCENARIOS = ("get_user", "filter", "post_user", "add_member")
GROUPS = 500


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.serving",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--duration", type=float, default=6, help="seconds per scenario and mode (default 6)")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    p.add_argument(
        "--modes", default="sync,gthread-2x4", help="comma-separated modes (default sync,gthread-2x4)"
    )
    p.add_argument("--connections", default="4,16", help="comma-separated connection counts (default 4,16)")
    return p.parse_args(argv)


def serve_args(mode: str) -> list[str]:
    """The ``kubescim serve`` options of a mode name."""
    if mode == "sync":
        return ["--workers", "2", "--threads", "1"]
    if mode.startswith("gthread-"):
        workers, threads = mode.removeprefix("gthread-").split("x")
        return ["--workers", workers, "--threads", threads]
    raise SystemExit(f"error: unknown mode {mode!r} (sync or gthread-WxT)")


def plan(scenario: str, prefix: str, token: str, seeded: Seeded, close: bool, run: str, tag: str) -> Plan:
    """An IdP-like request stream; ``close`` sends ``Connection: close`` on every request."""
    auth = {"Authorization": f"Bearer {token}"} | ({"Connection": "close"} if close else {})
    write = {**auth, "Content-Type": SCIM_JSON}
    if scenario == "get_user":
        return Plan("GET", [f"{prefix}/Users/{i}" for i in seeded.users["a"]], auth)
    if scenario == "filter":
        names = [f"user-a{i}@example.com" for i in range(len(seeded.users["a"]))]
        return Plan("GET", [f"{prefix}/Users?filter=userName%20eq%20%22{n}%22" for n in names], auth)
    if scenario == "post_user":
        return Plan("POST", [f"{prefix}/Users"], write, template(user_body(f"s{run}{tag}{{n}}"), "{n}"))
    return Plan(
        "PATCH",
        [f"{prefix}/Groups/{g}" for g in seeded.groups["small"]],
        write,
        template(add_members_body(["{v}"]), "{v}"),
        values=seeded.users["fresh"],
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    loadgen.require_wrk()
    modes = args.modes.split(",")
    counts = [int(c) for c in args.connections.split(",")]
    seconds = max(1.0, args.duration / args.rounds)
    # Every member add adds a fresh user: each run of a mode starts its own stretch of the
    # (group, user) sequence, long enough at 5,000 req/s.
    stride = math.ceil(5_000 * (args.duration + 2))
    fresh = math.ceil(stride * len(modes) * len(counts) * 2 / GROUPS)
    rows: list[str] = []
    with (
        tempfile.TemporaryDirectory(prefix="kubescim-serving-") as tmp,
        running_postgres() as pg,
        contextlib.ExitStack() as stack,
    ):
        workdir = Path(tmp)
        first = KubescimTarget.on_postgres(pg, workdir, 2)  # its own server is not measured
        stack.callback(first.stop)
        seeded = first.load_phase(
            SeedPlan(
                users=[UserSet("a", "a", 1_000), UserSet("m", "m", 10), UserSet("fresh", "f", fresh)],
                groups=[GroupSet("small", "small", GROUPS, "m", 10)],
            )
        )
        first.stop()
        servers = {}
        for mode in modes:
            base_url, server = first.another_server(mode, serve_args(mode))
            stack.callback(server.stop)
            servers[mode] = base_url
        header = (
            f"{'scenario':<11} {'conns':>5} {'client':<10} {'mode':<14} {'req/s':>7} {'p50 ms':>7} "
            f"{'p99 ms':>7}  vs {modes[0]}"
        )
        rows.append(header)
        rows.append("-" * len(header))
        stretch = itertools.count()
        for scenario in SCENARIOS:
            for connections in counts:
                for close in (False, True):
                    client = "close" if close else "keep-alive"
                    print(f"[{scenario}, {connections} connections, {client}]", file=sys.stderr, flush=True)
                    contenders = [
                        Contender(
                            mode,
                            servers[mode],
                            functools.partial(
                                plan,
                                scenario,
                                first.prefix,
                                first.token,
                                seeded,
                                close,
                                f"{mode}-{connections}-{client}-",
                            ),
                            warmup=scenario != "add_member",
                            sent=stride * next(stretch),
                        )
                        for mode in modes
                    ]
                    interleave(
                        contenders, rounds=args.rounds, seconds=seconds, warmup_s=1, connections=connections
                    )
                    for c in contenders:
                        r = median_run(c)
                        q = ratio(c, contenders[0])
                        errors = f"  ERRORS {r.errors}" if r.error_count else ""
                        rows.append(
                            f"{scenario:<11} {connections:>5} {client:<10} {c.name:<14} {r.rps:>7,.0f} "
                            f"{r.ms('p50'):>7.2f} {r.ms('p99'):>7.2f}  {q.text() if q else '-'}{errors}"
                        )
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
