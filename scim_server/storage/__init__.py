"""Storage backends behind one interface; ``open_storage`` is the one place that picks."""

from __future__ import annotations

from typing import Protocol

from .base import DirectoryStats, Kind, Page, Resource, Storage
from .events import EventLog
from .reads import DirectoryReads


class Backend(Storage, DirectoryReads, EventLog, Protocol):
    """What every backend offers the server: SCIM storage, the directory API's reads and
    the event log (mypy checks each backend against it in ``open_storage``)."""


def open_storage(
    url: str,
    *,
    pool_size: int = 4,
    auto_migrate: bool = True,
    write_rate: float = 20.0,
    event_buffer: int = 10_000,
    event_retention_days: int = 30,
) -> Backend:
    """Open the backend a database URL names: ``sqlite:///path``, ``postgresql://...``,
    ``configmaps://NAMESPACE`` or ``secrets://NAMESPACE`` (``write_rate``: the Kubernetes
    backends' writes per second per process; ``event_buffer`` and ``event_retention_days``:
    the most and the oldest events their in-memory log keeps per directory).

    Raises ValueError for any other scheme.
    """
    if url.startswith("sqlite:///"):
        from .sqlite import SqliteStorage

        return SqliteStorage(url.removeprefix("sqlite:///") or ":memory:")
    if url.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresStorage

        return PostgresStorage(url, pool_size=pool_size, auto_migrate=auto_migrate)
    if url.startswith(("configmaps://", "secrets://")):
        from .kube.store import open_kube_storage

        return open_kube_storage(
            url,
            pool_size=pool_size,
            write_rate=write_rate,
            event_buffer=event_buffer,
            event_retention_days=event_retention_days,
        )
    raise ValueError(
        f"unsupported database URL scheme: {url.split(':', 1)[0]!r} "
        "(use sqlite:///PATH, postgresql://..., configmaps://NAMESPACE or secrets://NAMESPACE)"
    )


__all__ = ["Backend", "DirectoryStats", "Kind", "Page", "Resource", "Storage", "open_storage"]
