"""The PostgreSQL schema: migrations applied in order equal ``schema.sql``."""

from __future__ import annotations

import subprocess
from importlib import resources

import psycopg

from scim_server.storage.postgres import migrate, migrations
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
