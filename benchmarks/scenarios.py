"""The scenarios, the data each phase stores first, and the wrk plan of each scenario.

Scenarios run in three phases so that each sees the directory size it is named for:

- ``reads``: 1,000 users; GET by id and ``userName eq`` cycle through all of them;
- ``big``: the same 1,000 plus enough users to reach ``--big-users``; ``userName eq``
  cycles through 1,000 names drawn uniformly from the whole directory;
- ``writes``: POST /Users, then member adds to groups of 10 and of 5,000 members.

A member add must add a user who is not a member yet, or it measures a no-op. Each
request k adds fresh user k div G to group k mod G, so every add is a real one and each
group grows by at most (requests / G). The sizes are chosen so that at up to
``RATE_BOUND`` req/s a group of 10 ends at most at 15 members and a group of 5,000 at most
at about 5,000 + RATE_BOUND * duration / 20; the report gives the actual growth.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote

from benchmarks.loadgen import Plan
from benchmarks.payloads import SCIM_JSON, add_members_body, template, user_body, user_name
from benchmarks.seedplan import GroupSet, Seeded, SeedPlan, UserSet

SMALL_DIRECTORY = 1_000
SMALL_GROUP = 10
BIG_GROUP = 5_000
ADDS_PER_SMALL_GROUP = 5
BIG_GROUPS = 20
RATE_BOUND = 2_500
SAMPLE = 1_000


@dataclass(frozen=True)
class Sizes:
    duration_s: float
    big_users: int
    repeat: int = 1

    @property
    def capacity(self) -> int:
        """Member adds a scenario may make (over all its runs) before it would repeat one."""
        return math.ceil(RATE_BOUND * (self.duration_s * self.repeat + 2))

    @property
    def small_groups(self) -> int:
        return math.ceil(self.capacity / ADDS_PER_SMALL_GROUP)

    @property
    def fresh_for_big(self) -> int:
        return math.ceil(self.capacity / BIG_GROUPS)


@dataclass(frozen=True)
class Scenario:
    key: str
    label: str
    phase: str
    ceiling: str | None
    warmup: bool = True


CEILINGS = [
    Scenario("json", "bare Flask JSON", "ceiling", None),
    Scenario("select", "one indexed SELECT", "ceiling", None),
    Scenario("insert", "one INSERT", "ceiling", None),
]


def scim_scenarios(sizes: Sizes) -> list[Scenario]:
    return [
        Scenario("get_user", f"GET /Users/{{id}} ({SMALL_DIRECTORY:,} users)", "reads", "select"),
        Scenario("filter_small", f"userName eq ({SMALL_DIRECTORY:,} users)", "reads", "select"),
        Scenario("filter_big", f"userName eq ({sizes.big_users:,} users)", "big", "select"),
        Scenario("post_user", "POST /Users", "writes", "insert"),
        Scenario("add_member_10", f"PATCH add member ({SMALL_GROUP})", "writes", "insert", False),
        Scenario("add_member_5000", f"PATCH add member ({BIG_GROUP:,})", "writes", "insert", False),
    ]


PHASES = ("reads", "big", "writes")


def seed_plan(phase: str, sizes: Sizes) -> SeedPlan:
    """What a phase stores before its scenarios run (sets already stored are kept)."""
    small = UserSet("a", "a", SMALL_DIRECTORY)
    if phase == "reads":
        return SeedPlan(users=[small])
    if phase == "big":
        rest = max(0, sizes.big_users - SMALL_DIRECTORY)
        return SeedPlan(users=[small, UserSet("z", "z", rest, need_ids=False)])
    return SeedPlan(
        users=[
            UserSet("s", "s", SMALL_GROUP),
            UserSet("sf", "sf", ADDS_PER_SMALL_GROUP),
            UserSet("b", "b", BIG_GROUP),
            UserSet("bf", "bf", sizes.fresh_for_big),
        ],
        groups=[
            GroupSet("small", "small", sizes.small_groups, "s", SMALL_GROUP),
            GroupSet("big", "big", BIG_GROUPS, "b", BIG_GROUP),
        ],
    )


def filter_names(phase: str, sizes: Sizes) -> list[str]:
    """The userNames a filter scenario cycles through: all of ``reads``, a sample of ``big``."""
    if phase == "reads":
        return [user_name(f"a{i}") for i in range(SMALL_DIRECTORY)]
    rng = random.Random(7)
    picks = rng.sample(range(sizes.big_users), min(SAMPLE, sizes.big_users))
    return [user_name(f"a{i}" if i < SMALL_DIRECTORY else f"z{i - SMALL_DIRECTORY}") for i in picks]


def scim_plan(
    scenario: Scenario, prefix: str, token: str, seeded: Seeded, sizes: Sizes, tag: str = ""
) -> Plan:
    """The wrk plan of a SCIM scenario against the base path ``prefix`` (``/v2``...).

    ``tag`` keeps the userNames of a warm-up apart from those of the measured run.
    """
    auth = {"Authorization": f"Bearer {token}"}
    write = {**auth, "Content-Type": SCIM_JSON}
    idle = f"{prefix}/ServiceProviderConfig"  # what wrk asks for past a plan's limit
    key = scenario.key
    if key == "get_user":
        return Plan("GET", [f"{prefix}/Users/{i}" for i in seeded.users["a"]], auth, idle_path=idle)
    if key.startswith("filter_"):
        names = filter_names(scenario.phase, sizes)
        filters = [quote(f'userName eq "{name}"') for name in names]
        return Plan("GET", [f"{prefix}/Users?filter={f}" for f in filters], auth, idle_path=idle)
    if key == "post_user":
        body = template(user_body(f"p{tag}{{n}}"), "{n}")
        return Plan("POST", [f"{prefix}/Users"], write, body, idle_path=idle)
    if key.startswith("add_member_"):
        groups, fresh = ("small", "sf") if key == "add_member_10" else ("big", "bf")
        return Plan(
            "PATCH",
            [f"{prefix}/Groups/{g}" for g in seeded.groups[groups]],
            write,
            template(add_members_body(["{v}"]), "{v}"),
            values=seeded.users[fresh],
            idle_path=idle,
        )
    raise ValueError(f"unknown scenario {key}")


def ceiling_plan(scenario: Scenario, ids: list[str], tag: str = "") -> Plan:
    """The wrk plan of a ceiling route."""
    if scenario.key == "json":
        return Plan("GET", ["/json"])
    if scenario.key == "select":
        return Plan("GET", [f"/select/{i}" for i in ids])
    body = template(user_body(f"c{tag}{{n}}"), "{n}")
    return Plan("POST", ["/insert"], {"Content-Type": "application/json"}, body)


def group_growth(scenario: Scenario, requests: int, sizes: Sizes) -> str:
    """How much the groups of a member-add scenario grew, for the report."""
    if scenario.key == "add_member_10":
        return growth_note(SMALL_GROUP, sizes.small_groups, requests)
    if scenario.key == "add_member_5000":
        return growth_note(BIG_GROUP, BIG_GROUPS, requests)
    return ""


def growth_note(start: int, groups: int, requests: int) -> str:
    """``members 10 -> <= 15``: groups of ``start`` after ``requests`` adds spread over ``groups``."""
    return f"members {start:,} -> <= {start + math.ceil(requests / groups):,}"


class Capacity(Protocol):
    """What a target runs of the scenarios, and on which data."""

    def seed_plan(self, phase: str) -> SeedPlan:
        """What the phase stores first (sets already stored are kept)."""
        ...

    def beyond(self, scenario: Scenario) -> str:
        """Why the target does not run ``scenario`` (its row's note), or "" when it does."""
        ...

    def budget(self, scenario: Scenario) -> int:
        """At most this many requests over the scenario's warm-up and rounds (0: no bound)."""
        ...

    def group_growth(self, scenario: Scenario, requests: int) -> str:
        """The report's note on how far the scenario's groups grew (see ``group_growth``)."""
        ...


@dataclass(frozen=True)
class FullSize:
    """Every scenario as designed, on ``seed_plan``'s data: kubescim on PostgreSQL, scim2-server."""

    sizes: Sizes

    def seed_plan(self, phase: str) -> SeedPlan:
        return seed_plan(phase, self.sizes)

    def beyond(self, scenario: Scenario) -> str:
        return ""

    def budget(self, scenario: Scenario) -> int:
        return 0

    def group_growth(self, scenario: Scenario, requests: int) -> str:
        return group_growth(scenario, requests, self.sizes)
