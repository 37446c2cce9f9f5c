"""The event log every backend offers: what the directory API and the webhook worker read.

Writing is not part of this protocol: a backend writes a change's events inside the
transaction (or conditional write) of the change itself. SQL backends share
``sqlevents.SqlEventLog``; a backend that cannot keep a durable log offers a bounded one
and says so in its docstring.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Protocol

from ..events.model import StoredEvent


class EventLog(Protocol):
    def events(
        self, directory: str, *, after: int = 0, limit: int = 100, types: Collection[str] | None = None
    ) -> list[StoredEvent]:
        """The directory's events numbered above ``after``, oldest first, at most ``limit``.

        Numbers are gapless and in commit order within a directory, so a reader that
        remembers the last number it saw never skips an event.
        """

    def last_event(self, directory: str) -> int:
        """The number of the directory's latest event (0: none yet)."""

    def activate_directory(self, directory: str) -> bool:
        """Emit ``dsync.activated`` unless the directory is active already; return whether it did."""

    def deactivate_directory(self, directory: str) -> bool:
        """Emit ``dsync.deleted`` for a directory whose data is retained; return whether it did."""

    def prune_events(self, before: datetime) -> int:
        """Delete events that occurred before ``before`` (retention); return how many."""
