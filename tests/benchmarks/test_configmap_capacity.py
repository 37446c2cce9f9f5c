"""The ConfigMap target's data and write budgets stay within docs/storage-configmaps.md's capacity."""

from __future__ import annotations

import math

import pytest

from benchmarks import configmap_capacity as cm
from benchmarks.scenarios import PHASES, Scenario, Sizes, scim_scenarios, seed_plan

SIZES = Sizes(duration_s=10, big_users=100_000)
CAPACITY = cm.ConfigMapCapacity()


def scenario(key: str) -> Scenario:
    return next(s for s in scim_scenarios(SIZES) if s.key == key)


def phase(name: str) -> list[Scenario]:
    return [s for s in scim_scenarios(SIZES) if s.phase == name]


def test_runs_the_scenarios_that_fit_and_says_why_not_for_the_others() -> None:
    verdicts = {s.key: CAPACITY.beyond(s) for s in scim_scenarios(SIZES)}
    assert verdicts == {
        "get_user": "",
        "filter_small": "",
        "filter_big": "n/a: beyond ConfigMap capacity (docs/storage-configmaps.md)",
        "post_user": "",
        "add_member_10": "",
        "add_member_5000": "n/a: beyond ConfigMap capacity (docs/storage-configmaps.md)",
    }


def test_the_directory_never_exceeds_its_documented_users_and_groups() -> None:
    plans = [CAPACITY.seed_plan(p) for p in PHASES if any(not CAPACITY.beyond(s) for s in phase(p))]
    users = {u.name: u.count for plan in plans for u in plan.users}  # a set stored once is kept
    groups = {g.name: g for plan in plans for g in plan.groups}
    posted = CAPACITY.budget(scenario("post_user"))
    assert posted > 0
    assert sum(users.values()) + posted == cm.MAX_USERS
    assert sum(g.count for g in groups.values()) <= cm.MAX_GROUPS


def test_reads_see_the_same_directory_as_every_other_target() -> None:
    assert CAPACITY.seed_plan("reads").users == seed_plan("reads", SIZES).users


def test_member_adds_are_all_real_and_groups_stay_small() -> None:
    writes = CAPACITY.seed_plan("writes")
    (small,) = writes.groups
    fresh = next(u for u in writes.users if u.name == "sf")
    budget = CAPACITY.budget(scenario("add_member_10"))
    # request k adds fresh user k div G to group k mod G: distinct pairs before a repeat
    assert budget <= small.count * fresh.count
    assert small.members + math.ceil(budget / small.count) <= cm.MAX_MEMBERS
    assert CAPACITY.group_growth(scenario("add_member_10"), 10**6) == f"members 10 -> <= {10 + fresh.count}"


@pytest.mark.parametrize("key", ["get_user", "filter_small"])
def test_reads_have_no_budget(key: str) -> None:
    assert CAPACITY.budget(scenario(key)) == 0
