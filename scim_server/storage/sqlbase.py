"""The skeleton both SQL backends share: get, query, delete and a locked PATCH.

Each backend supplies its SQL (as class attributes, precomputed, so a request builds
no statement text it does not need) and the few steps whose statements differ; the
order of the steps, the version check and the errors raised live only here.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from typing import Any, ClassVar

from ..events.model import resource_change
from ..scim.errors import NotFound
from ..scim.patch import MemberChange
from ..scim.query import ListQuery
from .base import Kind, Mutator, Page, ReplaceByPatch, Resource, RestoreByBatch
from .changes import MemberDelta
from .rows import check_version, group_entry, group_resource, member_entry, user_resource
from .sqlevents import SqlEventLog
from .sqlfilter import SqlFilterCompiler
from .sqlreads import TABLES as TABLES
from .sqlreads import SqlDirectoryReads
from .sqlwebhooks import SqlWebhookQueue

RELATED: dict[Kind, str] = {"User": "groups", "Group": "members"}


class SqlStorage(RestoreByBatch, ReplaceByPatch, SqlEventLog, SqlDirectoryReads, SqlWebhookQueue, ABC):
    """A backend whose rows are (id, data, created, last_modified, version, related)."""

    #: ``SELECT`` of one resource by directory and id, keyed by (kind, with related).
    get_sql: ClassVar[dict[tuple[Kind, bool], str]]
    #: ``SELECT data, version`` of one resource by directory and id, for a PATCH.
    lock_sql: ClassVar[dict[Kind, str]]
    #: ``SELECT version`` of one resource by directory and id, for a DELETE.
    version_sql: ClassVar[dict[Kind, str]]
    #: The positional parameter marker and the ORDER BY of a sort, NULLs last.
    param: ClassVar[str]
    sort_order: ClassVar[str]
    #: Whether the driver returns JSON columns as text (SQLite) rather than decoded.
    json_as_text: ClassVar[bool]

    @abstractmethod
    def _read(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        """One row of a single-statement read, or None."""

    @abstractmethod
    def _transaction(self) -> AbstractContextManager[Any]:
        """A write transaction yielding its connection; database errors mapped to SCIM errors."""

    @abstractmethod
    def _compiler(self, kind: Kind) -> SqlFilterCompiler:
        """The filter compiler of this backend's SQL dialect."""

    @abstractmethod
    def _page(
        self, kind: Kind, where: str, params: list[Any], order: str, order_params: list[Any], query: ListQuery
    ) -> Page:
        """Run a compiled query: the total and the requested page."""

    @abstractmethod
    def _update_attributes(
        self, conn: Any, directory: str, kind: Kind, id: str, data: dict[str, Any]
    ) -> None:
        """Write a resource's attributes and their columns (not its version)."""

    @abstractmethod
    def _apply_change(
        self, conn: Any, directory: str, group: str, change: MemberChange, ts: Any
    ) -> MemberDelta:
        """Apply one membership change; return who joined and left (true if anyone did)."""

    @abstractmethod
    def _touch(self, conn: Any, directory: str, kind: Kind, id: str, ts: Any) -> None:
        """Bump a resource's version and last modification time."""

    @abstractmethod
    def _delete_rows(self, conn: Any, directory: str, kind: Kind, id: str, ts: Any) -> None:
        """Delete a resource and its memberships, touching the groups it was a member of."""

    @abstractmethod
    def _now(self) -> Any:
        """The current time as this backend stores it."""

    # -- rendering ----------------------------------------------------------------------
    def _render(self, kind: Kind, row: tuple[Any, ...]) -> Resource:
        id_, data, created, modified, version, related = row
        if self.json_as_text:
            data = json.loads(data)
            related = json.loads(related) if related else None
        if kind == "User":
            groups = [group_entry(g, name) for g, name in related] if related else None
            return user_resource(id_, data, created, modified, version, groups)
        members = [member_entry(m, t) for m, t in related] if related else None
        return group_resource(id_, data, created, modified, version, members)

    def _snapshot(self, conn: Any, directory: str, kind: Kind, id: str) -> Resource:
        """A resource as an event carries it: a User with its groups, a Group without members."""
        row = conn.execute(self.get_sql[kind, kind == "User"], (directory, id)).fetchone()
        return self._render(kind, row)

    # -- reads --------------------------------------------------------------------------
    def get(self, directory: str, kind: Kind, id: str, *, members: bool = True) -> Resource:
        row = self._read(self.get_sql[kind, members], (directory, id))
        if row is None:
            raise NotFound(f"{kind} {id!r} not found")
        return self._render(kind, row)

    def query(self, directory: str, kind: Kind, query: ListQuery) -> Page:
        compiler = self._compiler(kind)
        where = f"r.directory_id = {self.param}"
        params: list[Any] = [directory]
        if query.filter is not None:
            sql, fparams = compiler.compile(query.filter)
            where += f" AND {sql}"
            params.extend(fparams)
        order, order_params = "r.seq", []
        if query.sort_by is not None:
            compiler.params = []
            expr = compiler.sort_expr(query.sort_by)
            direction = "DESC" if query.descending else "ASC"
            order = self.sort_order.format(expr=expr, direction=direction)
            order_params = compiler.params
        return self._page(kind, where, params, order, order_params, query)

    # -- writes -------------------------------------------------------------------------
    def _patch_locked(
        self,
        directory: str,
        kind: Kind,
        id: str,
        mutate: Mutator | None,
        changes: list[MemberChange],
        if_match: str | None,
    ) -> None:
        """PATCH under the row's write lock; a PATCH that changes nothing keeps the version.

        Raises NotFound, PreconditionFailed, Uniqueness, InvalidValue.
        """
        ts = self._now()
        with self._transaction() as conn:
            row = conn.execute(self.lock_sql[kind], (directory, id)).fetchone()
            if row is None:
                raise NotFound(f"{kind} {id!r} not found")
            check_version(if_match, int(row[1]))
            current = json.loads(row[0]) if self.json_as_text else row[0]
            updated = False
            if mutate is not None:
                data = mutate(dict(current))
                if data != current:
                    self._update_attributes(conn, directory, kind, id, data)
                    updated = True
            delta = MemberDelta()
            for change in changes:
                delta = delta.merge(self._apply_change(conn, directory, id, change, ts))
            if updated or delta:
                self._touch(conn, directory, kind, id, ts)
                after = self._snapshot(conn, directory, kind, id)
                before = with_attributes(after, current)
                events = [resource_change(kind, "updated", after, before)] if updated else []
                if kind == "Group":
                    events += self._membership_changes(conn, directory, after, delta)
                self._emit(conn, directory, events)

    def delete(self, directory: str, kind: Kind, id: str, *, if_match: str | None) -> None:
        with self._transaction() as conn:
            row = conn.execute(self.version_sql[kind], (directory, id)).fetchone()
            if row is None:
                raise NotFound(f"{kind} {id!r} not found")
            check_version(if_match, int(row[0]))
            gone = self._snapshot(conn, directory, kind, id)
            self._delete_rows(conn, directory, kind, id, self._now())
            self._emit(conn, directory, [resource_change(kind, "deleted", gone)])


_NOT_ATTRIBUTES = frozenset(("id", "schemas", "meta", "groups", "members"))


def with_attributes(resource: Resource, attributes: dict[str, Any]) -> Resource:
    """``resource`` with its attributes replaced by ``attributes`` (the state before an update)."""
    kept = {k: v for k, v in resource.items() if k in _NOT_ATTRIBUTES}
    return {**kept, **attributes}
