"""The directory API's reads every backend offers: keyset pages and lookup by id.

A directory's users and groups are paged in creation order; a group's users and a user's
groups by the other side's id. Cursors are object ids, as hosted directory-sync APIs use
them. SQL backends share ``sqlreads.SqlDirectoryReads``; the ConfigMap backend answers
from its in-memory cache with the same semantics.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from .base import Kind, Resource

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Keyset:
    """One page request: at most ``limit`` objects after (or before) the object ``cursor``."""

    limit: int
    cursor: str | None = None
    before: bool = False
    descending: bool = True


class DirectoryReads(Protocol):
    def page(self, directory: str, kind: Kind, keyset: Keyset) -> tuple[list[Resource], bool]:
        """A page of the directory's users (with their groups) or groups (without members),
        in creation order, and whether more follow. A cursor that names no object of the
        directory gives an empty page."""

    def members_page(self, directory: str, group: str, keyset: Keyset) -> tuple[list[Resource], bool]:
        """A page of the users in ``group`` (with their groups), ordered by user id."""

    def groups_of_page(self, directory: str, user: str, keyset: Keyset) -> tuple[list[Resource], bool]:
        """A page of the groups ``user`` belongs to (without members), ordered by group id."""

    def locate(self, kind: Kind, id: str) -> str | None:
        """The directory holding the User or Group ``id`` (ids are unique across directories)."""


def keyset_slice(
    items: Sequence[T], keys: Sequence[Any], position: Any, keyset: Keyset
) -> tuple[list[T], bool]:
    """A keyset page of ``items`` (sorted ascending by ``keys``) after or before the key
    ``position`` (None: from the start of the listing's order), as the SQL reads page."""
    ascending = keyset.descending == keyset.before  # walk away from the cursor
    if ascending:
        start = 0 if position is None else bisect_right(keys, position)
        chosen = list(items[start : start + keyset.limit + 1])
    else:
        end = len(keys) if position is None else bisect_left(keys, position)
        chosen = list(items[max(0, end - keyset.limit - 1) : end])[::-1]
    more = len(chosen) > keyset.limit
    chosen = chosen[: keyset.limit]
    if keyset.before:
        chosen.reverse()
    return chosen, more
