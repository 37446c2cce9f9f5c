"""Who joined and left a group in one write: what membership events are made from."""

from __future__ import annotations

from dataclasses import dataclass, field

Member = tuple[str, str]  # (id, "User" | "Group")


@dataclass(slots=True)
class MemberDelta:
    """Members a write added and removed; true when anything changed."""

    added: list[Member] = field(default_factory=list)
    removed: list[Member] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed)

    def merge(self, other: MemberDelta) -> MemberDelta:
        return MemberDelta(self.added + other.added, self.removed + other.removed)

    def net(self) -> MemberDelta:
        """Drop a member both added and removed in the same write (no change for it)."""
        added, removed = {m[0] for m in self.added}, {m[0] for m in self.removed}
        return MemberDelta(
            list(dict.fromkeys(m for m in self.added if m[0] not in removed)),
            list(dict.fromkeys(m for m in self.removed if m[0] not in added)),
        )

    def user_ids(self) -> list[str]:
        return list(dict.fromkeys(m[0] for m in (*self.added, *self.removed) if m[1] == "User"))
