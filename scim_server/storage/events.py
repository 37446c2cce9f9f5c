"""The event log every backend offers: what the directory API and the webhook worker read.

Writing is not part of this protocol: a backend writes a change's events inside the
transaction (or conditional write) of the change itself. SQL backends share
``sqlevents.SqlEventLog``; the ConfigMap backend keeps a bounded log in memory per
process (``kube.eventlog``) and says when a reader's position is no longer kept.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Protocol

from ..events.model import StoredEvent


class EventsExpired(Exception):
    """The events after a reader's position are no longer all kept (a bounded log):
    reading on would skip some. The reader must re-read the directory and start again."""


class EventLog(Protocol):
    def events(
        self, directory: str, *, after: int = 0, limit: int = 100, types: Collection[str] | None = None
    ) -> list[StoredEvent]:
        """The directory's events numbered above ``after``, oldest first, at most ``limit``.

        Numbers increase in commit order within a directory, so a reader that remembers
        the last number it saw never skips an event: on SQL they are gapless; on ConfigMaps
        they follow etcd's revisions, and a position older than what the bounded log still
        holds raises EventsExpired (``after=0`` reads from the oldest event kept).
        """

    def last_event(self, directory: str) -> int:
        """The number of the directory's latest event (0: none yet)."""

    def activate_directory(self, directory: str) -> bool:
        """Emit ``dsync.activated`` unless the directory is active already; return whether it did
        (never, where the backend cannot know a directory's first appearance)."""

    def deactivate_directory(self, directory: str) -> bool:
        """Emit ``dsync.deleted`` for a directory whose data is retained; return whether it did."""

    def prune_events(self, before: datetime) -> int:
        """Delete events that occurred before ``before`` (retention); return how many."""
