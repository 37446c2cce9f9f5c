"""Storage backends behind one interface; ``open_storage`` is the one place that picks."""

from __future__ import annotations

from .base import DirectoryStats, Kind, Page, Resource, Storage


def open_storage(url: str, *, pool_size: int = 4, auto_migrate: bool = True) -> Storage:
    """Open the backend a database URL names: ``sqlite:///path`` or ``postgresql://...``.

    Raises ValueError for any other scheme.
    """
    if url.startswith("sqlite:///"):
        from .sqlite import SqliteStorage

        return SqliteStorage(url.removeprefix("sqlite:///") or ":memory:")
    if url.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresStorage

        return PostgresStorage(url, pool_size=pool_size, auto_migrate=auto_migrate)
    raise ValueError(
        f"unsupported database URL scheme: {url.split(':', 1)[0]!r} (use sqlite:///PATH or postgresql://...)"
    )


__all__ = ["DirectoryStats", "Kind", "Page", "Resource", "Storage", "open_storage"]
