"""Webhook delivery state: what the delivering workers claim, advance and report.

Each (endpoint, directory) pair is a stream with a cursor (the last event delivered or
dead-lettered). A worker claims streams for a lease, delivers their next events in order,
advances the cursor after each delivery, and releases them; a claim that outlives its
worker (killed) expires with the lease, and another worker resumes from the cursor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Stream:
    """A claimed stream: where its cursor stands and how often its next event failed."""

    endpoint: str
    directory: str
    seq: int
    attempts: int


@dataclass(frozen=True, slots=True)
class StreamState:
    """What an endpoint's status reports for one directory."""

    endpoint: str
    directory: str
    seq: int
    backlog: int
    oldest_pending: datetime | None
    last_success: datetime | None
    last_error: str | None
    dead_letters: int


class WebhookQueue(Protocol):
    def ensure_streams(self, endpoint: str, directories: list[str]) -> None:
        """Start a cursor for each new (endpoint, directory) at the directory's latest event;
        drop the endpoint's cursors of directories no longer listed."""

    def claim_streams(self, worker: str, lease_seconds: float, limit: int) -> list[Stream]:
        """Claim up to ``limit`` streams with events to deliver and no retry pending."""

    def advance(self, stream: Stream, worker: str, seq: int) -> bool:
        """Record delivery up to ``seq``; False when the claim was lost (stop delivering)."""

    def fail(self, stream: Stream, worker: str, error: str, retry_at: datetime) -> bool:
        """Record a failed attempt at the next event and when to retry; False: claim lost."""

    def dead_letter(self, stream: Stream, worker: str, seq: int, error: str) -> bool:
        """Give up on event ``seq`` (kept as a dead letter) and move past it; False: claim lost."""

    def release(self, stream: Stream, worker: str) -> None:
        """End the claim."""

    def stream_states(self, endpoint: str) -> list[StreamState]:
        """The delivery state of each of the endpoint's directories."""

    def rewind(self, endpoint: str, directory: str, after: int) -> bool:
        """Redeliver the directory's events numbered above ``after`` (clears retry state)."""

    def forget_streams(self, keep: set[str]) -> int:
        """Drop the cursors of endpoints not in ``keep`` (removed from their Organization)."""
