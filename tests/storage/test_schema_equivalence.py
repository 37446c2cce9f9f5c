"""Both backends' schemas agree in meaning: tables, columns, keys, indexes, foreign keys.

Each side is read back from the database it built (SQLite's pragmas, PostgreSQL's
catalogs), reduced to the same shape, and compared. What differs on purpose is listed
here, and only here.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

import psycopg

from scim_server.storage.postgres import migrate
from scim_server.storage.sqlite import SqliteStorage
from tests.support.postgres import PostgresServer

# PostgreSQL's type -> the SQLite storage class that holds the same values.
# jsonb is JSON text, timestamptz is ISO 8601 text (rows.iso), boolean is 0/1.
STORED_AS = {
    "text": "text",
    "bigint": "integer",
    "integer": "integer",
    "boolean": "integer",
    "jsonb": "text",
    "timestamp with time zone": "text",
}
# seq orders a directory's resources: an identity column on PostgreSQL; on SQLite the
# INSERT assigns max(seq) + 1 within the directory, so the column has no default.
NO_DEFAULT_ON_SQLITE = {("users", "seq"), ("groups", "seq")}
# Not compared: CHECK constraints. PostgreSQL bounds indexed values to 512 characters
# (the B-tree entry limit; SQLite has none, the input policy enforces the limit on both).
LEDGER = "kubescim_migrations"

Schema = dict[str, dict[str, Any]]


def _sqlite_index(conn: sqlite3.Connection, name: str, unique: int) -> tuple[Any, ...]:
    columns = tuple(r[2] for r in conn.execute(f"PRAGMA index_info({name})"))
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (name,)).fetchone()[0]
    where = sql.split(" WHERE ", 1)[1] if " WHERE " in sql else None
    return bool(unique), columns, _predicate(where)


def _predicate(where: str | None) -> str | None:
    return re.sub(r"[()\s]+", " ", where).strip().lower() if where else None


def sqlite_schema(path: Path) -> Schema:
    out: Schema = {}
    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            if table == LEDGER or table.startswith("sqlite_"):
                continue
            info = conn.execute(f"PRAGMA table_info({table})").fetchall()
            out[table] = {
                "columns": {r[1]: (r[2].lower(), bool(r[3]), r[4]) for r in info},
                "primary_key": tuple(r[1] for r in sorted(info, key=lambda r: r[5]) if r[5]),
                "indexes": {
                    r[1]: _sqlite_index(conn, r[1], r[2])
                    for r in conn.execute(f"PRAGMA index_list({table})")
                    if r[3] != "pk"
                },
                "foreign_keys": {
                    ((r[3],), r[2], (r[4],), r[6].lower())
                    for r in conn.execute(f"PRAGMA foreign_key_list({table})")
                },
            }
    return out


_INDEXDEF = re.compile(r"CREATE (UNIQUE )?INDEX \S+ ON \S+ USING btree \(([^)]*)\)(?: WHERE (.*))?$")
_FKDEF = re.compile(r"FOREIGN KEY \(([^)]*)\) REFERENCES (\w+)\(([^)]*)\)(?: ON DELETE (\w+))?")


def _split(columns: str) -> tuple[str, ...]:
    return tuple(c.strip() for c in columns.split(","))


def _postgres_table(conn: psycopg.Connection[Any], table: str) -> dict[str, Any]:
    columns = {
        name: (STORED_AS[type_], nullable == "NO", None if default is None else str(default).split("::")[0])
        for name, type_, nullable, default in conn.execute(
            "SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name = %s",
            (table,),
        )
    }
    constraints = conn.execute(
        "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype IN ('p', 'f')",
        (table,),
    ).fetchall()
    pkey = next(name for name, type_, _ in constraints if type_ == "p")
    primary = next(d for _, type_, d in constraints if type_ == "p")
    foreign = set()
    for _, type_, definition in constraints:
        if type_ == "f":
            m = _FKDEF.search(definition)
            assert m is not None, definition
            foreign.add((_split(m[1]), m[2], _split(m[3]), (m[4] or "no action").lower()))
    indexes = {}
    for name, definition in conn.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = %s", (table,)
    ):
        if name == pkey:
            continue
        m = _INDEXDEF.search(definition)
        assert m is not None, definition
        indexes[name] = (bool(m[1]), _split(m[2]), _predicate(m[3]))
    return {
        "columns": columns,
        "primary_key": _split(primary.removeprefix("PRIMARY KEY (").removesuffix(")")),
        "indexes": indexes,
        "foreign_keys": foreign,
    }


def postgres_schema(url: str) -> Schema:
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            )
        ]
        return {t: _postgres_table(conn, t) for t in tables if t != LEDGER}


def _as_sqlite_would_declare(schema: Schema) -> Schema:
    """PostgreSQL's schema with the differences listed above applied."""
    for table, definition in schema.items():
        for column, (type_, not_null, default) in list(definition["columns"].items()):
            if (table, column) in NO_DEFAULT_ON_SQLITE:
                default = None
            definition["columns"][column] = (type_, not_null, default)
    return schema


def test_sqlite_and_postgresql_have_the_same_tables_columns_keys_and_indexes(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    url = postgres_server.create_database("equivalence")
    migrate(url)
    SqliteStorage(tmp_path / "equivalence.db").close()

    sqlite = sqlite_schema(tmp_path / "equivalence.db")
    postgres = _as_sqlite_would_declare(postgres_schema(url))

    assert (
        sorted(sqlite)
        == sorted(postgres)
        == [
            "event_streams",
            "events",
            "groups",
            "memberships",
            "users",
            "webhook_cursors",
            "webhook_dead_letters",
        ]
    )
    for table in postgres:
        assert sqlite[table] == postgres[table], table


def test_the_comparison_sees_the_drift_of_release_0365ddc(tmp_path: Path) -> None:
    release, current = tmp_path / "release.db", tmp_path / "current.db"
    with sqlite3.connect(release) as conn:
        conn.executescript((Path(__file__).parent / "data" / "sqlite-schema-0365ddc.sql").read_text())
    SqliteStorage(current).close()
    old, new = sqlite_schema(release), sqlite_schema(current)

    assert set(new["groups"]["indexes"]) - set(old["groups"]["indexes"]) == {"groups_external_id"}
    assert old["users"]["indexes"]["users_external_id"][2] is None
    assert old["memberships"]["foreign_keys"] == set()
    assert new["memberships"]["foreign_keys"] == {(("group_id",), "groups", ("id",), "cascade")}
