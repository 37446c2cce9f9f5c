"""What the ``kubescim-configmaps`` target runs of ``scim_throughput``'s scenarios, on what data.

ConfigMap storage is a small-directory backend (docs/storage-configmaps.md: 2,000 users
and 200 groups per directory, 5,000 members per group). It runs the scenarios that fit,
on data sized for it, and its rows for the others say ``BEYOND``:

- ``reads``: the same 1,000 users as every target (GET by id, ``userName eq``);
- ``big`` (``userName eq`` among ``--big-users``): beyond it;
- ``writes``: POST /Users, and member adds to ``GROUPS`` groups of 10 (request k adds
  fresh user k div GROUPS to group k mod GROUPS, so every add is a real one and a group
  ends at most at 10 + ``FRESH``); the 5,000-member group is beyond it.

The directory must stay within 2,000 users whatever the host's speed, so each write
scenario has a request budget over its warm-up and rounds (``interleave.Contender``
``budget``): 1,000 + 10 + ``FRESH`` seeded users plus ``POST_BUDGET`` POSTs is 2,000.
A run that reaches its share of the budget stops early; its req/s stays a rate over the
time it ran.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.scenarios import SMALL_DIRECTORY, SMALL_GROUP, Scenario, growth_note
from benchmarks.seedplan import GroupSet, SeedPlan, UserSet

MAX_USERS = 2_000
MAX_GROUPS = 200
MAX_MEMBERS = 5_000
"""The documented maxima (docs/storage-configmaps.md, "Capacity")."""

GROUPS = 100
FRESH = 20
"""Users not yet in any group, added by the member adds (each group gains at most FRESH)."""
POST_BUDGET = MAX_USERS - SMALL_DIRECTORY - SMALL_GROUP - FRESH
ADD_BUDGET = GROUPS * FRESH
"""Member adds before one would repeat (a no-op)."""

BEYOND = "n/a: beyond ConfigMap capacity (docs/storage-configmaps.md)"
FITS = frozenset({"get_user", "filter_small", "post_user", "add_member_10"})


@dataclass(frozen=True)
class ConfigMapCapacity:
    """The ``scenarios.Capacity`` of ConfigMap storage."""

    def seed_plan(self, phase: str) -> SeedPlan:
        directory = UserSet("a", "a", SMALL_DIRECTORY)
        if phase != "writes":
            return SeedPlan(users=[directory])
        return SeedPlan(
            users=[directory, UserSet("s", "s", SMALL_GROUP), UserSet("sf", "sf", FRESH)],
            groups=[GroupSet("small", "small", GROUPS, "s", SMALL_GROUP)],
        )

    def beyond(self, scenario: Scenario) -> str:
        return "" if scenario.key in FITS else BEYOND

    def budget(self, scenario: Scenario) -> int:
        return {"post_user": POST_BUDGET, "add_member_10": ADD_BUDGET}.get(scenario.key, 0)

    def group_growth(self, scenario: Scenario, requests: int) -> str:
        if scenario.key != "add_member_10":
            return ""
        return growth_note(SMALL_GROUP, GROUPS, min(requests, ADD_BUDGET))
