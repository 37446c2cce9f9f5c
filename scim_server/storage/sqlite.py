"""SQLite storage: the embedded default for a local run and for quick tests.

One connection per thread, WAL journal so readers never wait for the writer, and
``BEGIN IMMEDIATE`` around every write so gunicorn workers serialise cleanly. The
schema is ``sql/sqlite/``, migrated when the file is opened (``sqlite_schema``).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

from ..events.model import DIRECTORY_DELETED, Change, resource_change
from ..scim.casefold import fold
from ..scim.errors import InvalidValue
from ..scim.patch import MemberChange
from ..scim.query import ListQuery
from .base import DirectoryStats, Kind, Mutator, Page, Resource
from .changes import MemberDelta
from .exported import Exported, exported
from .integrity import check_violation, foreign_key_violation, unique_violation
from .rows import group_columns, group_resource, iso, now, parse_time, user_columns, user_resource
from .sqlbase import RELATED, TABLES, SqlStorage
from .sqlfilter import SqliteFilterCompiler
from .sqlite_schema import migrate

_USER_GROUPS = """(SELECT json_group_array(json_array(m.group_id, g.display_name))
    FROM memberships m JOIN groups g ON g.directory_id = m.directory_id AND g.id = m.group_id
    WHERE m.directory_id = r.directory_id AND m.member_id = r.id)"""
_GROUP_MEMBERS = """(SELECT json_group_array(json_array(m.member_id, m.member_type))
    FROM memberships m WHERE m.directory_id = r.directory_id AND m.group_id = r.id)"""
_COLUMNS = "r.id, r.data, r.created, r.last_modified, r.version"
_SELECT: dict[tuple[Kind, bool], str] = {
    ("User", True): f"SELECT {_COLUMNS}, {_USER_GROUPS} FROM users r",
    ("User", False): f"SELECT {_COLUMNS}, NULL FROM users r",
    ("Group", True): f"SELECT {_COLUMNS}, {_GROUP_MEMBERS} FROM groups r",
    ("Group", False): f"SELECT {_COLUMNS}, NULL FROM groups r",
}
_BY_ID = "WHERE r.directory_id = ? AND r.id = ?"
_INSERT_USER = """INSERT INTO users (directory_id, id, seq, user_name, user_name_key, external_id,
    display_name, active, data, created, last_modified) VALUES (:d, :id,
    (SELECT COALESCE(max(seq), 0) + 1 FROM users WHERE directory_id = :d),
    :user_name, :user_name_key, :external_id, :display_name, :active, :data, :ts, :ts)"""
_INSERT_GROUP = """INSERT INTO groups (directory_id, id, seq, display_name, display_name_key,
    external_id, data, created, last_modified) VALUES (:d, :id,
    (SELECT COALESCE(max(seq), 0) + 1 FROM groups WHERE directory_id = :d),
    :display_name, :display_name_key, :external_id, :data, :ts, :ts)"""
_RESTORE_USER = _INSERT_USER.replace("created, last_modified)", "created, last_modified, version)").replace(
    ":ts, :ts)", ":created, :modified, :version)"
)
_RESTORE_GROUP = _INSERT_GROUP.replace("created, last_modified)", "created, last_modified, version)").replace(
    ":ts, :ts)", ":created, :modified, :version)"
)
# A member's type is looked up, not trusted: the row is only inserted when the id is a
# User or Group of the directory.
_RESTORE_MEMBER = """INSERT INTO memberships (directory_id, group_id, member_id, member_type)
    SELECT ?1, ?2, id, 'User' FROM users WHERE directory_id = ?1 AND id = ?3
    UNION ALL SELECT ?1, ?2, id, 'Group' FROM groups WHERE directory_id = ?1 AND id = ?3"""
# The members named (a JSON array of ids) that exist in the directory, by primary key.
# CROSS JOIN keeps json_each the outer loop: otherwise SQLite may read the directory's
# users through an index on directory_id and test each against the list.
_KNOWN_MEMBERS = """SELECT u.id, 'User' FROM json_each(?) AS w CROSS JOIN users AS u
    ON u.id = w.value WHERE u.directory_id = ?
    UNION ALL SELECT g.id, 'Group' FROM json_each(?) AS w CROSS JOIN groups AS g
    ON g.id = w.value WHERE g.directory_id = ?"""
_UPDATE = {
    "User": """UPDATE users SET user_name = :user_name, user_name_key = :user_name_key,
        external_id = :external_id, display_name = :display_name, active = :active, data = :data
        WHERE directory_id = :d AND id = :id""",
    "Group": """UPDATE groups SET display_name = :display_name, display_name_key = :display_name_key,
        external_id = :external_id, data = :data WHERE directory_id = :d AND id = :id""",
}
_COLUMNS_OF = {"User": user_columns, "Group": group_columns}


def _lower(value: Any) -> Any:
    return fold(value) if isinstance(value, str) else value


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


class SqliteStorage(SqlStorage):
    """A file-backed store; ``path`` ``:memory:`` is not shared between threads."""

    get_sql: ClassVar = {key: f"{select} {_BY_ID}" for key, select in _SELECT.items()}
    lock_sql: ClassVar = {k: f"SELECT data, version FROM {t} r {_BY_ID}" for k, t in TABLES.items()}
    version_sql: ClassVar = {k: f"SELECT version FROM {t} r {_BY_ID}" for k, t in TABLES.items()}
    select_sql: ClassVar = _SELECT
    param = "?"
    sort_order = "{expr} IS NULL, {expr} {direction}, r.seq"
    json_as_text = True

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
    def _transaction(self) -> Iterator[sqlite3.Connection]:
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

    def _read(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self._connection().execute(sql, params).fetchone()
        return row

    def _read_all(self, sql: str, params: tuple[Any, ...] | list[Any]) -> list[tuple[Any, ...]]:
        return self._connection().execute(sql, params).fetchall()

    def _json(self, value: Any) -> str:
        return json.dumps(value)

    def _users_by_ids(
        self, conn: sqlite3.Connection, directory: str, ids: list[str], *, groups: bool = True
    ) -> Iterator[Resource]:
        # ``+r.directory_id``: found by primary key from the list, never by scanning the
        # directory's users through an index on directory_id.
        rows = conn.execute(
            f"{_SELECT['User', groups]} WHERE r.id IN (SELECT value FROM json_each(?)) "
            "AND +r.directory_id = ?",
            (json.dumps(ids), directory),
        ).fetchall()
        return (self._render("User", row) for row in rows)

    def _compiler(self, kind: Kind) -> SqliteFilterCompiler:
        return SqliteFilterCompiler(kind)

    def _now(self) -> str:
        return iso(now())

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def ping(self) -> None:
        self._connection().execute("SELECT 1").fetchone()

    # -- create / query -----------------------------------------------------------------
    def create(self, directory: str, kind: Kind, doc: dict[str, Any]) -> Resource:
        new_id = str(uuid.uuid4())
        ts = self._now()
        with self._transaction() as conn:
            if kind == "User":
                conn.execute(
                    _INSERT_USER,
                    {"d": directory, "id": new_id, "data": json.dumps(doc), "ts": ts} | user_columns(doc),
                )
                created = user_resource(new_id, doc, ts, ts, 1, None)
                self._emit(conn, directory, [resource_change("User", "created", created)])
                return created
            members = [m["value"] for m in doc.get("members") or []]
            data = {k: v for k, v in doc.items() if k != "members"}
            conn.execute(
                _INSERT_GROUP,
                {"d": directory, "id": new_id, "data": json.dumps(data), "ts": ts} | group_columns(data),
            )
            delta = self._add_members(conn, directory, new_id, members)
            group = group_resource(new_id, data, ts, ts, 1, None)
            events = [resource_change("Group", "created", group)]
            self._emit(conn, directory, events + self._membership_changes(conn, directory, group, delta))
        return self.get(directory, kind, new_id)

    def restore_many(self, directory: str, kind: Kind, docs: Sequence[dict[str, Any]]) -> None:
        items = [exported(kind, doc) for doc in docs]
        columns = _COLUMNS_OF[kind]
        rows = [
            {
                "d": directory,
                "id": e.id,
                "data": json.dumps(e.data),
                "created": iso(e.created),
                "modified": iso(e.last_modified),
                "version": e.version or 1,
            }
            | columns(e.data)
            for e in items
        ]
        with self._transaction() as conn:
            conn.executemany(_RESTORE_USER if kind == "User" else _RESTORE_GROUP, rows)
            if kind == "Group":
                self._restore_members(conn, directory, items)

    @staticmethod
    def _restore_members(conn: sqlite3.Connection, directory: str, groups: list[Exported]) -> None:
        """Insert the groups' memberships. Raises InvalidValue for a member not in the directory."""
        pairs = [(directory, g.id, member) for g in groups for member in g.members]
        before = conn.total_changes
        conn.executemany(_RESTORE_MEMBER, pairs)
        if conn.total_changes - before == len(pairs):
            return
        missing = [
            member
            for _, group, member in pairs
            if conn.execute(
                "SELECT 1 FROM memberships WHERE group_id = ? AND member_id = ?", (group, member)
            ).fetchone()
            is None
        ]
        raise InvalidValue(f"members not found in this directory: {', '.join(missing[:10])}")

    def _page(
        self, kind: Kind, where: str, params: list[Any], order: str, order_params: list[Any], query: ListQuery
    ) -> Page:
        conn = self._connection()
        count = f"SELECT count(*) FROM {TABLES[kind]} r WHERE {where}"
        total_row = conn.execute(count, params).fetchone()
        total = int(total_row[0]) if total_row else 0
        if query.count == 0 or total == 0:
            return Page(total, [])
        related = query.projection.wants(None, RELATED[kind])
        rows = conn.execute(
            f"{_SELECT[kind, related]} WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",
            [*params, *order_params, query.count, query.start_index - 1],
        ).fetchall()
        return Page(total, [self._render(kind, row) for row in rows])

    # -- patch ----------------------------------------------------------------------------
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
        self._patch_locked(directory, kind, id, mutate, changes, if_match)
        return self.get(directory, kind, id, members=members)

    def _update_attributes(
        self, conn: sqlite3.Connection, directory: str, kind: Kind, id: str, data: dict[str, Any]
    ) -> None:
        conn.execute(
            _UPDATE[kind], {"d": directory, "id": id, "data": json.dumps(data)} | _COLUMNS_OF[kind](data)
        )

    def _touch(self, conn: sqlite3.Connection, directory: str, kind: Kind, id: str, ts: Any) -> None:
        conn.execute(
            f"UPDATE {TABLES[kind]} SET version = version + 1, last_modified = ? "
            "WHERE directory_id = ? AND id = ?",
            (ts, directory, id),
        )

    def _add_members(
        self, conn: sqlite3.Connection, directory: str, group: str, ids: list[str]
    ) -> MemberDelta:
        """Add members; return those that were new. Raises InvalidValue for an unknown one."""
        if not ids:
            return MemberDelta()
        ids = list(dict.fromkeys(ids))
        wanted = json.dumps(ids)
        known = conn.execute(_KNOWN_MEMBERS, (wanted, directory, wanted, directory)).fetchall()
        if len(known) != len(ids):
            found = {k[0] for k in known}
            missing = [i for i in ids if i not in found]
            raise InvalidValue(f"members not found in this directory: {', '.join(missing[:10])}")
        added = conn.execute(
            "INSERT INTO memberships (directory_id, group_id, member_id, member_type) "
            "SELECT ?, ?, json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?) "
            "WHERE true ON CONFLICT DO NOTHING RETURNING member_id, member_type",
            (directory, group, json.dumps([list(k) for k in known])),
        ).fetchall()
        return MemberDelta(added=[(m, t) for m, t in added])

    def _apply_change(
        self, conn: sqlite3.Connection, directory: str, group: str, change: MemberChange, ts: Any
    ) -> MemberDelta:
        ids = json.dumps(list(change.ids))
        if change.kind == "add":
            return self._add_members(conn, directory, group, list(change.ids))
        if change.kind == "remove":
            return _removed(
                conn,
                "DELETE FROM memberships WHERE directory_id = ? AND group_id = ? "
                "AND member_id IN (SELECT value FROM json_each(?))",
                [directory, group, ids],
            )
        if change.kind == "replace":
            removed = _removed(
                conn,
                "DELETE FROM memberships WHERE directory_id = ? AND group_id = ? "
                "AND member_id NOT IN (SELECT value FROM json_each(?))",
                [directory, group, ids],
            )
            return removed.merge(self._add_members(conn, directory, group, list(change.ids)))
        assert change.filter is not None
        sql, params = SqliteFilterCompiler("Group").compile_member_filter(change.filter)
        return _removed(
            conn,
            f"DELETE FROM memberships AS m1 WHERE m1.directory_id = ? AND m1.group_id = ? AND {sql}",
            [directory, group, *params],
        )

    # -- delete / stats ----------------------------------------------------------------------
    def _delete_rows(self, conn: sqlite3.Connection, directory: str, kind: Kind, id: str, ts: Any) -> None:
        conn.execute(
            # By the member's memberships (the groups share their directory): a condition on
            # groups.directory_id would let SQLite read the directory's groups instead.
            "UPDATE groups SET version = version + 1, last_modified = ? "
            "WHERE id IN (SELECT group_id FROM memberships WHERE directory_id = ? AND member_id = ?)",
            (ts, directory, id),
        )
        conn.execute("DELETE FROM memberships WHERE directory_id = ? AND member_id = ?", (directory, id))
        # A group's own memberships go with it (the foreign key cascades).
        conn.execute(f"DELETE FROM {TABLES[kind]} WHERE directory_id = ? AND id = ?", (directory, id))

    def stats(self, directory: str) -> DirectoryStats:
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
        with self._transaction() as conn:
            ids = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM users WHERE directory_id = ? AND active = 0", (directory,)
                ).fetchall()
            ]
            gone = list(self._users_by_ids(conn, directory, ids)) if ids else []
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
            self._emit(conn, directory, [resource_change("User", "deleted", u) for u in gone])
        return len(ids)

    def delete_directory(self, directory: str) -> None:
        with self._transaction() as conn:
            # Every membership belongs to a group of its directory: found through them.
            conn.execute(
                "DELETE FROM memberships WHERE group_id IN (SELECT id FROM groups WHERE directory_id = ?)",
                (directory,),
            )
            for table in ("groups", "users"):
                conn.execute(f"DELETE FROM {table} WHERE directory_id = ?", (directory,))
            self._emit(conn, directory, [Change(DIRECTORY_DELETED, {"directory": directory})])
            self._set_active(conn, directory, False)


def _removed(conn: sqlite3.Connection, sql: str, params: list[Any]) -> MemberDelta:
    """Run a membership DELETE; return the members it removed."""
    rows = conn.execute(f"{sql} RETURNING member_id, member_type", params).fetchall()
    return MemberDelta(removed=[(m, t) for m, t in rows])
