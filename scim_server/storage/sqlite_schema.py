"""SQLite's migrations, applied when a database file is opened.

As on PostgreSQL, ``kubescim_migrations`` records the versions applied. A file written
before that table existed has release 0365ddc's schema (migration 1), and migration 2
too if the input-policy upgrade of a later build marked it with ``user_version`` 1.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from .sqlfiles import migrations

_LEDGER = (
    "CREATE TABLE kubescim_migrations "
    "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)"
)


def statements(script: str) -> Iterator[str]:
    """Split a script into statements (``executescript`` would commit our transaction)."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            yield buffer
            buffer = ""
    if any(line.strip() and not line.lstrip().startswith("--") for line in buffer.splitlines()):
        raise ValueError(f"incomplete SQL statement: {buffer.strip()[:80]!r}")


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
    return found.fetchone() is not None


def _applied(conn: sqlite3.Connection) -> set[int]:
    if _has_table(conn, "kubescim_migrations"):
        return {int(row[0]) for row in conn.execute("SELECT version FROM kubescim_migrations")}
    conn.execute(_LEDGER)
    if not _has_table(conn, "users"):
        return set()
    done = {1} if conn.execute("PRAGMA user_version").fetchone()[0] < 1 else {1, 2}
    conn.executemany("INSERT INTO kubescim_migrations (version) VALUES (?)", [(v,) for v in done])
    return done


def migrate(conn: sqlite3.Connection) -> list[int]:
    """Apply pending migrations in one transaction; return the versions applied.

    ``conn`` must be in autocommit mode (``isolation_level=None``) with ``scim_lower``
    registered. Raises sqlite3.Error, leaving the file as it was.
    """
    applied: list[int] = []
    conn.execute("BEGIN IMMEDIATE")
    try:
        done = _applied(conn)
        for version, script in migrations("sqlite"):
            if version in done:
                continue
            for statement in statements(script):
                conn.execute(statement)
            conn.execute("INSERT INTO kubescim_migrations (version) VALUES (?)", (version,))
            applied.append(version)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return applied
