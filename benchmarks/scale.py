"""kubescim at a SaaS's scale: 1,000 directories and 1,000,000 users in one PostgreSQL.

One server (``kubescim serve``, default settings) on one throwaway PostgreSQL, in four
steps, run from the repository root::

    python -m benchmarks.scale                                    # full scale, ~25 min
    python -m benchmarks.scale --users 100000 --sync-users 20000  # quick look, ~6 min

1. ``small``: one directory (``bench``) of 1,000 users and 50 groups, stored through
   the API; then GET by id, filter ``userName eq``, list page 1, a deep page, POST
   and member add, each for ``--duration`` seconds at 4 connections (p50/p99).
2. Bulk load: the other directories (``--directories`` - 1) and their users, up to
   ``--users`` in all, plus 10 groups of 50 members per directory, written straight
   into the tables the migrations created (``INSERT ... SELECT`` from
   ``generate_series``, documents shaped as the API stores them), then ``VACUUM
   ANALYZE`` (what autovacuum does after such growth).
3. ``large``: the same scenarios in ``bench``, now one directory among many.
4. Initial sync of a new directory of ``--sync-users`` users through the API, 4
   concurrent connections, timed to the last response, in ten chunks so the rate at
   the start and at the end of the growing directory can be compared; then groups of
   10 members drawn from 200 of its users (the shape that once slowed down), then
   member adds, each at its start and its end; list page 1 and the last page there.

Finally the database size per million users and every table's and index's size. The
table compares ``large`` with ``small``; the targets (docs/design.md) are GET by id
and filter p99 <= 1.5x the small figures and the initial sync under 5 minutes.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import requests

from benchmarks import loadgen
from benchmarks.loadgen import Plan, Result
from benchmarks.payloads import SCIM_JSON, add_members_body, group_body, template, user_body, user_name
from benchmarks.seeding import HttpSeeder
from benchmarks.seedplan import GroupSet, SeedPlan, UserSet
from benchmarks.targets import KubescimTarget
from tests.support.postgres import running_postgres

SMALL = 1_000
BENCH_GROUPS = 50
GROUPS_PER_DIRECTORY = 10
MEMBERS_PER_GROUP = 50
CONNECTIONS = 4
CHUNKS = 10
SYNC_GROUPS = 1_000
SYNC_POOL = 200
PAGE = 100


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.scale",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--users", type=int, default=1_000_000, help="users in the database (default 1000000)")
    p.add_argument("--directories", type=int, default=1_000, help="directories (default 1000)")
    p.add_argument(
        "--sync-users", type=int, default=100_000, help="users of the initial sync (default 100000)"
    )
    p.add_argument("--duration", type=float, default=8, help="seconds per scenario (default 8)")
    p.add_argument("--save", type=Path, help="also write the figures as JSON to this file")
    args = p.parse_args(argv)
    if args.users < args.directories * 10 or args.directories < 2:
        p.error("need at least 2 directories and 10 users per directory")
    return args


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class Figure:
    step: str
    scenario: str
    result: Result
    note: str = ""

    def row(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "scenario": self.scenario,
            "rps": round(self.result.rps, 1),
            "p50_ms": round(self.result.ms("p50"), 2),
            "p99_ms": round(self.result.ms("p99"), 2),
            "requests": self.result.requests,
            "errors": self.result.error_count,
            "note": self.note,
        }


# -- bulk load --------------------------------------------------------------------------

_BULK_USERS = """
INSERT INTO users (directory_id, id, user_name, user_name_key, external_id, display_name, active,
    data, created, last_modified)
SELECT d.name, gen_random_uuid()::text, u.name, lower(u.name), 'ext-' || d.name || '-' || i,
    'Barbara Jensen ' || i, true,
    %(template)s::jsonb || jsonb_build_object(
        'userName', u.name, 'externalId', 'ext-' || d.name || '-' || i,
        'displayName', 'Barbara Jensen ' || i,
        'name', jsonb_build_object('givenName', 'Barbara', 'familyName', 'Jensen-' || i),
        'emails', jsonb_build_array(jsonb_build_object('value', u.name, 'type', 'work', 'primary', true))),
    now(), now()
FROM unnest(%(dirs)s::text[]) AS d(name), generate_series(1, %(per)s) AS i,
    LATERAL (SELECT 'user-' || d.name || '-' || i || '@example.com' AS name) AS u
"""
_BULK_GROUPS = """
WITH g AS (
    INSERT INTO groups (directory_id, id, display_name, display_name_key, data, created, last_modified)
    SELECT d.name, gen_random_uuid()::text, 'group-' || i, 'group-' || i,
        %(template)s::jsonb || jsonb_build_object('displayName', 'group-' || i), now(), now()
    FROM unnest(%(dirs)s::text[]) AS d(name), generate_series(1, %(groups)s) AS i
    RETURNING directory_id, id, display_name
), pool AS (
    SELECT directory_id, id, row_number() OVER (PARTITION BY directory_id ORDER BY seq) AS n
    FROM users WHERE directory_id = ANY(%(dirs)s)
)
INSERT INTO memberships (directory_id, group_id, member_id, member_type)
SELECT g.directory_id, g.id, pool.id, 'User' FROM g JOIN pool ON pool.directory_id = g.directory_id
WHERE pool.n <= %(members)s
"""


def bulk_load(url: str, directories: list[str], per_directory: int) -> float:
    """Write the directories' users, groups and memberships; return the seconds it took."""
    started = time.monotonic()
    with psycopg.connect(url, autocommit=True) as conn:
        user_tpl = conn.execute("SELECT data FROM users WHERE directory_id = 'bench' LIMIT 1").fetchone()
        group_tpl = conn.execute("SELECT data FROM groups WHERE directory_id = 'bench' LIMIT 1").fetchone()
        assert user_tpl is not None
        assert group_tpl is not None
        batch = max(1, 50_000 // per_directory)
        for start in range(0, len(directories), batch):
            dirs = directories[start : start + batch]
            with conn.transaction():
                conn.execute(
                    _BULK_USERS, {"template": json.dumps(user_tpl[0]), "dirs": dirs, "per": per_directory}
                )
                conn.execute(
                    _BULK_GROUPS,
                    {
                        "template": json.dumps(group_tpl[0]),
                        "dirs": dirs,
                        "groups": GROUPS_PER_DIRECTORY,
                        "members": min(MEMBERS_PER_GROUP, per_directory),
                    },
                )
            done = start + len(dirs)
            rate = done * per_directory / (time.monotonic() - started)
            say(f"  bulk: {done:,}/{len(directories):,} directories ({rate:,.0f} users/s)")
        say("  VACUUM (ANALYZE)")
        conn.execute("VACUUM (ANALYZE)")
    return time.monotonic() - started


def sizes(url: str) -> dict[str, Any]:
    """The database's size, and each table's and index's, in bytes; row counts."""
    with psycopg.connect(url, autocommit=True) as conn:
        database = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        tables = conn.execute(
            "SELECT relname, pg_total_relation_size(relid), pg_relation_size(relid), n_live_tup "
            "FROM pg_stat_user_tables ORDER BY 2 DESC"
        ).fetchall()
        indexes = conn.execute(
            "SELECT indexrelname, relname, pg_relation_size(indexrelid) "
            "FROM pg_stat_user_indexes ORDER BY 3 DESC"
        ).fetchall()
        users = conn.execute("SELECT count(*) FROM users").fetchone()
    assert database is not None
    assert users is not None
    return {
        "database_bytes": database[0],
        "users": users[0],
        "tables": {
            t: {"total_bytes": total, "heap_bytes": heap, "rows": rows} for t, total, heap, rows in tables
        },
        "indexes": {f"{table}.{name}": size for name, table, size in indexes},
    }


# -- measured steps ---------------------------------------------------------------------


class Bench:
    def __init__(self, target: KubescimTarget, duration: float) -> None:
        self.target = target
        self.duration = duration
        self.figures: list[Figure] = []
        self.auth = {"Authorization": f"Bearer {target.token}"}
        self.write = {**self.auth, "Content-Type": SCIM_JSON}
        self.sent: dict[str, int] = {}

    def run(self, step: str, scenario: str, plan: Plan, note: str = "") -> Result:
        offset = self.sent.get(scenario, 0)
        plan.offset = offset
        result = loadgen.run(self.target.base_url, plan, duration_s=self.duration, connections=CONNECTIONS)
        self.sent[scenario] = offset + result.requests + CONNECTIONS
        self.figures.append(Figure(step, scenario, result, note))
        errors = f", errors {result.errors}" if result.error_count else ""
        say(
            f"  [{step}] {scenario}: {result.rps:,.0f} req/s, p50 {result.ms('p50'):.2f} ms, "
            f"p99 {result.ms('p99'):.2f} ms{errors}"
        )
        return result

    def scenarios(
        self, step: str, tag: str, ids: list[str], groups: list[str], fresh: list[str], size: int
    ) -> None:
        prefix = self.target.prefix
        names = [quote(f'userName eq "{user_name(f"a{i}")}"') for i in range(SMALL)]
        self.run(step, "GET /Users/{id}", Plan("GET", [f"{prefix}/Users/{i}" for i in ids], self.auth))
        self.run(step, "userName eq", Plan("GET", [f"{prefix}/Users?filter={f}" for f in names], self.auth))
        self.run(step, "list page 1", Plan("GET", [f"{prefix}/Users?count={PAGE}"], self.auth))
        deep = max(1, size - PAGE + 1)
        self.run(
            step, "list deep page", Plan("GET", [f"{prefix}/Users?startIndex={deep}&count={PAGE}"], self.auth)
        )
        body = template(user_body(f"p{tag}{{n}}"), "{n}")
        self.run(step, "POST /Users", Plan("POST", [f"{prefix}/Users"], self.write, body))
        add = template(add_members_body(["{v}"]), "{v}")
        self.run(
            step,
            "PATCH add member",
            Plan("PATCH", [f"{prefix}/Groups/{g}" for g in groups], self.write, add, values=fresh),
        )


def chunked(
    base_url: str, make: Callable[[int, int], Plan], total: int, label: str
) -> tuple[float, list[Result]]:
    """Send ``total`` requests in CHUNKS chunks (4 connections); wall seconds and per-chunk results."""
    size = math.ceil(total / CHUNKS)
    results: list[Result] = []
    started = time.monotonic()
    for start in range(0, total, size):
        count = min(size, total - start)
        result = loadgen.run(base_url, make(start, count), duration_s=3600, connections=CONNECTIONS)
        if result.error_count:
            raise RuntimeError(f"{label}: {result.errors}")
        results.append(result)
        say(f"  {label}: {start + count:,}/{total:,} ({result.rps:,.0f}/s, p99 {result.ms('p99'):.1f} ms)")
    return time.monotonic() - started, results


def wait_accepted(url: str, token: str, timeout_s: float = 30) -> None:
    """Wait until every worker accepts a new directory's token (each re-reads the token
    file at most every 0.5 s): 20 answers of 200 in a row. Raises RuntimeError."""
    deadline = time.monotonic() + timeout_s
    in_a_row = 0
    with requests.Session() as session:
        while in_a_row < 20:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the new directory's token is not accepted after {timeout_s:.0f} s")
            ok = session.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 200
            in_a_row = in_a_row + 1 if ok else 0
            if not ok:
                time.sleep(0.1)


def initial_sync(target: KubescimTarget, bench: Bench, users: int) -> dict[str, Any]:
    """A new directory filled through the API the way Entra's first cycle arrives."""
    prefix, token = target.create_directory("sync")
    wait_accepted(f"{target.base_url}{prefix}/ServiceProviderConfig", token)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": SCIM_JSON}
    idle = f"{prefix}/ServiceProviderConfig"
    body = template(user_body("y{n}"), "{n}")

    def users_plan(start: int, count: int) -> Plan:
        return Plan("POST", [f"{prefix}/Users"], headers, body, offset=start, limit=count, idle_path=idle)

    say(f"[sync] {users:,} users through the API, {CONNECTIONS} connections")
    wall, chunks = chunked(target.base_url, users_plan, users, "users")
    with psycopg.connect(target.env["KUBESCIM_DATABASE_URL"], autocommit=True) as conn:
        pool = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM users WHERE directory_id = 'sync' ORDER BY seq LIMIT %s",
                (SYNC_POOL + 10_000,),
            )
        ]
    members, fresh = pool[:SYNC_POOL], pool[SYNC_POOL:]
    # Group k has members k*10 .. k*10+9 (mod 200): each user ends in 50 groups.
    bodies = [
        json.dumps(group_body(f"sync{k}", [members[(k * 10 + j) % SYNC_POOL] for j in range(10)]))
        for k in range(SYNC_GROUPS)
    ]
    # wrk cannot pick one of many bodies; the groups go through 4 Python threads instead.
    seeder = HttpSeeder(target.base_url, prefix, token)
    group_rates: list[float] = []
    group_ids: list[str] = []
    step = SYNC_GROUPS // CHUNKS
    for start in range(0, SYNC_GROUPS, step):
        began = time.monotonic()
        chunk = [json.loads(b) for b in bodies[start : start + step]]
        group_ids += seeder.create_bodies("Groups", chunk, f"groups {start + step}/{SYNC_GROUPS}")
        group_rates.append(len(chunk) / (time.monotonic() - began))
    add = template(add_members_body(["{v}"]), "{v}")

    def adds_plan(start: int, count: int) -> Plan:
        return Plan(
            "PATCH",
            [f"{prefix}/Groups/{g}" for g in group_ids],
            headers,
            add,
            values=fresh,
            offset=start,
            limit=count,
            idle_path=idle,
        )

    _, add_chunks = chunked(target.base_url, adds_plan, 20_000, "member adds")
    page_auth = {"Authorization": f"Bearer {token}"}
    for label, path in (
        ("list page 1", f"{prefix}/Users?count={PAGE}"),
        ("list deep page", f"{prefix}/Users?startIndex={users - PAGE + 1}&count={PAGE}"),
    ):
        result = loadgen.run(
            target.base_url, Plan("GET", [path], page_auth), duration_s=bench.duration, connections=4
        )
        bench.figures.append(Figure(f"sync ({users:,})", label, result))
        say(f"  [sync] {label}: {result.rps:,.0f} req/s, p99 {result.ms('p99'):.1f} ms")
    return {
        "users": users,
        "wall_s": round(wall, 1),
        "users_per_s": [round(r.rps, 1) for r in chunks],
        "users_p99_ms": [round(r.ms("p99"), 1) for r in chunks],
        "groups_per_s": [round(r, 1) for r in group_rates],
        "member_adds_per_s": [round(r.rps, 1) for r in add_chunks],
    }


def render(figures: list[Figure], sync: dict[str, Any], found: dict[str, Any], load_s: float) -> str:
    lines = [f"{'scenario':<18} {'step':<16} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7}  p99 vs small"]
    small = {f.scenario: f for f in figures if f.step == "small"}
    for f in figures:
        base = small.get(f.scenario)
        vs = f"{f.result.ms('p99') / base.result.ms('p99'):.2f}x" if base and f.step != "small" else ""
        lines.append(
            f"{f.scenario:<18} {f.step:<16} {f.result.rps:>8,.0f} {f.result.ms('p50'):>7.2f} "
            f"{f.result.ms('p99'):>7.2f}  {vs}{' ERRORS' if f.result.error_count else ''}"
        )
    first, last = sync["users_per_s"][0], sync["users_per_s"][-1]
    lines += [
        "",
        f"bulk load: {found['users']:,} users in {load_s:.0f} s",
        f"initial sync: {sync['users']:,} users in {sync['wall_s']:.0f} s "
        f"({sync['users'] / sync['wall_s']:,.0f}/s; first chunk {first:,.0f}/s, last {last:,.0f}/s)",
        f"groups of 10 from {SYNC_POOL} users: first chunk {sync['groups_per_s'][0]:,.0f}/s, "
        f"last {sync['groups_per_s'][-1]:,.0f}/s",
        f"member adds: first chunk {sync['member_adds_per_s'][0]:,.0f}/s, "
        f"last {sync['member_adds_per_s'][-1]:,.0f}/s",
        "",
        f"database: {found['database_bytes'] / 2**20:,.0f} MiB for {found['users']:,} users "
        f"({found['database_bytes'] / 2**20 * 1e6 / max(1, found['users']):,.0f} MiB per million users)",
    ]
    for table, t in found["tables"].items():
        lines.append(
            f"  {table:<20} {t['total_bytes'] / 2**20:>8,.0f} MiB total, heap "
            f"{t['heap_bytes'] / 2**20:,.0f} MiB, {t['rows']:,} rows"
        )
    for index, size in found["indexes"].items():
        lines.append(f"  {index:<40} {size / 2**20:>8,.0f} MiB")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    loadgen.require_wrk()
    per_directory = args.users // args.directories
    with (
        tempfile.TemporaryDirectory(prefix="kubescim-scale-") as tmp,
        running_postgres({"maintenance_work_mem": "'256MB'", "max_wal_size": "'4GB'"}) as pg,
    ):
        target = KubescimTarget.on_postgres(pg, Path(tmp), 2)
        try:
            bench = Bench(target, args.duration)
            say(f"[small] bench: {SMALL:,} users, {BENCH_GROUPS} groups, through the API")
            fresh = max(200, math.ceil(3_000 * (args.duration + 1) * 2 / BENCH_GROUPS))
            stored = target.load_phase(
                SeedPlan(
                    users=[UserSet("a", "a", SMALL), UserSet("m", "m", 10), UserSet("f", "f", fresh)],
                    groups=[GroupSet("g", "g", BENCH_GROUPS, "m", 10)],
                )
            )
            size = SMALL + 10 + fresh
            bench.scenarios("small", "s", stored.users["a"], stored.groups["g"], stored.users["f"], size)
            others = [f"t{i:05d}" for i in range(1, args.directories)]
            say(f"[bulk] {len(others):,} directories of {per_directory:,} users")
            load_s = bulk_load(target.env["KUBESCIM_DATABASE_URL"], others, per_directory)
            large = f"large ({args.users // 1000:,}k)"
            bench.scenarios(large, "l", stored.users["a"], stored.groups["g"], stored.users["f"], size)
            sync = initial_sync(target, bench, args.sync_users)
            found = sizes(target.env["KUBESCIM_DATABASE_URL"])
        finally:
            target.stop()
    report = render(bench.figures, sync, found, load_s)
    print(report)
    if args.save:
        document = {
            "settings": vars(args) | {"save": str(args.save) if args.save else None},
            "figures": [f.row() for f in bench.figures],
            "sync": sync,
            "sizes": found,
            "bulk_load_s": round(load_s, 1),
        }
        args.save.write_text(json.dumps(document, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
