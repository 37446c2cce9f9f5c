"""The event outbox: every backend writes exactly the events of a change, in its transaction."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from scim_server.events.model import StoredEvent
from scim_server.scim.errors import InvalidValue, Uniqueness
from scim_server.scim.patch import MemberChange
from scim_server.storage import Storage
from tests.support.members import change_members

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def _events(storage: Storage, directory: str, after: int = 0) -> list[StoredEvent]:
    return storage.events(directory, after=after, limit=1000)  # type: ignore[attr-defined,no-any-return]


def _types(storage: Storage, directory: str, after: int = 0) -> list[str]:
    return [e.type for e in _events(storage, directory, after)]


def _last(storage: Storage, directory: str) -> int:
    return int(storage.last_event(directory))  # type: ignore[attr-defined]


def _rename(name: str) -> Any:
    return lambda doc: {**doc, "displayName": name}


def test_a_created_user_emits_one_event_carrying_it(storage: Storage, directory: str) -> None:
    created = storage.create(directory, "User", {"userName": "ada", "active": True})

    [event] = _events(storage, directory)
    assert (event.type, event.seq) == ("dsync.user.created", 1)
    assert event.data["resource"]["id"] == created["id"]
    assert event.data["resource"]["userName"] == "ada"
    assert event.id == f"event_{directory}_000000000001"


def test_an_update_carries_the_state_before_and_after(storage: Storage, directory: str) -> None:
    user = storage.create(directory, "User", {"userName": "ada", "title": "Engineer", "active": True})
    storage.patch(
        directory, "User", user["id"], lambda d: {**d, "title": "CTO"}, [], if_match=None, members=True
    )

    event = _events(storage, directory)[-1]
    assert event.type == "dsync.user.updated"
    assert event.data["resource"]["title"] == "CTO"
    assert event.data["previous"]["title"] == "Engineer"
    assert event.data["previous"]["id"] == user["id"]


@pytest.mark.parametrize("groups", [0, 2])
def test_an_update_event_carries_the_user_as_read_before_and_after(
    storage: Storage, directory: str, groups: int
) -> None:
    """PostgreSQL renders the updated user in SQL (one statement with its event): it must
    carry exactly what a read returns, groups and extension included."""
    doc = {"userName": "Ada", "title": "Engineer", "active": True, ENTERPRISE: {"employeeNumber": "7"}}
    user = storage.create(directory, "User", doc)
    for n in range(groups):
        group = storage.create(directory, "Group", {"displayName": f"team-{n}"})
        change_members(storage, directory, group["id"], "add", user["id"])
    before = storage.get(directory, "User", user["id"])
    mark = _last(storage, directory)

    storage.patch(
        directory, "User", user["id"], lambda d: {**d, "title": "CTO"}, [], if_match=None, members=True
    )

    [event] = _events(storage, directory, mark)
    assert event.type == "dsync.user.updated"
    assert event.data["resource"] == storage.get(directory, "User", user["id"])
    assert len(event.data["resource"].get("groups", [])) == groups
    # Consumers read the previous attributes; its meta is not one (timestamps are not).
    previous = {k: v for k, v in event.data["previous"].items() if k != "meta"}
    assert previous == {k: v for k, v in before.items() if k != "meta"}


def test_a_change_that_changes_nothing_emits_nothing(storage: Storage, directory: str) -> None:
    user = storage.create(directory, "User", {"userName": "ada", "active": True})
    group = storage.create(directory, "Group", {"displayName": "eng", "members": [{"value": user["id"]}]})
    before = _last(storage, directory)

    storage.patch(directory, "User", user["id"], lambda d: dict(d), [], if_match=None, members=True)
    change_members(storage, directory, group["id"], "add", user["id"])
    storage.patch(directory, "Group", group["id"], _rename("eng"), [], if_match=None, members=False)
    storage.replace(
        directory,
        "Group",
        group["id"],
        {"displayName": "eng", "members": [{"value": user["id"]}]},
        if_match=None,
    )

    assert _last(storage, directory) == before
    assert _events(storage, directory, after=before) == []


def test_membership_changes_emit_one_event_per_user(storage: Storage, directory: str) -> None:
    a = storage.create(directory, "User", {"userName": "a", "active": True})
    b = storage.create(directory, "User", {"userName": "b", "active": True})
    nested = storage.create(directory, "Group", {"displayName": "nested"})
    group = storage.create(directory, "Group", {"displayName": "eng", "members": [{"value": a["id"]}]})
    start = _last(storage, directory) - 2  # group.created and a's user_added
    assert _types(storage, directory, start) == ["dsync.group.created", "dsync.group.user_added"]

    mark = _last(storage, directory)
    # the single add (PostgreSQL's one-statement path), then a multi-change PATCH
    change_members(storage, directory, group["id"], "add", b["id"])
    storage.patch(
        directory,
        "Group",
        group["id"],
        _rename("engineering"),
        [MemberChange("remove", (a["id"],)), MemberChange("add", (nested["id"],))],
        if_match=None,
        members=False,
    )
    change_members(storage, directory, group["id"], "remove", b["id"])

    events = _events(storage, directory, mark)
    assert [e.type for e in events] == [
        "dsync.group.user_added",
        "dsync.group.updated",
        "dsync.group.user_removed",
        "dsync.group.user_removed",
    ]
    assert [e.data.get("user", {}).get("id") for e in events] == [b["id"], None, a["id"], b["id"]]
    assert events[1].data["previous"]["displayName"] == "eng"
    assert {e.data.get("group", e.data.get("resource"))["id"] for e in events} == {group["id"]}


@pytest.mark.parametrize("extension", [False, True], ids=["core", "enterprise"])
@pytest.mark.parametrize("path", ["single", "multi"])
def test_a_membership_event_carries_the_user_and_the_group_as_stored(
    storage: Storage, directory: str, extension: bool, path: str
) -> None:
    """Whoever renders the event (PostgreSQL renders the single add/remove in SQL), it
    carries exactly what a read returns: the user without groups, the group without
    members, both as they are after the change."""
    doc: dict[str, Any] = {"userName": "Ada", "active": True, "name": {"givenName": "Ada"}}
    if extension:
        doc[ENTERPRISE] = {"employeeNumber": "7", "manager": {"value": "boss"}}
    user = storage.create(directory, "User", doc)
    group = storage.create(directory, "Group", {"displayName": "eng", "externalId": "x-1"})

    for op in ("add", "remove"):
        mark = _last(storage, directory)
        if path == "single":
            change_members(storage, directory, group["id"], op, user["id"])  # type: ignore[arg-type]
        else:
            storage.patch(
                directory,
                "Group",
                group["id"],
                None,
                [MemberChange(op, (user["id"],)), MemberChange("remove", ("nobody",))],  # type: ignore[arg-type]
                if_match=None,
                members=False,
            )
        [event] = _events(storage, directory, mark)
        expected_user = storage.get(directory, "User", user["id"])
        expected_user.pop("groups", None)
        expected_group = storage.get(directory, "Group", group["id"], members=False)
        assert event.type == f"dsync.group.user_{'added' if op == 'add' else 'removed'}"
        assert event.data == {"user": expected_user, "group": expected_group}


def test_a_replace_of_the_member_set_emits_the_difference(storage: Storage, directory: str) -> None:
    a = storage.create(directory, "User", {"userName": "a", "active": True})
    b = storage.create(directory, "User", {"userName": "b", "active": True})
    group = storage.create(directory, "Group", {"displayName": "eng", "members": [{"value": a["id"]}]})
    mark = _last(storage, directory)

    storage.replace(
        directory,
        "Group",
        group["id"],
        {"displayName": "eng", "members": [{"value": b["id"]}]},
        if_match=None,
    )

    events = _events(storage, directory, mark)
    assert [(e.type, e.data["user"]["id"]) for e in events] == [
        ("dsync.group.user_removed", a["id"]),
        ("dsync.group.user_added", b["id"]),
    ]


def test_deletions_emit_the_deleted_resource(storage: Storage, directory: str) -> None:
    user = storage.create(directory, "User", {"userName": "ada", "active": True})
    group = storage.create(directory, "Group", {"displayName": "eng", "members": [{"value": user["id"]}]})
    mark = _last(storage, directory)

    storage.delete(directory, "User", user["id"], if_match=None)
    storage.delete(directory, "Group", group["id"], if_match=None)

    events = _events(storage, directory, mark)
    assert [e.type for e in events] == ["dsync.user.deleted", "dsync.group.deleted"]
    assert events[0].data["resource"]["userName"] == "ada"
    assert events[0].data["resource"]["groups"][0]["value"] == group["id"]
    assert events[1].data["resource"]["displayName"] == "eng"


def test_a_failed_change_writes_no_event(storage: Storage, directory: str) -> None:
    user = storage.create(directory, "User", {"userName": "ada", "active": True})
    other = storage.create(directory, "User", {"userName": "bob", "active": True})
    group = storage.create(directory, "Group", {"displayName": "eng"})
    mark = _last(storage, directory)

    with pytest.raises(Uniqueness):
        storage.create(directory, "User", {"userName": "ADA", "active": True})
    with pytest.raises(Uniqueness):
        storage.patch(
            directory,
            "User",
            other["id"],
            lambda d: {**d, "userName": "ada"},
            [],
            if_match=None,
            members=True,
        )
    with pytest.raises(InvalidValue):
        # the rename is applied first, then the unknown member fails the whole PATCH
        storage.patch(
            directory,
            "Group",
            group["id"],
            _rename("renamed"),
            [MemberChange("add", (user["id"], "00000000-0000-0000-0000-000000000000"))],
            if_match=None,
            members=False,
        )
    with pytest.raises(InvalidValue):
        storage.create(
            directory,
            "Group",
            {"displayName": "x", "members": [{"value": "00000000-0000-0000-0000-000000000000"}]},
        )

    assert _last(storage, directory) == mark
    assert _events(storage, directory, mark) == []
    assert storage.get(directory, "Group", group["id"])["displayName"] == "eng"


def test_purging_inactive_users_emits_their_deletion(storage: Storage, directory: str) -> None:
    storage.create(directory, "User", {"userName": "kept", "active": True})
    gone = storage.create(directory, "User", {"userName": "gone", "active": False})
    mark = _last(storage, directory)

    assert storage.purge_inactive(directory) == 1

    [event] = _events(storage, directory, mark)
    assert (event.type, event.data["resource"]["id"]) == ("dsync.user.deleted", gone["id"])


def test_a_directory_is_activated_once_and_its_deletion_is_an_event(storage: Storage, directory: str) -> None:
    assert storage.activate_directory(directory) is True  # type: ignore[attr-defined]
    assert storage.activate_directory(directory) is False  # type: ignore[attr-defined]
    storage.create(directory, "User", {"userName": "ada", "active": True})
    storage.delete_directory(directory)
    assert storage.activate_directory(directory) is True  # type: ignore[attr-defined]

    assert _types(storage, directory) == [
        "dsync.activated",
        "dsync.user.created",
        "dsync.deleted",
        "dsync.activated",
    ]


def test_events_are_numbered_without_gaps_in_commit_order_under_concurrency(
    storage: Storage, directory: str
) -> None:
    group = storage.create(directory, "Group", {"displayName": "eng"})
    start = _last(storage, directory)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(10):
                user = storage.create(directory, "User", {"userName": f"u{n}-{i}", "active": True})
                change_members(storage, directory, group["id"], "add", user["id"])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []

    events = _events(storage, directory, start)
    assert [e.seq for e in events] == list(range(start + 1, start + 81))
    # each user's creation comes before the event that adds it to the group
    seen: set[str] = set()
    for event in events:
        if event.type == "dsync.user.created":
            seen.add(event.data["resource"]["id"])
        else:
            assert event.data["user"]["id"] in seen


def test_type_filters_and_retention(storage: Storage, directory: str) -> None:
    storage.create(directory, "User", {"userName": "ada", "active": True})
    storage.create(directory, "Group", {"displayName": "eng"})

    only = storage.events(directory, types=["dsync.group.created"])  # type: ignore[attr-defined]
    assert [e.type for e in only] == ["dsync.group.created"]
    assert storage.events(directory, after=0, limit=1)[0].type == "dsync.user.created"  # type: ignore[attr-defined]

    storage.prune_events(datetime.now(UTC) + timedelta(seconds=1))  # type: ignore[attr-defined]
    assert _events(storage, directory) == []
    # numbering continues after pruning
    storage.create(directory, "User", {"userName": "bob", "active": True})
    assert [e.seq for e in _events(storage, directory)] == [3]
