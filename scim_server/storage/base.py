"""The storage interface every backend implements, and the contract's value types.

Resources cross this boundary as SCIM-shaped dicts (``id``, ``schemas``, attributes,
``meta`` with ``version`` as a weak ETag) without ``meta.location`` and ``$ref``,
which depend on the URL the client used. Every method is scoped to one directory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from ..scim.patch import MemberChange
from ..scim.query import ListQuery

Kind = Literal["User", "Group"]
Resource = dict[str, Any]
Mutator = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Page:
    total: int
    resources: list[Resource]


@dataclass(frozen=True, slots=True)
class DirectoryStats:
    users: int
    groups: int
    last_change: datetime | None


class Storage(Protocol):
    """Directory state. Errors raised are ``scim_server.scim.errors`` classes."""

    def ping(self) -> None:
        """A cheap read that proves the backend answers. Raises on failure."""

    def close(self) -> None:
        """Release connections."""

    def create(self, directory: str, kind: Kind, doc: dict[str, Any]) -> Resource:
        """Store a new resource from its canonical form (for a Group, ``members`` included).

        Raises Uniqueness on a taken userName/displayName, InvalidValue for a member
        id that is not a User or Group of this directory.
        """

    def get(self, directory: str, kind: Kind, id: str, *, members: bool = True) -> Resource:
        """Return one resource; ``members=False`` skips reading a Group's members.

        Raises NotFound.
        """

    def replace(
        self, directory: str, kind: Kind, id: str, doc: dict[str, Any], *, if_match: str | None
    ) -> Resource:
        """Replace a resource's attributes (PUT). Raises NotFound, PreconditionFailed, Uniqueness."""

    def patch(
        self,
        directory: str,
        kind: Kind,
        id: str,
        mutate: Mutator | None,
        changes: list[MemberChange],
        *,
        if_match: str | None,
        members: bool,
    ) -> Resource:
        """Apply ``mutate`` to the canonical attributes (without members) and ``changes``
        to a Group's membership, atomically. Membership changes cost O(changed members).

        Returns the updated resource, with members only if ``members``.
        Raises NotFound, PreconditionFailed, Uniqueness, InvalidValue (unknown member).
        """

    def delete(self, directory: str, kind: Kind, id: str, *, if_match: str | None) -> None:
        """Delete a resource and its memberships. Raises NotFound, PreconditionFailed."""

    def query(self, directory: str, kind: Kind, query: ListQuery) -> Page:
        """Filter, sort and page in the database. Raises InvalidFilter."""

    def stats(self, directory: str) -> DirectoryStats:
        """User and group counts and the time of the last change."""

    def delete_directory(self, directory: str) -> None:
        """Delete every resource of a directory."""

    def purge_inactive(self, directory: str) -> int:
        """Delete the directory's users with ``active`` false (and their memberships).

        Returns how many were deleted. For directories whose policy is to not keep
        deactivated users.
        """

    def restore(self, directory: str, kind: Kind, doc: dict[str, Any]) -> Resource:
        """Insert one resource exactly as exported (``exported.Exported`` reads ``doc``):
        its ``id``, attributes, ``meta.created`` and ``meta.lastModified`` and, for a
        Group, its ``members`` (ids of this directory). ``meta.version`` is kept where the
        backend numbers versions itself, else it is the backend's own.

        Returns the stored resource. Raises Uniqueness for a taken id or
        userName/displayName, InvalidValue for an unknown member or a malformed ``doc``.
        """

    def restore_many(self, directory: str, kind: Kind, docs: Sequence[dict[str, Any]]) -> None:
        """``restore`` for many resources of one kind, all or none, in as few writes as
        the backend allows. A Group's members may also name groups of the same batch
        (nested groups, even in a cycle).

        Raises what ``restore`` raises; then none of ``docs`` is stored.
        """


class RestoreByBatch:
    """``restore`` as a batch of one."""

    def restore(self: Storage, directory: str, kind: Kind, doc: dict[str, Any]) -> Resource:
        self.restore_many(directory, kind, [doc])
        return self.get(directory, kind, doc["id"])


class ReplaceByPatch:
    """PUT as a PATCH that sets every attribute and, for a Group, the whole member set."""

    def replace(
        self: Storage, directory: str, kind: Kind, id: str, doc: dict[str, Any], *, if_match: str | None
    ) -> Resource:
        changes: list[MemberChange] = []
        if kind == "Group":
            changes = [MemberChange("replace", tuple(m["value"] for m in doc.get("members") or []))]
            doc = {k: v for k, v in doc.items() if k != "members"}
        return self.patch(directory, kind, id, lambda _old: doc, changes, if_match=if_match, members=True)
