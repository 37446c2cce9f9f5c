"""Storage backends behind one interface; ``open_storage`` is the one place that picks."""

from __future__ import annotations

from .base import DirectoryStats, Kind, Page, Resource, Storage


def open_storage(
    url: str, *, pool_size: int = 4, auto_migrate: bool = True, write_rate: float = 20.0
) -> Storage:
    """Open the backend a database URL names: ``sqlite:///path``, ``postgresql://...``,
    ``configmaps://NAMESPACE`` or ``secrets://NAMESPACE`` (``write_rate``: the Kubernetes
    backends' writes per second per process).

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

        return open_kube_storage(url, pool_size=pool_size, write_rate=write_rate)
    raise ValueError(
        f"unsupported database URL scheme: {url.split(':', 1)[0]!r} "
        "(use sqlite:///PATH, postgresql://..., configmaps://NAMESPACE or secrets://NAMESPACE)"
    )


__all__ = ["DirectoryStats", "Kind", "Page", "Resource", "Storage", "open_storage"]
