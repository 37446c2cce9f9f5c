"""Checking a whole export before anything is written, and the order of the writes.

The plan sees every line first: duplicate ids and names (case-folded, as the stores
compare them), members that name nothing, counts that disagree with the header. Only a
file that passes is written: users, then groups in batches where every group's member
groups are in the same or an earlier batch (a cycle stays in one batch), each in file
order, so the target lists them as the source did.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from ..scim.casefold import fold
from ..storage.base import Kind
from .format import Entry, Header, LineError

#: Resources per write: large enough that a batch's round trips are few, small enough
#: that a batch's memory and transaction stay modest.
BATCH = 1000


@dataclass(slots=True)
class Existing:
    """What the target directory already holds (an import with ``--merge``)."""

    kinds: dict[str, Kind] = field(default_factory=dict)
    names: set[tuple[Kind, str]] = field(default_factory=set)


@dataclass(slots=True)
class ImportPlan:
    """The validated lines of one export, in the order to write them."""

    header: Header
    existing: Existing = field(default_factory=Existing)
    users: list[str] = field(default_factory=list)
    groups: list[Entry] = field(default_factory=list)
    _kinds: dict[str, Kind] = field(default_factory=dict)
    _lines: dict[str, int] = field(default_factory=dict)
    _names: dict[tuple[Kind, str], int] = field(default_factory=dict)

    def add(self, entry: Entry) -> None:
        """Take one line. Raises LineError for an id or a name seen before or already stored."""
        if entry.id in self._lines:
            raise LineError(entry.line, f"duplicate id {entry.id!r} (first on line {self._lines[entry.id]})")
        if entry.id in self.existing.kinds:
            raise LineError(entry.line, f"id {entry.id!r} already exists in the target directory")
        key = (entry.kind, fold(entry.name))
        attribute = "userName" if entry.kind == "User" else "displayName"
        if key in self._names:
            raise LineError(
                entry.line, f"duplicate {attribute} {entry.name!r} (first on line {self._names[key]})"
            )
        if key in self.existing.names:
            raise LineError(entry.line, f"{attribute} {entry.name!r} already exists in the target directory")
        self._lines[entry.id] = entry.line
        self._kinds[entry.id] = entry.kind
        self._names[key] = entry.line
        if entry.kind == "User":
            self.users.append(entry.text)
        else:
            self.groups.append(entry)

    def finish(self, last_line: int) -> None:
        """Check what needs every line. Raises LineError."""
        if (len(self.users), len(self.groups)) != (self.header.users, self.header.groups):
            raise LineError(
                last_line,
                f"the header announces {self.header.users} users and {self.header.groups} groups, "
                f"the file holds {len(self.users)} and {len(self.groups)} (truncated or edited?)",
            )
        for group in self.groups:
            for member, declared in group.members:
                kind = self._kinds.get(member) or self.existing.kinds.get(member)
                if kind is None:
                    raise LineError(group.line, f"member {member!r} is neither in the file nor in the target")
                if declared is not None and declared != kind:
                    raise LineError(group.line, f"member {member!r} is a {kind}, not a {declared}")

    def user_batches(self, size: int = BATCH) -> Iterator[list[str]]:
        for start in range(0, len(self.users), size):
            yield self.users[start : start + size]

    def group_batches(self, size: int = BATCH) -> Iterator[list[str]]:
        """Groups in file order (so the listing order survives), cut into batches only
        where no group before the cut has a member group after it: every batch needs
        only groups of earlier batches or its own (nested groups, cycles)."""
        position = {entry.id: i for i, entry in enumerate(self.groups)}
        start, reach = 0, -1
        for i, entry in enumerate(self.groups):
            # ``reach``: the furthest position a group so far needs as a member.
            reach = max(reach, i, *(position.get(m, -1) for m, _ in entry.members))
            if reach == i and (i + 1 - start >= size or i + 1 == len(self.groups)):
                yield [e.text for e in self.groups[start : i + 1]]
                start = i + 1
