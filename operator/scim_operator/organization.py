"""Reconciling an Organization: which directories belong to it, and guarding its deletion."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from scim_server.crd import names as n

from . import constants as c
from . import desired as d
from .tokens import Event


def member_summary(name: str, status: Mapping[str, Any]) -> dict[str, Any]:
    """What the Organization needs of one of its directories (kept in the operator's index)."""
    return {"metadata": {"name": name}, "status": {"conditions": list(status.get("conditions") or [])}}


def organization_ready(directory: Mapping[str, Any]) -> bool:
    """Whether the directory has seen its Organization (OrganizationReady is True)."""
    conditions = (directory.get("status") or {}).get("conditions") or []
    return any(x.get("type") == n.ORGANIZATION_READY and x.get("status") == "True" for x in conditions)


def _ready(directory: Mapping[str, Any]) -> bool:
    conditions = (directory.get("status") or {}).get("conditions") or []
    return any(x.get("type") == n.READY and x.get("status") == "True" for x in conditions)


def organization_status(
    body: Mapping[str, Any], directories: list[dict[str, Any]], now: datetime | None = None
) -> dict[str, Any]:
    """The Organization's status fields that differ from the current ones."""
    now = now or datetime.now(UTC)
    status: Mapping[str, Any] = body.get("status") or {}
    generation = body["metadata"].get("generation")
    entries = sorted(
        ({"name": x["metadata"]["name"], "ready": _ready(x)} for x in directories),
        key=lambda e: str(e["name"]),
    )
    conditions = list(status.get("conditions") or [])
    conditions = [x for x in conditions if x.get("type") != n.DELETION_BLOCKED]
    conditions = d.set_condition(
        conditions, n.READY, True, c.REASON_RECONCILED, f"{len(entries)} directories", generation, now
    )
    new = {
        "directories": entries,
        "directoryCount": len(entries),
        "observedGeneration": generation,
        "conditions": conditions,
    }
    return {k: v for k, v in new.items() if status.get(k) != v}


def deletion_blocked(
    body: Mapping[str, Any], directories: list[dict[str, Any]]
) -> tuple[dict[str, Any], Event] | None:
    """When directories still reference the Organization: the condition and Event saying so."""
    if not directories:
        return None
    names = ", ".join(sorted(x["metadata"]["name"] for x in directories))
    message = f"deletion waits until these ScimDirectories are deleted: {names}"
    conditions = d.set_condition(
        list((body.get("status") or {}).get("conditions") or []),
        n.DELETION_BLOCKED,
        True,
        c.REASON_DIRECTORIES_EXIST,
        message,
        body["metadata"].get("generation"),
        datetime.now(UTC),
    )
    return {"conditions": conditions}, ("Warning", c.REASON_DIRECTORIES_EXIST, message)
