"""Everything a directory stores, in a form two snapshots can be compared in.

Used to prove that a rejected request changed nothing: take a snapshot, send the
request, take another, compare. Member and group lists are sorted (PostgreSQL returns
them in no fixed order); versions and timestamps are kept, so a bump shows.
"""

from __future__ import annotations

from typing import Any

from scim_server.scim.query import ListQuery
from scim_server.storage import Storage

Snapshot = dict[str, dict[str, dict[str, Any]]]


def _canonical(resource: dict[str, Any]) -> dict[str, Any]:
    out = dict(resource)
    for related in ("members", "groups"):
        if related in out:
            out[related] = sorted(out[related], key=lambda entry: str(entry.get("value")))
    return out


def snapshot(storage: Storage, directory: str) -> Snapshot:
    """Every User and Group of ``directory``, by id."""
    out: Snapshot = {}
    for kind in ("User", "Group"):
        page = storage.query(directory, kind, ListQuery(count=1_000_000))  # type: ignore[arg-type]
        out[kind] = {r["id"]: _canonical(r) for r in page.resources}
    return out
