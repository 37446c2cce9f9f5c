"""Where a request's CPU goes: the parts the throughput benchmark cannot separate.

``scim_throughput`` says how far kubescim is from its ceilings; this measures what the
candidates for removal cost, in CPU microseconds per request. Python-only parts are
timed directly (best of five); database parts run as two variants in alternating
rounds over the same data, PostgreSQL's own CPU counted (median and min-max):

- request hooks: the app's before/after-request hooks (request id, metrics, access
  log) called directly in a request's context, and the Prometheus samples alone;
- JSON: encoding a stored user as a response and decoding it from its jsonb column,
  the standard library against orjson (when installed);
- events outbox: PostgreSQL CPU of POST's statement (the INSERT with its event) and of
  the bare INSERT;
- group version bump: PostgreSQL CPU of a member add's statement (events included)
  as shipped and without the group's version bump (what keeps its ETag right when its
  members change).

Run from the repository root (about a minute)::

    python -m benchmarks.request_costs
    python -m benchmarks.request_costs --requests 1000 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import timeit
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

import psycopg
from flask import Flask, Response, g
from psycopg.types.json import Jsonb

from benchmarks.cpuwatch import tree_cpu
from benchmarks.payloads import user_body
from scim_server import metrics
from scim_server.app import create_app
from scim_server.config import Settings
from scim_server.storage import open_storage
from scim_server.storage import postgres as pgsql
from scim_server.storage.rows import now, user_columns
from scim_server.tokens.local import LocalTokenRegistry
from tests.support.postgres import PostgresServer, running_postgres

DIRECTORY = "costs"
# A member add's group row: bumped as shipped, read as it would be without the bump.
BUMPED = "UPDATE groups r SET version = r.version + 1, last_modified = %(now)s\n    WHERE"
READ = "SELECT r.id, r.data, r.created, r.last_modified, r.version FROM groups r\n    WHERE"


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Variant:
    """One way of doing a request; ``run(n)`` does it ``n`` times."""

    name: str
    run: Callable[[int], None]
    samples: list[float] = field(default_factory=list)


def alternate(variants: list[Variant], clock: Callable[[], float], *, requests: int, rounds: int) -> None:
    """Warm each variant up, then time ``requests`` calls of each per round, in ABBA order."""
    for v in variants:
        v.run(max(50, requests // 10))
    for r in range(rounds):
        for v in variants if r % 2 == 0 else reversed(variants):
            start = clock()
            v.run(requests)
            v.samples.append((clock() - start) / requests * 1e6)


def line(item: str, variants: list[Variant]) -> str:
    parts = [
        f"{v.name} {statistics.median(v.samples):7.1f} ({min(v.samples):.1f}-{max(v.samples):.1f})"
        for v in variants
    ]
    return f"{item:<22} " + "   ".join(parts)


class Bench:
    """A throwaway PostgreSQL, the app on it, and one directory of seeded users."""

    def __init__(self, pg: PostgresServer, state: Path) -> None:
        self.url = pg.create_database("costs")
        self.pg_pid = pg.postmaster_pid
        self.storage = open_storage(self.url)
        tokens = LocalTokenRegistry(state)
        self.token = tokens.issue(DIRECTORY)
        self.settings = Settings(state_dir=state, access_log=False)
        self.users = [self.storage.create(DIRECTORY, "User", user_body(f"u{i}")) for i in range(1_000)]
        self.tokens = tokens
        self.names = count()

    def app(self) -> Flask:
        return create_app(self.settings, storage=self.storage, tokens=self.tokens)

    def pg_cpu(self) -> float:
        return tree_cpu([self.pg_pid])

    def connection(self) -> psycopg.Connection[Any]:
        """A connection set up as the server's pool sets its own up."""
        options = "-c plan_cache_mode=force_generic_plan"
        return psycopg.connect(self.url, autocommit=True, options=options)


def per_call(fn: Callable[[], object], calls: int) -> float:
    """Microseconds per call of ``fn``: the best of five timings of ``calls`` calls."""
    return min(timeit.repeat(fn, number=calls, repeat=5)) / calls * 1e6


def hooks(bench: Bench, calls: int) -> str:
    """The app's own hooks, called directly in a request's context (Python CPU only)."""
    app = bench.app()
    [start] = app.before_request_funcs[None]
    [finish] = app.after_request_funcs[None]
    path = f"/scim/v2/{DIRECTORY}/Users/{bench.users[0]['id']}"
    with app.test_request_context(path, headers={"Authorization": f"Bearer {bench.token}"}):
        g.directory = DIRECTORY
        response = Response(b"{}", status=200)
        before = per_call(start, calls)
        after = per_call(lambda: finish(response), calls)
        metrics_only = per_call(lambda: metrics.observe(DIRECTORY, "GET", 200, 0.001), calls)
    return (
        f"{'request hooks (Python)':<22} before {before:.1f}, after {after:.1f} "
        f"(of which the Prometheus samples {metrics_only:.1f})"
    )


def json_costs(bench: Bench, calls: int) -> str:
    user = bench.storage.get(DIRECTORY, "User", bench.users[0]["id"])
    text = json.dumps(user)

    encode = per_call(lambda: json.dumps(user, separators=(",", ":"), ensure_ascii=False).encode(), calls)
    decode = per_call(lambda: json.loads(text), calls)
    out = f"{'JSON (Python, a user)':<22} json: encode {encode:.1f}, decode {decode:.1f}"
    try:
        import orjson
    except ImportError:
        return out + "; orjson not installed"
    return out + (
        f"   orjson: encode {per_call(lambda: orjson.dumps(user), calls):.1f}, "
        f"decode {per_call(lambda: orjson.loads(text), calls):.1f}"
    )


def outbox(bench: Bench, requests: int, rounds: int) -> str:
    conn = bench.connection()

    def creating(sql: str, events: bool) -> Callable[[int], None]:
        def run(n: int) -> None:
            for _ in range(n):
                doc = user_body(f"c{next(bench.names)}")
                ts = now()
                params = {"d": DIRECTORY, "id": f"id-{next(bench.names)}", "data": Jsonb(doc), "at": ts}
                params |= user_columns(doc)
                if events:
                    params |= {"n": 1, "events": Jsonb([["dsync.user.created", {"resource": doc}]])}
                conn.execute(sql, params, prepare=True)

        return run

    variants = [
        Variant("with events", creating(pgsql._CREATE["User"], True)),
        Variant("bare INSERT", creating(pgsql._INSERT["User"], False)),
    ]
    alternate(variants, bench.pg_cpu, requests=requests, rounds=rounds)
    conn.close()
    return line("POST statement (PG)", variants)


def group_bump(bench: Bench, requests: int, rounds: int) -> str:
    conn = bench.connection()
    group = bench.storage.create(DIRECTORY, "Group", {"displayName": "costs"})["id"]
    fresh = _fresh_users(bench, 2 * requests * rounds + 2 * max(50, requests // 10))

    shipped = pgsql._ADD_MEMBERS_EMITTING
    if BUMPED not in shipped:
        raise SystemExit("benchmarks/request_costs.py: the member add statement changed; update BUMPED")
    start = shipped.index(BUMPED)
    end = shipped.index("RETURNING r.id, r.data, r.created, r.last_modified, r.version", start)
    unbumped = shipped[:start] + READ + shipped[start + len(BUMPED) : end] + shipped[end:].split("\n", 1)[1]

    def adding(sql: str) -> Callable[[int], None]:
        def run(n: int) -> None:
            for _ in range(n):
                params = {"d": DIRECTORY, "g": group, "ids": [next(fresh)], "now": now()}
                conn.execute(sql, params, prepare=True)

        return run

    variants = [Variant("as shipped", adding(shipped)), Variant("without the bump", adding(unbumped))]
    alternate(variants, bench.pg_cpu, requests=requests, rounds=rounds)
    conn.close()
    return line("member add (PG)", variants)


def _fresh_users(bench: Bench, n: int) -> Iterator[str]:
    """Ids of ``n`` new users, stored in bulk (each member add takes one)."""
    docs = [{**user_body(f"f{i}"), "id": f"fresh-{i}"} for i in range(n)]
    with bench.connection() as conn, conn.cursor() as cur:
        ts = now()
        cur.executemany(
            pgsql._INSERT["User"],
            [{"d": DIRECTORY, "id": d["id"], "data": Jsonb(d), "at": ts, **user_columns(d)} for d in docs],
        )
        conn.execute("ANALYZE")
    return iter(d["id"] for d in docs)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.request_costs",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--requests", type=int, default=2_000, help="requests per variant and round (default 2000)"
    )
    p.add_argument("--rounds", type=int, default=5, help="alternating rounds (default 5)")
    args = p.parse_args(argv)
    with running_postgres() as pg, tempfile.TemporaryDirectory(prefix="kubescim-costs-") as state:
        bench = Bench(pg, Path(state))
        print("CPU microseconds per request: median (min-max) over the rounds")
        print(hooks(bench, args.requests * 10), flush=True)
        print(json_costs(bench, args.requests * 10), flush=True)
        print(outbox(bench, args.requests, args.rounds), flush=True)
        print(group_bump(bench, args.requests, args.rounds), flush=True)
        bench.storage.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
