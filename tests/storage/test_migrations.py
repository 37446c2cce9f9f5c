"""The PostgreSQL schema: migrations applied in order equal ``schema.sql``."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from importlib import resources
from pathlib import Path

import psycopg

from scim_server.scim.filter import parse_filter
from scim_server.scim.query import ListQuery
from scim_server.storage import Storage, open_storage
from scim_server.storage.postgres import migrate, migrations
from scim_server.storage.sqlfiles import migrations as sqlite_migrations
from scim_server.storage.sqlite import SqliteStorage
from tests.support.postgres import PostgresServer


def dump_schema(server: PostgresServer, url: str) -> str:
    database = url.rsplit("/", 1)[1]
    out = subprocess.run(
        [
            str(server.bindir / "pg_dump"),
            "--schema-only",
            "--no-owner",
            "--exclude-table=kubescim_migrations",
            "-h",
            "127.0.0.1",
            "-p",
            str(server.port),
            "-U",
            "postgres",
            database,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    skip = ("--", "\\restrict", "\\unrestrict")
    return "\n".join(line for line in out.splitlines() if line.strip() and not line.startswith(skip))


def test_all_migrations_applied_equal_schema_sql(postgres_server: PostgresServer) -> None:
    migrated = postgres_server.create_database("migrated")
    assert migrate(migrated) == [v for v, _ in migrations()]
    declared = postgres_server.create_database("declared")
    schema = (resources.files("scim_server.storage") / "sql" / "schema.sql").read_text()
    with psycopg.connect(declared, autocommit=True) as conn:
        conn.execute(schema.encode())
    assert dump_schema(postgres_server, migrated) == dump_schema(postgres_server, declared)


def test_migrate_is_idempotent(postgres_server: PostgresServer) -> None:
    url = postgres_server.create_database("twice")
    assert migrate(url) != []
    assert migrate(url) == []


def test_migrations_are_numbered_without_gaps() -> None:
    versions = [v for v, _ in migrations()]
    assert versions == list(range(1, len(versions) + 1))


LEGACY_USER = json.dumps({"userName": "ΝΙΚΟΣ"})  # stored before active defaulted, keyed by str.lower()
LEGACY_GROUP = json.dumps({"displayName": "ΟΜΑΔΑΣ"})


def _assert_upgraded(storage: Storage) -> None:
    user = storage.get("legacy", "User", "u1")
    assert user["active"] is True
    found = storage.query(
        "legacy", "User", ListQuery(filter=parse_filter('userName eq "νικοσ" and active eq true'))
    )
    assert [r["id"] for r in found.resources] == ["u1"]
    groups = storage.query("legacy", "Group", ListQuery(filter=parse_filter('displayName eq "ομαδασ"')))
    assert [r["id"] for r in groups.resources] == ["g1"]


def test_migration_2_writes_out_active_and_refolds_keys_of_existing_rows(
    postgres_server: PostgresServer,
) -> None:
    url = postgres_server.create_database("upgraded")
    (first, initial), *_ = migrations()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(initial.encode())
        conn.execute(
            "CREATE TABLE kubescim_migrations "
            "(version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        conn.execute("INSERT INTO kubescim_migrations (version) VALUES (%s)", (first,))
        conn.execute(
            "INSERT INTO users (id, directory_id, user_name, user_name_key, data, created, last_modified) "
            "VALUES ('u1', 'legacy', 'ΝΙΚΟΣ', 'νικος', %s, now(), now())",
            (LEGACY_USER,),
        )
        conn.execute(
            "INSERT INTO groups (id, directory_id, display_name, display_name_key, data, created, "
            "last_modified) VALUES ('g1', 'legacy', 'ΟΜΑΔΑΣ', 'ομαδας', %s, now(), now())",
            (LEGACY_GROUP,),
        )

    assert migrate(url) == [v for v, _ in migrations()][1:]
    storage = open_storage(url)
    try:
        _assert_upgraded(storage)
    finally:
        storage.close()


def test_sqlite_upgrades_existing_rows_once_like_migration_2(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(sqlite_migrations("sqlite")[0][1])  # the schema before migration 2
        conn.execute(
            "INSERT INTO users (directory_id, id, seq, user_name, user_name_key, data, created, "
            "last_modified) VALUES ('legacy', 'u1', 1, 'ΝΙΚΟΣ', 'νικος', ?, '', '')",
            (LEGACY_USER,),
        )
        conn.execute(
            "INSERT INTO groups (directory_id, id, seq, display_name, display_name_key, data, created, "
            "last_modified) VALUES ('legacy', 'g1', 1, 'ΟΜΑΔΑΣ', 'ομαδας', ?, '', '')",
            (LEGACY_GROUP,),
        )

    storage = SqliteStorage(path)
    try:
        _assert_upgraded(storage)
    finally:
        storage.close()
