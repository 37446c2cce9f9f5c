"""Keyset-paged reads for the directory API: a page costs O(page) at any directory size.

A directory's users and groups are paged by ``seq`` (their creation order, indexed with
the directory); a group's users and a user's groups by the other side's id (the
membership keys). Cursors are object ids, as hosted directory-sync APIs use them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from .base import Kind, Resource
from .reads import Keyset

TABLES: dict[Kind, str] = {"User": "users", "Group": "groups"}


class SqlDirectoryReads(ABC):
    """``DirectoryReads`` over the SQL backends' tables."""

    #: ``SELECT`` of resources (alias ``r``), keyed by (kind, with related).
    select_sql: ClassVar[dict[tuple[Kind, bool], str]]
    param: ClassVar[str]

    @abstractmethod
    def _read_all(self, sql: str, params: tuple[Any, ...] | list[Any]) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    def _render(self, kind: Kind, row: tuple[Any, ...]) -> Resource: ...

    def _q(self, text: str) -> str:
        return text if self.param == "?" else text.replace("?", self.param)

    def page(self, directory: str, kind: Kind, keyset: Keyset) -> tuple[list[Resource], bool]:
        """A page of the directory's users (with their groups) or groups, and whether more follow."""
        table = TABLES[kind]
        where, params = "r.directory_id = ?", [directory]
        return self._keyset(
            kind, self.select_sql[kind, kind == "User"], where, params, "r.seq", table, keyset
        )

    def members_page(self, directory: str, group: str, keyset: Keyset) -> tuple[list[Resource], bool]:
        """A page of the users in ``group``, ordered by user id."""
        select = self.select_sql["User", True] + " JOIN memberships mm ON mm.member_id = r.id"
        where = "mm.directory_id = ? AND mm.group_id = ? AND mm.member_type = 'User' AND r.directory_id = ?"
        return self._keyset(
            "User", select, where, [directory, group, directory], "mm.member_id", None, keyset
        )

    def groups_of_page(self, directory: str, user: str, keyset: Keyset) -> tuple[list[Resource], bool]:
        """A page of the groups ``user`` belongs to, ordered by group id."""
        select = self.select_sql["Group", False] + " JOIN memberships mm ON mm.group_id = r.id"
        where = "mm.directory_id = ? AND mm.member_id = ? AND r.directory_id = ?"
        return self._keyset("Group", select, where, [directory, user, directory], "mm.group_id", None, keyset)

    def locate(self, kind: Kind, id: str) -> str | None:
        """The directory holding the User or Group ``id`` (ids are unique across directories)."""
        rows = self._read_all(self._q(f"SELECT directory_id FROM {TABLES[kind]} WHERE id = ?"), (id,))
        return str(rows[0][0]) if rows else None

    def _keyset(
        self,
        kind: Kind,
        select: str,
        where: str,
        params: list[Any],
        key: str,
        seq_table: str | None,
        keyset: Keyset,
    ) -> tuple[list[Resource], bool]:
        # Walk forwards in the listing's order, or backwards from the cursor for ``before``.
        ascending = keyset.descending == keyset.before
        if keyset.cursor is not None:
            op = ">" if ascending else "<"
            if seq_table is not None:  # the cursor's position is its seq
                where += f" AND {key} {op} (SELECT seq FROM {seq_table} WHERE directory_id = ? AND id = ?)"
                params = [*params, params[0], keyset.cursor]
            else:
                where += f" AND {key} {op} ?"
                params = [*params, keyset.cursor]
        order = "ASC" if ascending else "DESC"
        sql = f"{select} WHERE {where} ORDER BY {key} {order} LIMIT ?"
        rows = self._read_all(self._q(sql), [*params, keyset.limit + 1])
        more = len(rows) > keyset.limit
        resources = [self._render(kind, row) for row in rows[: keyset.limit]]
        if keyset.before:
            resources.reverse()
        return resources, more
