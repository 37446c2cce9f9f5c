"""The SQL backends' event log: events written in the change's transaction, read by number.

Each directory has a row in ``event_streams`` with its last event number. A write bumps
it (an upsert, the last statement before COMMIT) and inserts its events under the
numbers it got; the bump holds the row lock until commit, so within a directory events
commit in number order with no gaps, whatever the concurrency.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, ClassVar

from ..events.model import DIRECTORY_ACTIVATED, DIRECTORY_DELETED, Change, StoredEvent, membership_change
from .changes import MemberDelta
from .rows import iso, now, parse_time

_BUMP = (
    "INSERT INTO event_streams (directory_id, seq) VALUES (?, ?) ON CONFLICT (directory_id) "
    "DO UPDATE SET seq = event_streams.seq + excluded.seq RETURNING seq"
)
_INSERT = "INSERT INTO events (directory_id, seq, type, occurred_at, data) VALUES (?, ?, ?, ?, ?)"
_READ = "SELECT seq, type, occurred_at, data FROM events WHERE directory_id = ? AND seq > ?"


class SqlEventLog(ABC):
    """``EventLog`` over the ``events`` and ``event_streams`` tables (SQLite and PostgreSQL)."""

    param: ClassVar[str]
    json_as_text: ClassVar[bool]
    #: What makes a SELECT lock the rows it reads ("" where writers are serialised anyway).
    lock_suffix: ClassVar[str] = ""

    @abstractmethod
    def _transaction(self) -> AbstractContextManager[Any]: ...

    @abstractmethod
    def _read_all(self, sql: str, params: tuple[Any, ...] | list[Any]) -> list[tuple[Any, ...]]:
        """All rows of a single-statement read."""

    @abstractmethod
    def _json(self, value: Any) -> Any:
        """``value`` as this driver writes a JSON column."""

    @abstractmethod
    def _users_by_ids(
        self, conn: Any, directory: str, ids: list[str], *, groups: bool = True
    ) -> Iterator[dict[str, Any]]:
        """The users of ``directory`` among ``ids``, with their groups unless ``groups`` is false."""

    def _sql(self, text: str) -> str:
        return text if self.param == "?" else text.replace("?", self.param)

    # -- writing (inside a change's transaction) ---------------------------------------------
    def _emit(self, conn: Any, directory: str, changes: list[Change]) -> None:
        """Write ``changes`` as the directory's next events. Call last in the transaction."""
        if not changes:
            return
        row = conn.execute(self._sql(_BUMP), (directory, len(changes))).fetchone()
        first = int(row[0]) - len(changes) + 1
        at: Any = iso(now()) if self.json_as_text else now()
        conn.cursor().executemany(
            self._sql(_INSERT),
            [(directory, first + i, c.type, at, self._json(c.data)) for i, c in enumerate(changes)],
        )

    def _membership_changes(
        self, conn: Any, directory: str, group: dict[str, Any], delta: MemberDelta
    ) -> list[Change]:
        """``user_added``/``user_removed`` for the users in ``delta`` (nested groups emit none)."""
        ids = delta.net().user_ids()
        if not ids:
            return []
        return membership_changes(group, delta, self._users_by_ids(conn, directory, ids, groups=False))

    # -- EventLog -----------------------------------------------------------------------------
    def events(
        self, directory: str, *, after: int = 0, limit: int = 100, types: Collection[str] | None = None
    ) -> list[StoredEvent]:
        sql, params = _READ, [directory, after]
        if types:
            sql += f" AND type IN ({', '.join('?' for _ in types)})"
            params.extend(types)
        rows = self._read_all(self._sql(sql + " ORDER BY seq LIMIT ?"), [*params, limit])
        return [self._event(directory, row) for row in rows]

    def _event(self, directory: str, row: tuple[Any, ...]) -> StoredEvent:
        seq, type_, at, data = row
        occurred = parse_time(at) if isinstance(at, str) else at
        decoded = json.loads(data) if self.json_as_text else data
        return StoredEvent(directory, int(seq), type_, occurred, decoded)

    def last_event(self, directory: str) -> int:
        rows = self._read_all(self._sql("SELECT seq FROM event_streams WHERE directory_id = ?"), (directory,))
        return int(rows[0][0]) if rows else 0

    def activate_directory(self, directory: str) -> bool:
        sql = self._sql("SELECT active FROM event_streams WHERE directory_id = ?")
        known = self._read_all(sql, (directory,))
        if known and bool(known[0][0]):
            return False  # the common case, without a write transaction
        with self._transaction() as conn:
            row = conn.execute(
                self._sql(f"SELECT active FROM event_streams WHERE directory_id = ?{self.lock_suffix}"),
                (directory,),
            ).fetchone()
            if row is not None and bool(row[0]):
                return False
            self._emit(conn, directory, [Change(DIRECTORY_ACTIVATED, {"directory": directory})])
            self._set_active(conn, directory, True)
        return True

    def deactivate_directory(self, directory: str) -> bool:
        """Emit ``dsync.deleted`` for a directory whose data is kept; return whether it did."""
        with self._transaction() as conn:
            row = conn.execute(
                self._sql(f"SELECT active FROM event_streams WHERE directory_id = ?{self.lock_suffix}"),
                (directory,),
            ).fetchone()
            if row is None or not bool(row[0]):
                return False
            self._emit(conn, directory, [Change(DIRECTORY_DELETED, {"directory": directory})])
            self._set_active(conn, directory, False)
        return True

    def _set_active(self, conn: Any, directory: str, active: bool) -> None:
        sql = "UPDATE event_streams SET active = ? WHERE directory_id = ?"
        conn.execute(self._sql(sql), (active, directory))

    def prune_events(self, before: datetime) -> int:
        cutoff: Any = iso(before) if self.json_as_text else before
        with self._transaction() as conn:
            deleted = conn.execute(self._sql("DELETE FROM events WHERE occurred_at < ?"), (cutoff,))
            return int(deleted.rowcount)


def membership_changes(
    group: dict[str, Any], delta: MemberDelta, users: Iterable[dict[str, Any]]
) -> list[Change]:
    """``user_removed`` then ``user_added`` for the users of ``delta`` found among ``users``.

    A user is carried without its group list: a membership change then costs the same
    however many other groups its users are in (the event names the group).
    """
    delta = delta.net()
    found = {u["id"]: u for u in users}
    out = [membership_change(False, found[m], group) for m, t in delta.removed if t == "User" and m in found]
    out += [membership_change(True, found[m], group) for m, t in delta.added if t == "User" and m in found]
    return out
