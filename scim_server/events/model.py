"""Event types and the change records a write transaction emits (pure data)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

DIRECTORY_ACTIVATED: Final = "dsync.activated"
DIRECTORY_DELETED: Final = "dsync.deleted"
USER_CREATED: Final = "dsync.user.created"
USER_UPDATED: Final = "dsync.user.updated"
USER_DELETED: Final = "dsync.user.deleted"
GROUP_CREATED: Final = "dsync.group.created"
GROUP_UPDATED: Final = "dsync.group.updated"
GROUP_DELETED: Final = "dsync.group.deleted"
GROUP_USER_ADDED: Final = "dsync.group.user_added"
GROUP_USER_REMOVED: Final = "dsync.group.user_removed"

EVENT_TYPES: Final = (
    DIRECTORY_ACTIVATED,
    DIRECTORY_DELETED,
    USER_CREATED,
    USER_UPDATED,
    USER_DELETED,
    GROUP_CREATED,
    GROUP_UPDATED,
    GROUP_DELETED,
    GROUP_USER_ADDED,
    GROUP_USER_REMOVED,
)
EventType = Literal[
    "dsync.activated",
    "dsync.deleted",
    "dsync.user.created",
    "dsync.user.updated",
    "dsync.user.deleted",
    "dsync.group.created",
    "dsync.group.updated",
    "dsync.group.deleted",
    "dsync.group.user_added",
    "dsync.group.user_removed",
]

_KIND_EVENTS: Final = {
    ("User", "created"): USER_CREATED,
    ("User", "updated"): USER_UPDATED,
    ("User", "deleted"): USER_DELETED,
    ("Group", "created"): GROUP_CREATED,
    ("Group", "updated"): GROUP_UPDATED,
    ("Group", "deleted"): GROUP_DELETED,
}


@dataclass(frozen=True, slots=True)
class Change:
    """One event to write: its type and the SCIM snapshots it needs.

    ``data`` holds ``resource`` (the user or group after the change; before it for a
    deletion) and, for an update, ``previous`` (before); a membership event holds
    ``user`` and ``group``. Snapshots are stored SCIM resources; applications see them
    normalized (``objects``) when the event is read, under the directory's current policy.
    """

    type: str
    data: dict[str, Any]


def resource_change(
    kind: str, what: str, resource: dict[str, Any], previous: dict[str, Any] | None = None
) -> Change:
    """The created/updated/deleted event of a User or Group."""
    data: dict[str, Any] = {"resource": resource}
    if previous is not None:
        data["previous"] = previous
    return Change(_KIND_EVENTS[kind, what], data)


def membership_change(added: bool, user: dict[str, Any], group: dict[str, Any]) -> Change:
    """A user joining or leaving a group."""
    return Change(GROUP_USER_ADDED if added else GROUP_USER_REMOVED, {"user": user, "group": group})


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as written: its directory, its position there (gapless, commit order)."""

    directory: str
    seq: int
    type: str
    occurred_at: datetime
    data: dict[str, Any]

    @property
    def id(self) -> str:
        """Unique across directories and stable: the webhook-id and the API's event id."""
        return f"event_{self.directory}_{self.seq:012d}"
