"""Import planning: duplicates refused by line, and group batches that restore nested groups."""

from __future__ import annotations

import json

import pytest

from scim_server.transfer.format import Entry, Header, LineError
from scim_server.transfer.plan import Existing, ImportPlan


def group(line: int, id: str, *members: str) -> Entry:
    return Entry(
        line, "Group", id, f"group-{id}", tuple((m, "Group") for m in members), json.dumps({"id": id})
    )


def batches(plan: ImportPlan, size: int) -> list[list[str]]:
    return [[json.loads(text)["id"] for text in batch] for batch in plan.group_batches(size)]


def plan_of(*groups: Entry) -> ImportPlan:
    plan = ImportPlan(Header("d", 0, len(groups), ""))
    for entry in groups:
        plan.add(entry)
    plan.finish(len(groups) + 1)
    return plan


def test_groups_without_forward_members_are_cut_at_the_batch_size() -> None:
    plan = plan_of(group(2, "a"), group(3, "b", "a"), group(4, "c"), group(5, "d", "c"), group(6, "e"))
    assert batches(plan, 2) == [["a", "b"], ["c", "d"], ["e"]]


def test_a_group_whose_member_comes_later_stays_in_its_batch() -> None:
    # b holds d (later in the file): no cut between b and d, the file order is kept.
    plan = plan_of(group(2, "a"), group(3, "b", "d"), group(4, "c"), group(5, "d"), group(6, "e"))
    assert batches(plan, 1) == [["a"], ["b", "c", "d"], ["e"]]


def test_a_cycle_is_one_batch() -> None:
    plan = plan_of(group(2, "x", "z"), group(3, "y", "x"), group(4, "z", "y"), group(5, "w"))
    assert batches(plan, 1) == [["x", "y", "z"], ["w"]]


def test_a_name_taken_in_the_target_is_refused_with_its_line() -> None:
    plan = ImportPlan(Header("d", 0, 1, ""), Existing(names={("Group", "group-a")}))
    with pytest.raises(LineError, match=r"^line 7: displayName 'group-a' already exists in the target"):
        plan.add(group(7, "a"))


def test_a_member_may_be_a_resource_of_the_target() -> None:
    plan = ImportPlan(Header("d", 0, 1, ""), Existing(kinds={"old": "Group"}))
    plan.add(group(2, "a", "old"))
    plan.finish(2)
    assert batches(plan, 10) == [["a"]]
