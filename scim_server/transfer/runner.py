"""Export a directory from a ``Storage``, and import a checked plan into one.

Both work through the storage interface alone, so they run on every backend. An export
is not a snapshot: it pages through the directory, and fails if the counts or the
memberships it read disagree (something wrote meanwhile). An import writes nothing
until the whole file has passed the plan, and undoes its own writes if the store
refuses one (a name taken meanwhile, an id used by another directory of the database).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime

from ..scim.casefold import fold
from ..scim.errors import ScimError
from ..scim.projection import Projection
from ..scim.query import ListQuery
from ..storage.base import Kind, Resource, Storage
from .format import Header, LineError, read_header, read_resource, resource_line
from .plan import Existing, ImportPlan

#: Resources per read while exporting; groups carry their members, so fewer per page.
PAGE: dict[Kind, int] = {"User": 10_000, "Group": 200}
_NAMES: tuple[tuple[Kind, str], ...] = (("User", "userName"), ("Group", "displayName"))
#: A User is exported without ``groups`` (the groups' members say it), so not read.
_NO_GROUPS = Projection(exclude=frozenset({(None, "groups", None)}))


class TransferError(Exception):
    """An export or import that could not complete; ``str()`` is one line for the user."""


def _pages(storage: Storage, directory: str, kind: Kind) -> Iterator[Resource]:
    start = 1
    while True:
        query = ListQuery(start_index=start, count=PAGE[kind], projection=_NO_GROUPS)
        page = storage.query(directory, kind, query)
        yield from page.resources
        if len(page.resources) < PAGE[kind]:
            return
        start += len(page.resources)


def export_directory(
    storage: Storage, directory: str, write: Callable[[str], object], *, generator: str
) -> Header:
    """Write the header and every resource as lines. Raises TransferError when the
    directory changed while it was read (the output is then incomplete)."""
    stats = storage.stats(directory)
    exported_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    header = Header(directory, stats.users, stats.groups, exported_at, generator)
    write(header.line() + "\n")
    ids: set[str] = set()
    counts: dict[Kind, int] = {"User": 0, "Group": 0}
    members: set[str] = set()
    for kind, _ in _NAMES:
        for resource in _pages(storage, directory, kind):
            write(resource_line(kind, resource) + "\n")
            ids.add(resource["id"])
            counts[kind] += 1
            members.update(m["value"] for m in resource.get("members") or [])
    if (counts["User"], counts["Group"]) != (header.users, header.groups) or not members <= ids:
        raise TransferError(
            f"directory {directory!r} changed while it was exported; stop provisioning to it "
            "(suspend the directory or pause the IdP) and export again"
        )
    return header


def existing(storage: Storage, directory: str) -> Existing:
    """The ids and case-folded names a directory holds, for a merging import."""
    found = Existing()
    for kind, attribute in _NAMES:
        for resource in _pages(storage, directory, kind):
            found.kinds[resource["id"]] = kind
            found.names.add((kind, fold(resource[attribute])))
    return found


def read_export(lines: Iterable[str], found: Existing | None = None) -> ImportPlan:
    """Validate a whole export. Raises LineError for the first line that is wrong."""
    numbered = enumerate(lines, start=1)
    first = next(numbered, None)
    if first is None:
        raise LineError(1, "the input is empty (expected a kubescim export)")
    plan = ImportPlan(read_header(first[1]), found or Existing())
    last = 1
    for last, text in numbered:
        if text.strip():
            plan.add(read_resource(last, text))
    plan.finish(last)
    return plan


def import_plan(
    storage: Storage,
    directory: str,
    plan: ImportPlan,
    progress: Callable[[int], None] = lambda _done: None,
) -> int:
    """Write a checked plan: users, then groups. Returns how many resources were written;
    ``progress`` hears the running total after each batch.

    Raises TransferError if the store refuses a batch; what this import wrote is then
    deleted again, so the directory is as it was (likewise when interrupted).
    """
    written: list[tuple[Kind, str]] = []
    batches: list[tuple[Kind, list[str]]] = [("User", b) for b in plan.user_batches()]
    batches += [("Group", b) for b in plan.group_batches()]
    merged = bool(plan.existing.kinds)
    try:
        for kind, batch in batches:
            docs = [json.loads(text) for text in batch]
            storage.restore_many(directory, kind, docs)
            written.extend((kind, d["id"]) for d in docs)
            progress(len(written))
    except ScimError as exc:
        _undo(storage, directory, written, merged=merged)
        raise TransferError(
            f"the store refused {kind.lower()}s {docs[0]['id']}..{docs[-1]['id']}: {exc.detail}; "
            f"nothing was imported{_hint(exc)}"
        ) from None
    except KeyboardInterrupt:
        _undo(storage, directory, written, merged=merged)
        raise
    return len(written)


def _hint(exc: ScimError) -> str:
    if "id already exists" in exc.detail:
        return " (ids are unique across a database: import into another database, or delete the other copy)"
    return ""


def _undo(storage: Storage, directory: str, written: list[tuple[Kind, str]], *, merged: bool) -> None:
    """Delete what an import wrote: the whole directory if it was empty before, else one by one."""
    if not merged:
        storage.delete_directory(directory)
        return
    for kind, id in reversed(written):
        storage.delete(directory, kind, id, if_match=None)
