"""SQLite storage: the embedded default for a local run and for quick tests.

One connection per thread, WAL journal so readers never wait for the writer, and
``BEGIN IMMEDIATE`` around every write so gunicorn workers serialise cleanly.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..scim.casefold import fold
from ..scim.errors import InvalidValue, NotFound
from ..scim.patch import MemberChange
from ..scim.query import ListQuery
from .base import DirectoryStats, Kind, Mutator, Page, ReplaceByPatch, Resource
from .integrity import check_violation, foreign_key_violation, unique_violation
from .rows import (
    check_version,
    group_columns,
    group_entry,
    group_resource,
    iso,
    member_entry,
    now,
    user_columns,
    user_resource,
)
from .sqlfilter import SqliteFilterCompiler
from .sqlite_schema import migrate

_USER_GROUPS = """(SELECT json_group_array(json_array(m.group_id, g.display_name))
    FROM memberships m JOIN groups g ON g.directory_id = m.directory_id AND g.id = m.group_id
    WHERE m.directory_id = r.directory_id AND m.member_id = r.id)"""
_GROUP_MEMBERS = """(SELECT json_group_array(json_array(m.member_id, m.member_type))
    FROM memberships m WHERE m.directory_id = r.directory_id AND m.group_id = r.id)"""
_COLUMNS = "r.id, r.data, r.created, r.last_modified, r.version"


def _lower(value: Any) -> Any:
    return fold(value) if isinstance(value, str) else value


class SqliteStorage(ReplaceByPatch):
    """A file-backed store; ``path`` ``:memory:`` is not shared between threads."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        migrate(self._connection())

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.create_function("scim_lower", 1, _lower, deterministic=True)
            self._local.conn = conn
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; every database error of a write is mapped here."""
        conn = self._connection()
        with _mapped_errors():
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def ping(self) -> None:
        self._connection().execute("SELECT 1").fetchone()

    # -- rendering ----------------------------------------------------------------------
    @staticmethod
    def _render(kind: Kind, row: tuple[Any, ...]) -> Resource:
        id_, data, created, modified, version, related = row
        doc = json.loads(data)
        items = json.loads(related) if related else None
        if kind == "User":
            groups = [group_entry(g, name) for g, name in items] if items else None
            return user_resource(id_, doc, created, modified, version, groups)
        members = [member_entry(m, t) for m, t in items] if items else None
        return group_resource(id_, doc, created, modified, version, members)

    def _select(self, kind: Kind, related: bool) -> str:
        if kind == "User":
            extra = _USER_GROUPS if related else "NULL"
            return f"SELECT {_COLUMNS}, {extra} FROM users r"
        extra = _GROUP_MEMBERS if related else "NULL"
        return f"SELECT {_COLUMNS}, {extra} FROM groups r"

    # -- create ---------------------------------------------------------------------------
    def create(self, directory: str, kind: Kind, doc: dict[str, Any]) -> Resource:
        new_id = str(uuid.uuid4())
        ts = iso(now())
        with self._write() as conn:
            if kind == "User":
                c = user_columns(doc)
                conn.execute(
                    "INSERT INTO users (directory_id, id, seq, user_name, user_name_key, external_id, "
                    "display_name, active, data, created, last_modified) VALUES (?, ?, "
                    "(SELECT COALESCE(max(seq), 0) + 1 FROM users WHERE directory_id = ?), "
                    "?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        directory,
                        new_id,
                        directory,
                        c["user_name"],
                        c["user_name_key"],
                        c["external_id"],
                        c["display_name"],
                        c["active"],
                        json.dumps(doc),
                        ts,
                        ts,
                    ),
                )
                return user_resource(new_id, doc, ts, ts, 1, None)
            members = [m["value"] for m in doc.get("members") or []]
            data = {k: v for k, v in doc.items() if k != "members"}
            c = group_columns(data)
            conn.execute(
                "INSERT INTO groups (directory_id, id, seq, display_name, display_name_key, "
                "external_id, data, created, last_modified) VALUES (?, ?, "
                "(SELECT COALESCE(max(seq), 0) + 1 FROM groups WHERE directory_id = ?), "
                "?, ?, ?, ?, ?, ?)",
                (
                    directory,
                    new_id,
                    directory,
                    c["display_name"],
                    c["display_name_key"],
                    c["external_id"],
                    json.dumps(data),
                    ts,
                    ts,
                ),
            )
            self._add_members(conn, directory, new_id, members)
        return self.get(directory, kind, new_id)

    # -- read -------------------------------------------------------------------------------
    def get(self, directory: str, kind: Kind, id: str, *, members: bool = True) -> Resource:
        row = (
            self._connection()
            .execute(
                f"{self._select(kind, members)} WHERE r.directory_id = ? AND r.id = ?",
                (directory, id),
            )
            .fetchone()
        )
        if row is None:
            raise NotFound(f"{kind} {id!r} not found")
        return self._render(kind, row)

    def query(self, directory: str, kind: Kind, query: ListQuery) -> Page:
        compiler = SqliteFilterCompiler(kind)
        where = "r.directory_id = ?"
        params: list[Any] = [directory]
        if query.filter is not None:
            sql, fparams = compiler.compile(query.filter)
            where += f" AND {sql}"
            params.extend(fparams)
        table = "users" if kind == "User" else "groups"
        conn = self._connection()
        total_row = conn.execute(f"SELECT count(*) FROM {table} r WHERE {where}", params).fetchone()
        total = int(total_row[0]) if total_row else 0
        if query.count == 0 or total == 0:
            return Page(total, [])
        order = "r.seq"
        order_params: list[Any] = []
        if query.sort_by is not None:
            compiler.params = []
            expr = compiler.sort_expr(query.sort_by)
            order_params = compiler.params
            direction = "DESC" if query.descending else "ASC"
            order = f"{expr} IS NULL, {expr} {direction}, r.seq"
        related = query.projection.wants(None, "groups" if kind == "User" else "members")
        rows = conn.execute(
            f"{self._select(kind, related)} WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",
            [*params, *order_params, query.count, query.start_index - 1],
        ).fetchall()
        return Page(total, [self._render(kind, row) for row in rows])

    # -- replace / patch ----------------------------------------------------------------------
    def patch(
        self,
        directory: str,
        kind: Kind,
        id: str,
        mutate: Mutator | None,
        changes: list[MemberChange],
        *,
        if_match: str | None,
        members: bool,
    ) -> Resource:
        table = "users" if kind == "User" else "groups"
        ts = iso(now())
        with self._write() as conn:
            row = conn.execute(
                f"SELECT data, version FROM {table} WHERE directory_id = ? AND id = ?",
                (directory, id),
            ).fetchone()
            if row is None:
                raise NotFound(f"{kind} {id!r} not found")
            check_version(if_match, int(row[1]))
            before = conn.total_changes
            current = json.loads(row[0])
            data = mutate(current) if mutate is not None else current
            if data != current:
                if kind == "User":
                    c = user_columns(data)
                    conn.execute(
                        "UPDATE users SET user_name = ?, user_name_key = ?, external_id = ?, "
                        "display_name = ?, active = ?, data = ? WHERE directory_id = ? AND id = ?",
                        (
                            c["user_name"],
                            c["user_name_key"],
                            c["external_id"],
                            c["display_name"],
                            c["active"],
                            json.dumps(data),
                            directory,
                            id,
                        ),
                    )
                else:
                    c = group_columns(data)
                    conn.execute(
                        "UPDATE groups SET display_name = ?, display_name_key = ?, external_id = ?, "
                        "data = ? WHERE directory_id = ? AND id = ?",
                        (
                            c["display_name"],
                            c["display_name_key"],
                            c["external_id"],
                            json.dumps(data),
                            directory,
                            id,
                        ),
                    )
            for change in changes:
                self._apply_change(conn, directory, id, change)
            # A PATCH that changes nothing (a remove matching no member) keeps the version.
            if conn.total_changes != before:
                conn.execute(
                    f"UPDATE {table} SET version = version + 1, last_modified = ? "
                    "WHERE directory_id = ? AND id = ?",
                    (ts, directory, id),
                )
        return self.get(directory, kind, id, members=members)

    def _add_members(self, conn: sqlite3.Connection, directory: str, group: str, ids: list[str]) -> None:
        if not ids:
            return
        ids = list(dict.fromkeys(ids))
        wanted = json.dumps(ids)
        known = conn.execute(
            "SELECT id, 'User' FROM users WHERE directory_id = ? AND id IN (SELECT value FROM json_each(?)) "
            "UNION ALL SELECT id, 'Group' FROM groups WHERE directory_id = ? "
            "AND id IN (SELECT value FROM json_each(?))",
            (directory, wanted, directory, wanted),
        ).fetchall()
        if len(known) != len(ids):
            found = {k[0] for k in known}
            missing = [i for i in ids if i not in found]
            raise InvalidValue(f"members not found in this directory: {', '.join(missing[:10])}")
        conn.executemany(
            "INSERT OR IGNORE INTO memberships (directory_id, group_id, member_id, member_type) "
            "VALUES (?, ?, ?, ?)",
            [(directory, group, member, kind) for member, kind in known],
        )

    def _apply_change(
        self, conn: sqlite3.Connection, directory: str, group: str, change: MemberChange
    ) -> None:
        ids = json.dumps(list(change.ids))
        if change.kind == "add":
            self._add_members(conn, directory, group, list(change.ids))
        elif change.kind == "remove":
            conn.execute(
                "DELETE FROM memberships WHERE directory_id = ? AND group_id = ? "
                "AND member_id IN (SELECT value FROM json_each(?))",
                (directory, group, ids),
            )
        elif change.kind == "replace":
            conn.execute(
                "DELETE FROM memberships WHERE directory_id = ? AND group_id = ? "
                "AND member_id NOT IN (SELECT value FROM json_each(?))",
                (directory, group, ids),
            )
            self._add_members(conn, directory, group, list(change.ids))
        else:
            assert change.filter is not None
            sql, params = SqliteFilterCompiler("Group").compile_member_filter(change.filter)
            conn.execute(
                f"DELETE FROM memberships AS m1 WHERE m1.directory_id = ? AND m1.group_id = ? AND {sql}",
                [directory, group, *params],
            )

    # -- delete / stats ----------------------------------------------------------------------
    def delete(self, directory: str, kind: Kind, id: str, *, if_match: str | None) -> None:
        table = "users" if kind == "User" else "groups"
        with self._write() as conn:
            row = conn.execute(
                f"SELECT version FROM {table} WHERE directory_id = ? AND id = ?", (directory, id)
            ).fetchone()
            if row is None:
                raise NotFound(f"{kind} {id!r} not found")
            check_version(if_match, int(row[0]))
            conn.execute(
                "UPDATE groups SET version = version + 1, last_modified = ? WHERE directory_id = ? "
                "AND id IN (SELECT group_id FROM memberships WHERE directory_id = ? AND member_id = ?)",
                (iso(now()), directory, directory, id),
            )
            conn.execute("DELETE FROM memberships WHERE directory_id = ? AND member_id = ?", (directory, id))
            if kind == "Group":
                conn.execute(
                    "DELETE FROM memberships WHERE directory_id = ? AND group_id = ?",
                    (directory, id),
                )
            conn.execute(f"DELETE FROM {table} WHERE directory_id = ? AND id = ?", (directory, id))

    def stats(self, directory: str) -> DirectoryStats:
        from .rows import parse_time

        row = (
            self._connection()
            .execute(
                "SELECT (SELECT count(*) FROM users WHERE directory_id = ?1), "
                "(SELECT count(*) FROM groups WHERE directory_id = ?1), "
                "max(COALESCE((SELECT max(last_modified) FROM users WHERE directory_id = ?1), ''), "
                "COALESCE((SELECT max(last_modified) FROM groups WHERE directory_id = ?1), ''))",
                (directory,),
            )
            .fetchone()
        )
        assert row is not None
        return DirectoryStats(int(row[0]), int(row[1]), parse_time(row[2]) if row[2] else None)

    def purge_inactive(self, directory: str) -> int:
        with self._write() as conn:
            ids = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM users WHERE directory_id = ? AND active = 0", (directory,)
                ).fetchall()
            ]
            wanted = json.dumps(ids)
            conn.execute(
                "UPDATE groups SET version = version + 1, last_modified = ? WHERE id IN "
                "(SELECT group_id FROM memberships WHERE member_id IN (SELECT value FROM json_each(?)))",
                (iso(now()), wanted),
            )
            conn.execute(
                "DELETE FROM memberships WHERE member_id IN (SELECT value FROM json_each(?))", (wanted,)
            )
            conn.execute(
                "DELETE FROM users WHERE directory_id = ? AND id IN (SELECT value FROM json_each(?))",
                (directory, wanted),
            )
        return len(ids)

    def delete_directory(self, directory: str) -> None:
        with self._write() as conn:
            for table in ("memberships", "groups", "users"):
                conn.execute(f"DELETE FROM {table} WHERE directory_id = ?", (directory,))


@contextmanager
def _mapped_errors() -> Iterator[None]:
    """Map constraint violations to SCIM errors, by SQLite's extended error code."""
    try:
        yield
    except sqlite3.IntegrityError as exc:
        message = str(exc)
        kind = getattr(exc, "sqlite_errorname", "")
        if kind == "SQLITE_CONSTRAINT_FOREIGNKEY":
            raise foreign_key_violation(message) from None
        if kind == "SQLITE_CONSTRAINT_CHECK":
            raise check_violation(message) from None
        raise unique_violation(message) from None
