"""The work of a single-resource request does not grow with the directory.

A guard for the class of regression where a lookup reads every membership, user or
group of the directory (group creation once slowed from 281 to 67 groups/s over 3,200
groups). Not a timing: SQLite counts the virtual machine instructions a request runs,
PostgreSQL the rows and index entries it reads (its statistics views); both must be the
same in a small directory and in one ten times larger, whose members also belong to ten
times more groups.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from scim_server.scim.filter import parse_filter
from scim_server.scim.patch import MemberChange
from scim_server.scim.query import ListQuery
from scim_server.storage.postgres import PostgresStorage
from scim_server.storage.sqlite import SqliteStorage
from tests.support.postgres import PostgresServer

DIRECTORIES = 10
SLACK = 4
"""Work a request may do beyond its small-directory figure at ten times the size: a seek
that lands on a page boundary, an index entry not yet pruned; not the directory's
hundreds or thousands (the regression this guards read every membership of it)."""
HUBS = 10  # the users every group of the growing directory has as members
POOL = 200  # on PostgreSQL, the users groups draw their members from
_fresh = itertools.count()

Store = SqliteStorage | PostgresStorage


def grow(store: Store, directory: str, hubs: list[str], groups: int) -> None:
    """Add ``groups`` groups, each with the hub users as members."""
    members = [{"value": h} for h in hubs]
    for _ in range(groups):
        store.create(directory, "Group", {"displayName": f"g{next(_fresh)}", "members": members})


def requests(store: Store, directory: str, hubs: list[str]) -> dict[str, Callable[[], Any]]:
    """One of each single-resource request, on resources of a fixed size."""
    n = next(_fresh)
    user = store.create(directory, "User", {"userName": f"probe{n}@example.com"})["id"]
    other = store.create(directory, "User", {"userName": f"other{n}@example.com"})["id"]
    group = store.create(directory, "Group", {"displayName": f"probe{n}", "members": [{"value": user}]})["id"]
    members = [{"value": h} for h in hubs]

    def patch(kind: str, ids: list[str]) -> Callable[[], Any]:
        change = MemberChange(kind, tuple(ids))  # type: ignore[arg-type]
        return lambda: store.patch(directory, "Group", group, None, [change], if_match=None, members=False)

    return {
        "create user": lambda: store.create(directory, "User", {"userName": f"new{n}@example.com"}),
        "create group with hub members": lambda: store.create(
            directory, "Group", {"displayName": f"new{n}", "members": members}
        ),
        "get user with its groups": lambda: store.get(directory, "User", user),
        "get group with its members": lambda: store.get(directory, "Group", group),
        "add a member": patch("add", [other]),
        "remove a member": patch("remove", [other]),
        "userName eq": lambda: store.query(
            directory, "User", ListQuery(filter=parse_filter(f'userName eq "probe{n}@example.com"'))
        ),
        "delete a user in a group": lambda: store.delete(directory, "User", user, if_match=None),
    }


def costs(
    store: Store, directory: str, hubs: list[str], measure: Callable[[Callable[[], Any]], int]
) -> dict[str, int]:
    return {name: measure(request) for name, request in requests(store, directory, hubs).items()}


def assert_same_work(small: dict[str, int], large: dict[str, int]) -> None:
    grew = {k: (small[k], large[k]) for k in small if large[k] > small[k] + SLACK}
    assert not grew, f"requests doing more work at ten times the size (small, large): {grew}"


def seed(store: Store) -> tuple[str, list[str]]:
    """Directories of the same shape as the one measured; return it and its hub users."""
    hubs: dict[str, list[str]] = {}
    for d in (f"d{i}" for i in range(DIRECTORIES)):
        hubs[d] = [store.create(d, "User", {"userName": f"hub{i}@example.com"})["id"] for i in range(HUBS)]
        grow(store, d, hubs[d], 5)
    return "d0", hubs["d0"]


# -- SQLite: virtual machine instructions ---------------------------------------------------


def sqlite_instructions(conn: sqlite3.Connection) -> Callable[[Callable[[], Any]], int]:
    def measure(request: Callable[[], Any]) -> int:
        count = 0

        def tick() -> int:
            nonlocal count
            count += 1
            return 0

        conn.set_progress_handler(tick, 1)
        try:
            request()
        finally:
            conn.set_progress_handler(None, 1)
        return count

    return measure


def test_sqlite_requests_run_the_same_instructions_at_ten_times_the_size(tmp_path: Path) -> None:
    store = SqliteStorage(tmp_path / "cost.db")
    directory, hubs = seed(store)
    measure = sqlite_instructions(store._connection())
    grow(store, directory, hubs, 30)
    small = costs(store, directory, hubs, measure)
    grow(store, directory, hubs, 300)
    large = costs(store, directory, hubs, measure)
    assert_same_work(small, large)


# -- PostgreSQL: rows and index entries read ------------------------------------------------

_READ = """SELECT (SELECT COALESCE(sum(seq_tup_read + COALESCE(idx_tup_fetch, 0)), 0)
    FROM pg_stat_user_tables WHERE relname IN ('users', 'groups', 'memberships')),
    (SELECT COALESCE(sum(idx_tup_read), 0) FROM pg_stat_user_indexes
    WHERE relname IN ('users', 'groups', 'memberships'))"""


@pytest.fixture
def pg_store(postgres_server: PostgresServer) -> Iterator[PostgresStorage]:
    store = PostgresStorage(postgres_server.create_database(f"cost_{next(_fresh)}"), pool_size=1)
    yield store
    store.close()


def pg_reads(store: PostgresStorage) -> Callable[[Callable[[], Any]], int]:
    """Rows plus index entries one request read, from the statistics of its own session."""

    def totals() -> int:
        with store.pool.connection() as conn:  # pool_size 1: the session that ran the request
            conn.execute("SELECT pg_stat_force_next_flush()")
            conn.execute("SELECT pg_stat_clear_snapshot()")
            row = conn.execute(_READ).fetchone()
        assert row is not None
        return int(row[0]) + int(row[1])

    def measure(request: Callable[[], Any]) -> int:
        before = totals()
        request()
        return totals() - before

    return measure


_GROW = """WITH g AS (
    INSERT INTO groups (directory_id, id, display_name, display_name_key, data, created, last_modified)
    SELECT %(d)s, gen_random_uuid()::text, 'bulk' || n || '-' || %(tag)s, 'bulk' || n || '-' || %(tag)s,
        jsonb_build_object('displayName', 'bulk' || n), now(), now()
    FROM generate_series(1, %(n)s) AS n RETURNING id
), u AS (
    INSERT INTO users (directory_id, id, user_name, user_name_key, data, created, last_modified)
    SELECT %(d)s, gen_random_uuid()::text, 'bulk' || n || '-' || %(tag)s, 'bulk' || n || '-' || %(tag)s,
        jsonb_build_object('userName', 'bulk' || n), now(), now()
    FROM generate_series(1, %(n)s * 5) AS n)
INSERT INTO memberships (directory_id, group_id, member_id, member_type)
SELECT %(d)s, g.id, (%(pool)s::text[])[1 + (abs(hashtext(g.id)) + 7 * j) %% %(size)s], 'User'
FROM g, generate_series(0, 9) AS j"""


def grow_in_bulk(store: PostgresStorage, pools: dict[str, list[str]], groups: int) -> None:
    """Add to every directory ``groups`` groups of ten members drawn from its pool of users,
    and five times as many users in no group; then ANALYZE, as autovacuum would after
    such growth (the plans then follow the data)."""
    tag = next(_fresh)
    with store.pool.connection() as conn:
        for directory, pool in pools.items():
            conn.execute(_GROW, {"d": directory, "n": groups, "pool": pool, "size": len(pool), "tag": tag})
        conn.execute("ANALYZE users, groups, memberships, event_streams, events")


@pytest.mark.postgres
def test_postgres_requests_read_the_same_rows_at_ten_times_the_size(pg_store: PostgresStorage) -> None:
    """At sizes where the planner uses indexes at all (a tiny table is read whole, rightly).

    As in the slowdown reported: groups of 10 members drawn from 200 users per directory.
    """
    pools = {
        f"d{i}": [
            pg_store.create(f"d{i}", "User", {"userName": f"pool{n}@example.com"})["id"] for n in range(POOL)
        ]
        for i in range(DIRECTORIES)
    }
    measure = pg_reads(pg_store)
    grow_in_bulk(pg_store, pools, 200)
    small = costs(pg_store, "d0", pools["d0"][:HUBS], measure)
    grow_in_bulk(pg_store, pools, 1800)
    large = costs(pg_store, "d0", pools["d0"][:HUBS], measure)
    assert_same_work(small, large)
