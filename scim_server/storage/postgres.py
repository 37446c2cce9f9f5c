"""PostgreSQL storage: psycopg 3 with one pool per process, plain-SQL migrations.

Reads are single autocommit statements (one round trip). Writes of a user are
optimistic: read, compute, ``UPDATE ... WHERE version = <read>``, retried on a lost
race, so no update is lost without holding row locks across Python. A single member
add/remove is one statement whose CTEs validate members, change the relation and bump
the group's version together, so it costs O(changed members) at any group size.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from typing import Any, ClassVar

import psycopg
from psycopg import errors as pg_errors
from psycopg.rows import tuple_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from ..events.model import DIRECTORY_DELETED, Change, resource_change
from ..scim.errors import Conflict, InvalidValue, NotFound, ScimError
from ..scim.filter import Filter
from ..scim.patch import MemberChange
from ..scim.query import ListQuery
from . import sqlfiles
from .base import DirectoryStats, Kind, Mutator, Page, Resource
from .changes import MemberDelta
from .exported import Exported, exported
from .integrity import check_violation, foreign_key_violation, unique_violation
from .pgjson import counter_bump, membership_events, user_updated_events
from .rows import (
    check_version,
    group_columns,
    group_resource,
    now,
    user_columns,
    user_resource,
)
from .sqlbase import RELATED, TABLES, SqlStorage
from .sqlevents import membership_changes
from .sqlfilter import PostgresFilterCompiler

MAX_RETRIES = 20

_USER_GROUPS = """(SELECT json_agg(json_build_array(m.group_id, g.display_name) ORDER BY g.seq)
    FROM memberships m JOIN groups g ON g.directory_id = m.directory_id AND g.id = m.group_id
    WHERE m.directory_id = r.directory_id AND m.member_id = r.id)"""
_GROUP_MEMBERS = """(SELECT json_agg(json_build_array(m.member_id, m.member_type))
    FROM memberships m WHERE m.directory_id = r.directory_id AND m.group_id = r.id)"""
_USER_SELECT = f"SELECT r.id, r.data, r.created, r.last_modified, r.version, {_USER_GROUPS} FROM users r"
_GROUP_SELECT = f"SELECT r.id, r.data, r.created, r.last_modified, r.version, {_GROUP_MEMBERS} FROM groups r"
_GROUP_SELECT_BARE = "SELECT r.id, r.data, r.created, r.last_modified, r.version, NULL FROM groups r"
_SELECT: dict[tuple[Kind, bool], str] = {
    ("User", True): _USER_SELECT,
    ("User", False): _USER_SELECT.replace(_USER_GROUPS, "NULL"),
    ("Group", True): _GROUP_SELECT,
    ("Group", False): _GROUP_SELECT_BARE,
}
_BY_ID = "WHERE r.directory_id = %s AND r.id = %s"

# One statement: validate the members, insert them, bump the group's version if any was
# new. It returns the group with a last column saying whether anything was added, and
# no row only when the group does not exist or a member is unknown.
_ADD_CTES = """known AS MATERIALIZED (
    -- By id alone (the primary key), then the directory checked on the few rows found:
    -- a directory condition here could steer the planner to scan the whole directory.
    SELECT u.id, 'User' AS t, u.directory_id AS dir FROM users u WHERE u.id = ANY(%(ids)s)
    UNION ALL
    SELECT g.id, 'Group', g.directory_id FROM groups g WHERE g.id = ANY(%(ids)s)
), mine AS (
    SELECT id, t FROM known WHERE dir = %(d)s), ok AS (
    SELECT count(*) = cardinality(%(ids)s::text[]) AS ok FROM mine
), ins AS (
    INSERT INTO memberships (directory_id, group_id, member_id, member_type)
    SELECT %(d)s, %(g)s, mine.id, mine.t FROM mine, ok
    WHERE ok.ok AND EXISTS (SELECT 1 FROM groups WHERE directory_id = %(d)s AND id = %(g)s)
    ON CONFLICT DO NOTHING
    RETURNING member_id, member_type
), upd AS (
    UPDATE groups r SET version = r.version + 1, last_modified = %(now)s
    WHERE EXISTS (SELECT 1 FROM ins) AND r.directory_id = %(d)s AND r.id = %(g)s
    RETURNING r.id, r.data, r.created, r.last_modified, r.version
)"""
_ADD_RESULT = """
SELECT id, data, created, last_modified, version, NULL, TRUE,
    (SELECT json_agg(json_build_array(member_id, member_type)) FROM ins) FROM upd
UNION ALL
SELECT r.id, r.data, r.created, r.last_modified, r.version, NULL, FALSE, NULL FROM groups r, ok
WHERE ok.ok AND NOT EXISTS (SELECT 1 FROM ins) AND r.directory_id = %(d)s AND r.id = %(g)s
"""
_ADD_MEMBERS = f"WITH {_ADD_CTES}{_ADD_RESULT}"
# The same with its events: a single add is one autocommit statement.
_ADD_MEMBERS_EMITTING = f"WITH {_ADD_CTES}, {membership_events('ins', 'upd', added=True)}{_ADD_RESULT}"
# Optimistic: only the version that was read may be replaced. One statement with its
# event: no row, no update (the version moved on) and no event.
_UPDATE_USER = f"""WITH upd AS (
    UPDATE users r SET user_name = %(user_name)s, user_name_key = %(user_name_key)s,
        external_id = %(external_id)s, display_name = %(display_name)s, active = %(active)s,
        data = %(data)s, last_modified = %(ts)s, version = r.version + 1
    WHERE r.directory_id = %(d)s AND r.id = %(id)s AND r.version = %(version)s
    RETURNING r.id, r.data, r.created, r.last_modified, r.version, {_USER_GROUPS} AS groups
), {user_updated_events("upd")}
SELECT id, data, created, last_modified, version, groups FROM upd
"""
# Returns the group (version bumped only if a member was removed), or no row when the
# group does not exist.
_REMOVE_CTES = """del AS (
    DELETE FROM memberships WHERE directory_id = %(d)s AND group_id = %(g)s AND member_id = ANY(%(ids)s)
    RETURNING member_id, member_type
), upd AS (
    UPDATE groups r SET version = r.version + 1, last_modified = %(now)s
    WHERE EXISTS (SELECT 1 FROM del) AND r.directory_id = %(d)s AND r.id = %(g)s
    RETURNING r.id, r.data, r.created, r.last_modified, r.version
)"""
_REMOVE_RESULT = """
SELECT id, data, created, last_modified, version, NULL,
    (SELECT json_agg(json_build_array(member_id, member_type)) FROM del) FROM upd
UNION ALL
SELECT r.id, r.data, r.created, r.last_modified, r.version, NULL, NULL FROM groups r
WHERE NOT EXISTS (SELECT 1 FROM del) AND r.directory_id = %(d)s AND r.id = %(g)s
"""
_REMOVE_MEMBERS_EMITTING = (
    f"WITH {_REMOVE_CTES}, {membership_events('del', 'upd', added=False)}{_REMOVE_RESULT}"
)

# A write's events, as the tail of the write's own statement: bump the directory's
# counter and insert the events under the numbers it got. One statement, one round trip.
_EVENTS = f"""{counter_bump("VALUES (%(d)s, %(n)s::int8)")}
INSERT INTO events (directory_id, seq, type, occurred_at, data)
SELECT %(d)s, bump.seq - %(n)s::int8 + e.n, e.event->>0, %(at)s, e.event->1
FROM bump, jsonb_array_elements(%(events)s) WITH ORDINALITY AS e(event, n)"""
_EMIT = f"WITH {_EVENTS}"
_INSERT: dict[Kind, str] = {
    "User": """INSERT INTO users (directory_id, id, user_name, user_name_key, external_id, display_name,
        active, data, created, last_modified)
    VALUES (%(d)s, %(id)s, %(user_name)s, %(user_name_key)s, %(external_id)s, %(display_name)s,
        %(active)s, %(data)s, %(at)s, %(at)s)""",
    "Group": """INSERT INTO groups (directory_id, id, display_name, display_name_key, external_id, data,
        created, last_modified)
    VALUES (%(d)s, %(id)s, %(display_name)s, %(display_name_key)s, %(external_id)s, %(data)s, %(at)s,
        %(at)s)""",
}
# A create and its events in one autocommit statement: a refused INSERT writes no event.
_CREATE = {kind: f"WITH w AS ({insert}), {_EVENTS}" for kind, insert in _INSERT.items()}
# The users of a directory among some ids, with or without their groups.
_USERS_BY_IDS = {
    groups: f"{_SELECT['User', groups]} WHERE r.id = ANY(%s) AND r.directory_id = %s"
    for groups in (True, False)
}

_RESTORE_COPY: dict[Kind, tuple[str, list[str]]] = {
    "User": (
        "COPY users (directory_id, id, user_name, user_name_key, external_id, display_name, active, "
        "data, created, last_modified, version) FROM STDIN",
        [*["text"] * 6, "bool", "jsonb", "timestamptz", "timestamptz", "int8"],
    ),
    "Group": (
        "COPY groups (directory_id, id, display_name, display_name_key, external_id, "
        "data, created, last_modified, version) FROM STDIN",
        [*["text"] * 5, "jsonb", "timestamptz", "timestamptz", "int8"],
    ),
}
# A member's type is looked up, not trusted: only ids of the directory's users and
# groups (this batch's included, inserted just before) become memberships.
_RESTORE_MEMBERS = """
INSERT INTO memberships (directory_id, group_id, member_id, member_type)
SELECT %(d)s, w.g, w.m, k.t FROM unnest(%(g)s::text[], %(m)s::text[]) AS w(g, m)
JOIN (SELECT id, 'User' AS t FROM users WHERE directory_id = %(d)s AND id = ANY(%(m)s)
      UNION ALL SELECT id, 'Group' FROM groups WHERE directory_id = %(d)s AND id = ANY(%(m)s)) k
  ON k.id = w.m
"""
_UPDATE = {
    "User": """UPDATE users SET user_name = %(user_name)s, user_name_key = %(user_name_key)s,
        external_id = %(external_id)s, display_name = %(display_name)s, active = %(active)s,
        data = %(data)s WHERE directory_id = %(d)s AND id = %(id)s""",
    "Group": """UPDATE groups SET display_name = %(display_name)s, display_name_key = %(display_name_key)s,
        external_id = %(external_id)s, data = %(data)s WHERE directory_id = %(d)s AND id = %(id)s""",
}
_COLUMNS_OF = {"User": user_columns, "Group": group_columns}


def _event_params(directory: str, changes: list[Change], at: datetime) -> dict[str, Any]:
    """The parameters of ``_EVENTS`` for ``changes``."""
    return {
        "d": directory,
        "n": len(changes),
        "at": at,
        # One JSON document, [[type, data], ...]: a jsonb[] parameter would be dumped
        # with every quote of every event escaped by a regular expression.
        "events": Jsonb([[c.type, c.data] for c in changes]),
    }


def _mapped(exc: pg_errors.IntegrityError) -> ScimError:
    """The SCIM error a constraint violation stands for, by constraint name."""
    constraint = exc.diag.constraint_name or ""
    if isinstance(exc, pg_errors.ForeignKeyViolation):
        return foreign_key_violation(constraint)
    if isinstance(exc, pg_errors.CheckViolation):
        return check_violation(constraint)
    return unique_violation(constraint)


def migrations() -> list[tuple[int, str]]:
    """The numbered migration scripts, in order."""
    return sqlfiles.migrations("postgres")


def migrate(url: str) -> list[int]:
    """Apply pending migrations under an advisory lock; return the versions applied."""
    applied: list[int] = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(727274)")
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS kubescim_migrations "
                "(version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {row[0] for row in conn.execute("SELECT version FROM kubescim_migrations")}
            for version, sql in migrations():
                if version in done:
                    continue
                with conn.transaction():
                    conn.execute(sql.encode())
                    conn.execute("INSERT INTO kubescim_migrations (version) VALUES (%s)", (version,))
                applied.append(version)
        finally:
            conn.execute("SELECT pg_advisory_unlock(727274)")
    return applied


class PostgresStorage(SqlStorage):
    """The production backend. ``pool_size`` bounds connections per process."""

    # A user is always read with its groups, as the optimistic PATCH returns it.
    get_sql: ClassVar = {key: f"{select} {_BY_ID}" for key, select in _SELECT.items()} | {
        ("User", False): f"{_SELECT['User', True]} {_BY_ID}"
    }
    lock_sql: ClassVar = {
        k: f"SELECT data, version FROM {t} r {_BY_ID} FOR UPDATE" for k, t in TABLES.items()
    }
    version_sql: ClassVar = {k: f"SELECT version FROM {t} r {_BY_ID} FOR UPDATE" for k, t in TABLES.items()}
    select_sql: ClassVar = _SELECT
    param = "%s"
    sort_order = "{expr} {direction} NULLS LAST, r.seq"
    json_as_text = False
    lock_suffix = " FOR UPDATE"
    skip_locked = " FOR UPDATE SKIP LOCKED"

    def __init__(self, url: str, *, pool_size: int = 4, auto_migrate: bool = True) -> None:
        if auto_migrate:
            migrate(url)
        self.pool = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            # Generic plans: our statements are short index lookups whose plans do not
            # depend on the values, and re-planning each call cost more than executing.
            kwargs={
                "autocommit": True,
                "row_factory": tuple_row,
                "options": "-c plan_cache_mode=force_generic_plan",
            },
            open=True,
            name="kubescim",
        )

    @contextmanager
    def _conn(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection for a write; every database error is mapped here, once."""
        try:
            with self.pool.connection() as conn:
                yield conn
        except pg_errors.IntegrityError as exc:
            raise _mapped(exc) from None

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Connection[Any]]:
        with self._conn() as conn, conn.transaction():
            yield conn

    @contextmanager
    def _pipelined(self) -> Iterator[psycopg.Connection[Any]]:
        """A write transaction in pipeline mode: BEGIN travels with the first statement and
        COMMIT with the last, and only a fetch waits for the server.

        Use ``fetchone``/``fetchall`` for results (``rowcount`` is unknown until a fetch).
        psycopg's own ``transaction()`` would add a round trip at each end in this mode.
        """
        with self._conn() as conn, conn.pipeline() as pipeline:
            conn.execute("BEGIN")
            try:
                yield conn
                conn.execute("COMMIT")
                pipeline.sync()
            except BaseException:
                with suppress(psycopg.Error):
                    pipeline.sync()  # out of an aborted pipeline (its error is already raised)
                with suppress(psycopg.Error):
                    conn.execute("ROLLBACK")
                    pipeline.sync()
                raise

    def _read(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        with self.pool.connection() as conn:
            row: tuple[Any, ...] | None = conn.execute(sql, params).fetchone()
        return row

    def _read_all(self, sql: str, params: tuple[Any, ...] | list[Any]) -> list[tuple[Any, ...]]:
        with self.pool.connection() as conn:
            return conn.execute(sql, params).fetchall()

    def _json(self, value: Any) -> Jsonb:
        return Jsonb(value)

    def _emit(self, conn: psycopg.Connection[Any], directory: str, changes: list[Change]) -> None:
        if changes:
            conn.execute(_EMIT, _event_params(directory, changes, now()))

    def _users_by_ids(
        self, conn: psycopg.Connection[Any], directory: str, ids: list[str], *, groups: bool = True
    ) -> Iterator[Resource]:
        rows = conn.execute(_USERS_BY_IDS[groups], (ids, directory)).fetchall()
        return (self._render("User", row) for row in rows)

    def _compiler(self, kind: Kind) -> PostgresFilterCompiler:
        return PostgresFilterCompiler(kind)

    def _now(self) -> datetime:
        return now()

    def close(self) -> None:
        self.pool.close()

    def ping(self) -> None:
        with self._conn() as conn:
            conn.execute("SELECT 1")

    # -- create -----------------------------------------------------------------------
    def create(self, directory: str, kind: Kind, doc: dict[str, Any]) -> Resource:
        new_id = str(uuid.uuid4())
        ts = now()
        members = (doc.get("members") or []) if kind == "Group" else []
        data = doc if kind == "User" else {k: v for k, v in doc.items() if k != "members"}
        columns = user_columns(data) if kind == "User" else group_columns(data)
        row = {"d": directory, "id": new_id, "data": Jsonb(data), **columns}
        if kind == "User":
            created = user_resource(new_id, data, ts, ts, 1, None)
        else:
            created = group_resource(new_id, data, ts, ts, 1, None)
        event = resource_change(kind, "created", created)
        if not members:
            with self._conn() as conn:
                conn.execute(_CREATE[kind], row | _event_params(directory, [event], ts))
            return created
        ids = list(dict.fromkeys(m["value"] for m in members))
        # Pipelined: the INSERT, the member add and the users' read go in one round trip,
        # the events and the COMMIT in another.
        with self._pipelined() as conn:
            conn.execute(_INSERT[kind], row | {"at": ts})
            added = conn.execute(_ADD_MEMBERS, {"d": directory, "g": new_id, "ids": ids, "now": ts})
            users = conn.execute(_USERS_BY_IDS[False], (ids, directory))
            result = added.fetchone()
            if result is None:
                self._raise_missing(conn, directory, new_id, ids)
            delta = MemberDelta(added=_members(result[7] if result else None))
            found = (self._render("User", u) for u in users.fetchall())
            self._emit(conn, directory, [event, *membership_changes(created, delta, found)])
        return self.get(directory, kind, new_id)

    def restore_many(self, directory: str, kind: Kind, docs: Sequence[dict[str, Any]]) -> None:
        items = [exported(kind, doc) for doc in docs]
        sql, types = _RESTORE_COPY[kind]
        with self._transaction() as conn:
            with conn.cursor().copy(sql) as copy:
                copy.set_types(types)
                for e in items:
                    columns = list(_COLUMNS_OF[kind](e.data).values())
                    copy.write_row(
                        [directory, e.id, *columns, e.data, e.created, e.last_modified, e.version or 1]
                    )
            if kind == "Group":
                self._restore_members(conn, directory, items)

    @staticmethod
    def _restore_members(conn: psycopg.Connection[Any], directory: str, groups: list[Exported]) -> None:
        """Insert the groups' memberships. Raises InvalidValue for a member not in the directory."""
        pairs = [(g.id, member) for g in groups for member in g.members]
        if not pairs:
            return
        wanted = [m for _, m in pairs]
        inserted = conn.execute(
            _RESTORE_MEMBERS, {"d": directory, "g": [g for g, _ in pairs], "m": wanted}
        ).rowcount
        if inserted == len(pairs):
            return
        _raise_unknown_members(conn, directory, list(dict.fromkeys(wanted)))
        raise InvalidValue("a member is listed twice for one group")  # exported() drops repeats

    def _page(
        self, kind: Kind, where: str, params: list[Any], order: str, order_params: list[Any], query: ListQuery
    ) -> Page:
        table = TABLES[kind]
        with self.pool.connection() as conn:
            if query.count == 0:
                row = conn.execute(f"SELECT count(*) FROM {table} r WHERE {where}", params).fetchone()
                return Page(int(row[0]) if row else 0, [])
            select = _SELECT[kind, query.projection.wants(None, RELATED[kind])]
            # The page is chosen from bare rows, then only its rows get their members or
            # groups: a related subquery in the scan would run for every row skipped by the
            # offset (or, under count(*) OVER (), for every match). The total is counted
            # once, apart.
            total_sql = f"(SELECT count(*) FROM {table} r WHERE {where})"
            page = f"(SELECT r.* FROM {table} r WHERE {where} ORDER BY {order} LIMIT %s OFFSET %s) r"
            sql = (
                select.replace(f" FROM {table} r", f" FROM {page}", 1).replace(
                    "SELECT ", f"SELECT {total_sql}, ", 1
                )
                + f" ORDER BY {order}"
            )
            rows = conn.execute(
                sql,
                [*params, *params, *order_params, query.count, query.start_index - 1, *order_params],
            ).fetchall()
            if not rows and query.start_index > 1:
                total_row = conn.execute(f"SELECT count(*) FROM {table} r WHERE {where}", params).fetchone()
                return Page(int(total_row[0]) if total_row else 0, [])
        total = int(rows[0][0]) if rows else 0
        return Page(total, [self._render(kind, row[1:]) for row in rows])

    # -- replace / patch ----------------------------------------------------------------
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
        if kind == "Group" and mutate is None and if_match is None and len(changes) == 1 and not members:
            change = changes[0]
            if change.kind in ("add", "remove") and change.ids:
                return self._fast_member_change(directory, id, change)
        if kind == "Group":
            self._patch_locked(directory, kind, id, mutate, changes, if_match)
            return self.get(directory, kind, id, members=members)
        assert mutate is not None
        for _ in range(MAX_RETRIES):
            current = self.get(directory, kind, id)
            version = int(current["meta"]["version"][3:-1])
            check_version(if_match, version)
            attributes = _attributes(current)
            doc = mutate(attributes)
            if doc == attributes:
                return current  # nothing changes, so neither does the version
            params = {"d": directory, "id": id, "version": version, "ts": now(), "previous": Jsonb(current)}
            params |= {"data": Jsonb(doc), **user_columns(doc)}
            with self._conn() as conn:
                row = conn.execute(_UPDATE_USER, params).fetchone()
            if row is not None:
                return self._render(kind, row)
        raise Conflict("the resource is being changed concurrently; retry")

    def _fast_member_change(self, directory: str, id: str, change: MemberChange) -> Resource:
        """A single add or remove: one autocommit statement, its events included."""
        wanted = list(dict.fromkeys(change.ids))
        params = {"d": directory, "g": id, "ids": wanted, "now": now()}
        with self._conn() as conn:
            if change.kind == "add":
                row = conn.execute(_ADD_MEMBERS_EMITTING, params).fetchone()
                if row is None:
                    self._raise_missing(conn, directory, id, wanted)
            else:
                row = conn.execute(_REMOVE_MEMBERS_EMITTING, params).fetchone()
        if row is None:
            raise NotFound(f"Group {id!r} not found")
        return self._render("Group", row[:6])

    def _raise_missing(
        self, conn: psycopg.Connection[Any], directory: str, group: str, ids: list[str]
    ) -> None:
        """After an add that returned no row: raise NotFound or InvalidValue, whichever is why."""
        exists = conn.execute(
            "SELECT 1 FROM groups WHERE directory_id = %s AND id = %s", (directory, group)
        ).fetchone()
        if exists is None:
            raise NotFound(f"Group {group!r} not found")
        _raise_unknown_members(conn, directory, ids)

    def _add_members(
        self, conn: psycopg.Connection[Any], directory: str, group: str, ids: list[str], ts: Any
    ) -> MemberDelta:
        """Add members; return those that were new. Raises NotFound, InvalidValue."""
        ids = list(dict.fromkeys(ids))
        row = conn.execute(_ADD_MEMBERS, {"d": directory, "g": group, "ids": ids, "now": ts}).fetchone()
        if row is None:
            self._raise_missing(conn, directory, group, ids)
        return MemberDelta(added=_members(row[7] if row else None))

    def _update_attributes(
        self, conn: psycopg.Connection[Any], directory: str, kind: Kind, id: str, data: dict[str, Any]
    ) -> None:
        conn.execute(_UPDATE[kind], {"d": directory, "id": id, "data": Jsonb(data)} | _COLUMNS_OF[kind](data))

    def _touch(self, conn: psycopg.Connection[Any], directory: str, kind: Kind, id: str, ts: Any) -> None:
        conn.execute(
            f"UPDATE {TABLES[kind]} SET version = version + 1, last_modified = %s "
            "WHERE directory_id = %s AND id = %s",
            (ts, directory, id),
        )

    def _apply_change(
        self,
        conn: psycopg.Connection[Any],
        directory: str,
        group: str,
        change: MemberChange,
        ts: Any,
    ) -> MemberDelta:
        """Apply one membership change; return who joined and left."""
        if change.kind == "add":
            if not change.ids:
                return MemberDelta()
            return self._add_members(conn, directory, group, list(change.ids), ts)
        if change.kind == "remove":
            return _removed(
                conn,
                "DELETE FROM memberships WHERE directory_id = %s AND group_id = %s AND member_id = ANY(%s)",
                [directory, group, list(change.ids)],
            )
        if change.kind == "replace":
            removed = _removed(
                conn,
                "DELETE FROM memberships WHERE directory_id = %s AND group_id = %s "
                "AND NOT (member_id = ANY(%s))",
                [directory, group, list(change.ids)],
            )
            if not change.ids:
                return removed
            return removed.merge(self._add_members(conn, directory, group, list(change.ids), ts))
        assert change.filter is not None
        sql, params = self._member_filter(change.filter)
        return _removed(
            conn,
            f"DELETE FROM memberships m1 USING groups r WHERE r.directory_id = %s AND r.id = %s "
            f"AND m1.directory_id = r.directory_id AND m1.group_id = r.id AND {sql}",
            [directory, group, *params],
            "m1.",
        )

    @staticmethod
    def _member_filter(node: Filter) -> tuple[str, list[Any]]:
        compiler = PostgresFilterCompiler("Group")
        return compiler.compile_member_filter(node)

    # -- delete / stats ---------------------------------------------------------------------
    def _delete_rows(
        self, conn: psycopg.Connection[Any], directory: str, kind: Kind, id: str, ts: Any
    ) -> None:
        conn.execute(
            "WITH gone AS (DELETE FROM memberships WHERE directory_id = %s AND member_id = %s "
            "RETURNING group_id) UPDATE groups SET version = version + 1, last_modified = %s "
            "WHERE directory_id = %s AND id IN (SELECT group_id FROM gone)",
            (directory, id, ts, directory),
        )
        conn.execute(f"DELETE FROM {TABLES[kind]} WHERE directory_id = %s AND id = %s", (directory, id))

    def stats(self, directory: str) -> DirectoryStats:
        with self._conn() as conn:
            row = conn.execute(
                "SELECT (SELECT count(*) FROM users WHERE directory_id = %(d)s), "
                "(SELECT count(*) FROM groups WHERE directory_id = %(d)s), "
                "GREATEST((SELECT max(last_modified) FROM users WHERE directory_id = %(d)s), "
                "(SELECT max(last_modified) FROM groups WHERE directory_id = %(d)s))",
                {"d": directory},
            ).fetchone()
        assert row is not None
        return DirectoryStats(int(row[0]), int(row[1]), row[2])

    def purge_inactive(self, directory: str) -> int:
        with self._conn() as conn, conn.transaction():
            ids = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM users WHERE directory_id = %s AND active = false FOR UPDATE", (directory,)
                )
            ]
            if not ids:
                return 0
            gone = list(self._users_by_ids(conn, directory, ids))
            conn.execute(
                "WITH gone AS (DELETE FROM memberships WHERE member_id = ANY(%s) RETURNING group_id) "
                "UPDATE groups SET version = version + 1, last_modified = %s "
                "WHERE id IN (SELECT group_id FROM gone)",
                (ids, now()),
            )
            conn.execute("DELETE FROM users WHERE id = ANY(%s) AND directory_id = %s", (ids, directory))
            self._emit(conn, directory, [resource_change("User", "deleted", u) for u in gone])
        return len(ids)

    def delete_directory(self, directory: str) -> None:
        with self._conn() as conn, conn.transaction():
            # Every membership belongs to a group of its directory: found through them.
            conn.execute(
                "DELETE FROM memberships m USING groups g WHERE g.directory_id = %s AND m.group_id = g.id",
                (directory,),
            )
            for table in ("groups", "users"):
                conn.execute(f"DELETE FROM {table} WHERE directory_id = %s", (directory,))
            self._emit(conn, directory, [Change(DIRECTORY_DELETED, {"directory": directory})])
            self._set_active(conn, directory, False)


def _raise_unknown_members(conn: psycopg.Connection[Any], directory: str, ids: list[str]) -> None:
    """Raise InvalidValue naming the ids that are no User or Group of the directory, if any."""
    known = {
        r[0]
        for r in conn.execute(
            "SELECT id FROM users WHERE directory_id = %(d)s AND id = ANY(%(ids)s) UNION ALL "
            "SELECT id FROM groups WHERE directory_id = %(d)s AND id = ANY(%(ids)s)",
            {"d": directory, "ids": ids},
        )
    }
    missing = [i for i in ids if i not in known]
    if missing:
        raise InvalidValue(f"members not found in this directory: {', '.join(missing[:10])}")


def _attributes(resource: Resource) -> dict[str, Any]:
    """The canonical attributes of a stored resource (what PATCH and PUT operate on)."""
    return {k: v for k, v in resource.items() if k not in ("id", "schemas", "meta", "groups", "members")}


def _members(value: Any) -> list[tuple[str, str]]:
    """The ``[[id, type], ...]`` JSON a membership statement aggregates, as pairs."""
    return [(m, t) for m, t in value or []]


def _removed(conn: psycopg.Connection[Any], sql: str, params: list[Any], prefix: str = "") -> MemberDelta:
    """Run a membership DELETE; return the members it removed."""
    rows = conn.execute(f"{sql} RETURNING {prefix}member_id, {prefix}member_type", params).fetchall()
    return MemberDelta(removed=[(m, t) for m, t in rows])
