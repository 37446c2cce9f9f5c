"""The SQLite schema: migrations applied in order equal ``schema.sql``; old files upgrade."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from scim_server.scim.errors import InvalidValue
from scim_server.scim.filter import parse_filter
from scim_server.scim.patch import MemberChange
from scim_server.scim.query import ListQuery
from scim_server.storage import sqlfiles
from scim_server.storage.sqlite import SqliteStorage
from scim_server.storage.sqlite_schema import migrate

RELEASE_0365DDC = Path(__file__).parent / "data" / "sqlite-schema-0365ddc.sql"


def schema_of(conn: sqlite3.Connection) -> list[tuple[str, str, str, str]]:
    """Every table and index as (type, name, table, SQL), SQL with quoting and spacing normalised."""
    rows = conn.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master "
        "WHERE name NOT LIKE 'sqlite_%' AND tbl_name <> 'kubescim_migrations' ORDER BY type, name"
    ).fetchall()
    return [(t, n, tbl, re.sub(r"\s+", " ", sql.replace('"', "")).strip().lower()) for t, n, tbl, sql in rows]


def _open(path: Path | str = ":memory:") -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.create_function("scim_lower", 1, str.lower, deterministic=True)
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def test_all_migrations_applied_equal_schema_sql() -> None:
    migrated, declared = _open(), _open()
    assert migrate(migrated) == [v for v, _ in sqlfiles.migrations("sqlite")]
    declared.executescript(sqlfiles.schema("sqlite"))
    assert schema_of(migrated) == schema_of(declared)


def test_migration_1_is_the_schema_of_release_0365ddc() -> None:
    release, first = _open(), _open()
    release.executescript(RELEASE_0365DDC.read_text())
    first.executescript(sqlfiles.migrations("sqlite")[0][1])
    assert schema_of(first) == schema_of(release)


def test_migrate_is_idempotent(tmp_path: Path) -> None:
    conn = _open(tmp_path / "twice.db")
    assert migrate(conn) != []
    assert migrate(conn) == []


def test_migrations_are_numbered_without_gaps() -> None:
    versions = [v for v, _ in sqlfiles.migrations("sqlite")]
    assert versions == list(range(1, len(versions) + 1))


def _write_release_file(path: Path) -> None:
    """A database file as release 0365ddc wrote it: its DDL, keys by str.lower(), no `active`."""
    with sqlite3.connect(path) as conn:
        conn.executescript(RELEASE_0365DDC.read_text())
        for seq, (uid, name) in enumerate([("u1", "ΝΙΚΟΣ"), ("u2", "bjensen")], start=1):
            conn.execute(
                "INSERT INTO users (directory_id, id, seq, user_name, user_name_key, external_id, data, "
                "created, last_modified) VALUES ('legacy', ?, ?, ?, ?, ?, ?, "
                "'2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z')",
                (uid, seq, name, name.lower(), f"ext-{uid}", json.dumps({"userName": name})),
            )
        conn.execute(
            "INSERT INTO groups (directory_id, id, seq, display_name, display_name_key, data, created, "
            "last_modified) VALUES ('legacy', 'g1', 1, 'ΟΜΑΔΑΣ', 'ομαδας', ?, "
            "'2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z')",
            (json.dumps({"displayName": "ΟΜΑΔΑΣ"}),),
        )
        conn.executemany(
            "INSERT INTO memberships (directory_id, group_id, member_id, member_type) VALUES (?, ?, ?, ?)",
            [("legacy", "g1", "u1", "User"), ("legacy", "g1", "u2", "User")],
        )


def test_a_file_of_release_0365ddc_is_migrated_and_its_data_read_and_written(tmp_path: Path) -> None:
    path = tmp_path / "release.db"
    _write_release_file(path)

    storage = SqliteStorage(path)
    try:
        with sqlite3.connect(path) as conn:
            versions = [r[0] for r in conn.execute("SELECT version FROM kubescim_migrations ORDER BY 1")]
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
            assert schema_of(conn) == schema_of(_declared())
        assert versions == [v for v, _ in sqlfiles.migrations("sqlite")]

        user = storage.get("legacy", "User", "u1")
        assert user["userName"] == "ΝΙΚΟΣ"
        assert user["active"] is True
        assert [g["value"] for g in user["groups"]] == ["g1"]
        group = storage.get("legacy", "Group", "g1")
        assert sorted(m["value"] for m in group["members"]) == ["u1", "u2"]
        found = storage.query("legacy", "User", ListQuery(filter=parse_filter('externalId eq "ext-u2"')))
        assert [r["id"] for r in found.resources] == ["u2"]

        new = storage.create("legacy", "User", {"userName": "νέος", "active": True})
        patched = storage.patch(
            "legacy", "Group", "g1", None, [MemberChange("add", (new["id"],))], if_match=None, members=True
        )
        assert sorted(m["value"] for m in patched["members"]) == sorted(["u1", "u2", new["id"]])
        with pytest.raises(InvalidValue):
            storage.create("legacy", "Group", {"displayName": "x", "members": [{"value": "nobody"}]})
        storage.delete("legacy", "Group", "g1", if_match=None)
        assert "groups" not in storage.get("legacy", "User", "u1")
    finally:
        storage.close()


def test_a_reopened_file_is_not_migrated_again(tmp_path: Path) -> None:
    path = tmp_path / "reopened.db"
    SqliteStorage(path).close()
    with sqlite3.connect(path) as conn:
        before = conn.execute("SELECT version, applied_at FROM kubescim_migrations").fetchall()
    SqliteStorage(path).close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version, applied_at FROM kubescim_migrations").fetchall() == before


def _declared() -> sqlite3.Connection:
    conn = _open()
    conn.executescript(sqlfiles.schema("sqlite"))
    return conn


def test_a_file_of_the_build_that_upgraded_ad_hoc_gets_only_the_later_migrations(tmp_path: Path) -> None:
    path = tmp_path / "adhoc.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(RELEASE_0365DDC.read_text())
        conn.execute("PRAGMA user_version = 1")  # how that build marked its input-policy upgrade

    every = [v for v, _ in sqlfiles.migrations("sqlite")]
    assert migrate(_open(path)) == every[2:]
    with sqlite3.connect(path) as conn:
        assert [r[0] for r in conn.execute("SELECT version FROM kubescim_migrations ORDER BY 1")] == every
        assert schema_of(conn) == schema_of(_declared())
