"""``WebhookQueue`` over the SQL backends' ``webhook_cursors`` and ``webhook_dead_letters``.

Claims are one UPDATE whose subquery locks the claimable rows with ``FOR UPDATE SKIP
LOCKED`` on PostgreSQL (several workers never wait on, or take, each other's streams);
SQLite serialises writers, so the same UPDATE is atomic there too.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any, ClassVar

from .rows import iso, now, parse_time
from .webhooks import Stream, StreamState

_PENDING = "EXISTS (SELECT 1 FROM events e WHERE e.directory_id = c.directory_id AND e.seq > c.seq)"


class SqlWebhookQueue(ABC):
    param: ClassVar[str]
    json_as_text: ClassVar[bool]
    #: appended to the claim's subquery (PostgreSQL: ``FOR UPDATE SKIP LOCKED``)
    skip_locked: ClassVar[str] = ""

    @abstractmethod
    def _transaction(self) -> AbstractContextManager[Any]: ...

    @abstractmethod
    def _read_all(self, sql: str, params: tuple[Any, ...] | list[Any]) -> list[tuple[Any, ...]]: ...

    def _sql(self, text: str) -> str:
        return text if self.param == "?" else text.replace("?", self.param)

    def _time(self, value: datetime) -> Any:
        return iso(value) if self.json_as_text else value

    def _write(self, sql: str, params: tuple[Any, ...] | list[Any]) -> int:
        with self._transaction() as conn:
            return int(conn.execute(self._sql(sql), params).rowcount)

    def ensure_streams(self, endpoint: str, directories: list[str]) -> None:
        known = self._read_all(
            self._sql("SELECT directory_id FROM webhook_cursors WHERE endpoint_id = ?"), (endpoint,)
        )
        gone = [r[0] for r in known if r[0] not in directories]
        new = [d for d in directories if d not in {r[0] for r in known}]
        if not gone and not new:
            return
        with self._transaction() as conn:
            for directory in gone:
                conn.execute(
                    self._sql("DELETE FROM webhook_cursors WHERE endpoint_id = ? AND directory_id = ?"),
                    (endpoint, directory),
                )
            for directory in new:
                conn.execute(
                    self._sql(
                        "INSERT INTO webhook_cursors (endpoint_id, directory_id, seq) VALUES (?, ?, "
                        "COALESCE((SELECT seq FROM event_streams WHERE directory_id = ?), 0)) "
                        "ON CONFLICT (endpoint_id, directory_id) DO NOTHING"
                    ),
                    (endpoint, directory, directory),
                )

    def claim_streams(self, worker: str, lease_seconds: float, limit: int) -> list[Stream]:
        at = now()
        t, until = self._time(at), self._time(at + timedelta(seconds=lease_seconds))
        sql = (
            "UPDATE webhook_cursors SET claimed_by = ?, claimed_until = ? "
            "WHERE (endpoint_id, directory_id) IN "
            "(SELECT c.endpoint_id, c.directory_id FROM webhook_cursors c "
            "WHERE (c.claimed_until IS NULL OR c.claimed_until < ?) "
            f"AND (c.next_attempt_at IS NULL OR c.next_attempt_at <= ?) AND {_PENDING} "
            f"ORDER BY c.next_attempt_at, c.endpoint_id, c.directory_id LIMIT ?{self.skip_locked}) "
            "RETURNING endpoint_id, directory_id, seq, attempts"
        )
        with self._transaction() as conn:
            rows = conn.execute(self._sql(sql), (worker, until, t, t, limit)).fetchall()
        return [Stream(e, d, int(s), int(a)) for e, d, s, a in rows]

    _MINE = "WHERE endpoint_id = ? AND directory_id = ? AND claimed_by = ?"

    def advance(self, stream: Stream, worker: str, seq: int) -> bool:
        sql = (
            "UPDATE webhook_cursors SET seq = ?, attempts = 0, next_attempt_at = NULL, last_error = NULL, "
            f"last_success_at = ? {self._MINE}"
        )
        return self._write(sql, (seq, self._time(now()), stream.endpoint, stream.directory, worker)) == 1

    def fail(self, stream: Stream, worker: str, error: str, retry_at: datetime) -> bool:
        sql = (
            "UPDATE webhook_cursors SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?, "
            f"claimed_by = NULL, claimed_until = NULL {self._MINE}"
        )
        params = (self._time(retry_at), error[:1000], stream.endpoint, stream.directory, worker)
        return self._write(sql, params) == 1

    def dead_letter(self, stream: Stream, worker: str, seq: int, error: str) -> bool:
        with self._transaction() as conn:
            moved = conn.execute(
                self._sql(
                    "UPDATE webhook_cursors SET seq = ?, attempts = 0, next_attempt_at = NULL, "
                    f"last_error = ? {self._MINE}"
                ),
                (seq, error[:1000], stream.endpoint, stream.directory, worker),
            ).rowcount
            if moved != 1:
                return False
            conn.execute(
                self._sql(
                    "INSERT INTO webhook_dead_letters (endpoint_id, directory_id, seq, failed_at, error) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
                ),
                (stream.endpoint, stream.directory, seq, self._time(now()), error[:1000]),
            )
        return True

    def release(self, stream: Stream, worker: str) -> None:
        sql = f"UPDATE webhook_cursors SET claimed_by = NULL, claimed_until = NULL {self._MINE}"
        self._write(sql, (stream.endpoint, stream.directory, worker))

    def stream_states(self, endpoint: str) -> list[StreamState]:
        rows = self._read_all(
            self._sql(
                "SELECT c.directory_id, c.seq, COALESCE(s.seq, 0), "
                "(SELECT e.occurred_at FROM events e WHERE e.directory_id = c.directory_id AND e.seq > c.seq "
                "ORDER BY e.seq LIMIT 1), c.last_success_at, c.last_error, "
                "(SELECT count(*) FROM webhook_dead_letters x WHERE x.endpoint_id = c.endpoint_id "
                "AND x.directory_id = c.directory_id) "
                "FROM webhook_cursors c LEFT JOIN event_streams s ON s.directory_id = c.directory_id "
                "WHERE c.endpoint_id = ? ORDER BY c.directory_id"
            ),
            (endpoint,),
        )
        return [
            StreamState(
                endpoint,
                d,
                int(seq),
                max(0, int(last) - int(seq)),
                _time(oldest),
                _time(success),
                error,
                int(dead),
            )
            for d, seq, last, oldest, success, error, dead in rows
        ]

    def rewind(self, endpoint: str, directory: str, after: int) -> bool:
        sql = (
            "UPDATE webhook_cursors SET seq = ?, attempts = 0, next_attempt_at = NULL "
            "WHERE endpoint_id = ? AND directory_id = ?"
        )
        return self._write(sql, (after, endpoint, directory)) == 1

    def forget_streams(self, keep: set[str]) -> int:
        rows = self._read_all("SELECT DISTINCT endpoint_id FROM webhook_cursors", ())
        gone = [r[0] for r in rows if r[0] not in keep]
        for endpoint in gone:
            self._write("DELETE FROM webhook_cursors WHERE endpoint_id = ?", (endpoint,))
        return len(gone)


def _time(value: Any) -> datetime | None:
    if value is None:
        return None
    return parse_time(value) if isinstance(value, str) else value
