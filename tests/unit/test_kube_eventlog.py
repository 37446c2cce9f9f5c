"""The ConfigMap backend's event log fed by hand: what the watch cannot easily be made
to do on a real control plane (a relist, age), and the numbering."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scim_server.storage.events import EventsExpired
from scim_server.storage.kube.eventlog import EVENTS_PER_REVISION, WatchedEventLog
from scim_server.storage.kube.objects import Entry, object_name

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _user(name: str, **data: object) -> Entry:
    entry = Entry("d", "User", name, {"userName": name, **data}, "c", "m", 1, key=name)
    entry.name = object_name("d", "User", name)
    return entry


def _group(name: str, members: tuple[str, ...]) -> Entry:
    entry = Entry("d", "Group", name, {"displayName": name}, "c", "m", 1, members, key=name)
    entry.name = object_name("d", "Group", name)
    return entry


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def test_numbers_follow_the_revision_and_a_change_may_make_several() -> None:
    log = WatchedEventLog()
    log.listed([], "10")
    log.watched(_user("a").name, _user("a"), "11")
    log.watched(_group("g", ()).name, _group("g", ("a",)), "12")
    events = log.events("d")
    assert [(e.seq, e.type) for e in events] == [
        (11 * EVENTS_PER_REVISION + 1, "dsync.user.created"),
        (12 * EVENTS_PER_REVISION + 1, "dsync.group.created"),
        (12 * EVENTS_PER_REVISION + 2, "dsync.group.user_added"),
    ]
    assert events[2].id == f"event_d_{12 * EVENTS_PER_REVISION + 2:012d}"
    log.watched(_user("a").name, _user("a"), "13")  # the same data again: nothing
    assert log.last_event("d") == events[-1].seq


def test_a_relist_makes_older_positions_expire_but_not_a_fresh_read() -> None:
    log = WatchedEventLog()
    log.listed([], "10")
    log.watched(_user("a").name, _user("a"), "11")
    seen = log.events("d")[-1].seq
    log.listed([_user("a"), _user("b")], "20")  # the watch broke: whatever happened in between is unknown
    with pytest.raises(EventsExpired, match="re-read the directory"):
        log.events("d", after=seen)
    assert log.events("d") == []  # nor does a fresh reader read across the gap
    log.watched(_user("c").name, _user("c"), "21")
    assert [e.data["resource"]["userName"] for e in log.events("d")] == ["c"]
    log.watched(_user("b").name, None, "22")  # known from the list, so its deletion is an event
    assert [e.type for e in log.events("d", after=log.events("d")[0].seq)] == ["dsync.user.deleted"]


def test_events_are_pruned_by_age_and_by_count() -> None:
    clock = Clock()
    log = WatchedEventLog(capacity=2, max_age=timedelta(days=1), clock=clock)
    log.listed([], "1")
    for i, name in enumerate(("a", "b", "c"), start=2):
        log.watched(_user(name).name, _user(name), str(i))
    assert [e.data["resource"]["userName"] for e in log.events("d")] == ["b", "c"]
    with pytest.raises(EventsExpired):
        log.events("d", after=1 * EVENTS_PER_REVISION + 5)  # before a's event, which is gone
    assert log.events("d", after=2 * EVENTS_PER_REVISION + 1) == log.events("d")  # a's: nothing lost

    clock.now = T0 + timedelta(hours=12)
    log.watched(_user("d").name, _user("d"), "9")
    assert log.prune_events(T0 + timedelta(hours=1)) == 1
    assert [e.data["resource"]["userName"] for e in log.events("d")] == ["d"]
    clock.now = T0 + timedelta(days=2)
    log.watched(_user("e").name, _user("e"), "10")  # appending trims what passed max_age
    assert [e.data["resource"]["userName"] for e in log.events("d")] == ["e"]
