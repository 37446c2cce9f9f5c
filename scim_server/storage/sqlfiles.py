"""The SQL shipped with the package: each backend's ``schema.sql`` and numbered migrations."""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable


def _folder(backend: str) -> Traversable:
    root = resources.files("scim_server.storage") / "sql"
    return root / backend if backend != "postgres" else root


def schema(backend: str) -> str:
    """The current schema of ``backend`` ("postgres" or "sqlite"): all migrations applied."""
    return (_folder(backend) / "schema.sql").read_text()


def migrations(backend: str) -> list[tuple[int, str]]:
    """The numbered migration scripts of ``backend``, in order."""
    folder = _folder(backend) / "migrations"
    out = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            out.append((int(entry.name.split("_", 1)[0]), entry.read_text()))
    return sorted(out)
