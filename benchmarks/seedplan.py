"""What a benchmark phase stores before it is measured, for any target.

A plan is data (sets of users, sets of groups whose members are the first users of a
user set), so the in-process seeding of scim2-server and the HTTP seeding of kubescim
store exactly the same resources.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class UserSet:
    """``count`` users named ``payloads.user_name(f"{prefix}{i}")``.

    ``need_ids`` false lets a seeder skip collecting ids (bulk users only found by name).
    """

    name: str
    prefix: str
    count: int
    need_ids: bool = True

    def suffix(self, i: int) -> str:
        return f"{self.prefix}{i}"


@dataclass(frozen=True)
class GroupSet:
    """``count`` groups, each holding the first ``members`` users of ``members_from``."""

    name: str
    prefix: str
    count: int
    members_from: str
    members: int

    def suffix(self, i: int) -> str:
        return f"{self.prefix}{i}"


@dataclass
class SeedPlan:
    users: list[UserSet] = field(default_factory=list)
    groups: list[GroupSet] = field(default_factory=list)

    def dump(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)))

    @classmethod
    def load(cls, path: Path) -> SeedPlan:
        raw = json.loads(path.read_text())
        return cls(
            users=[UserSet(**u) for u in raw["users"]],
            groups=[GroupSet(**g) for g in raw["groups"]],
        )


@dataclass
class Seeded:
    """The ids of what a plan stored, by set name."""

    users: dict[str, list[str]] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)

    def dump(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)))

    @classmethod
    def load(cls, path: Path) -> Seeded:
        raw = json.loads(path.read_text())
        return cls(users=raw["users"], groups=raw["groups"])
