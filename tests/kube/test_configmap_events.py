"""The ConfigMap backend's event log on the real control plane: the SQL outbox's events,
derived from the watch, numbered by etcd revision alike in every process, and honest
about what its bounded buffer no longer holds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s

from scim_server.api.v1_params import encode_positions
from scim_server.app import create_app
from scim_server.config import Settings
from scim_server.events.model import StoredEvent
from scim_server.events.objects import event_object
from scim_server.scim.patch import MemberChange
from scim_server.storage import Backend, open_storage
from scim_server.storage.events import EventsExpired
from scim_server.storage.kube.objects import object_name
from scim_server.tokens.local import LocalTokenRegistry
from scim_server.tokens.organizations import LocalOrganizationRegistry
from tests.support.waiting import eventually

DIRECTORY = "acme"


@pytest.fixture
def store(namespace: str) -> Iterator[Backend]:
    storage = open_storage(f"configmaps://{namespace}", write_rate=200.0)
    yield storage
    storage.close()


def _set(attribute: str, value: Any) -> Any:
    return lambda data: {**data, attribute: value}


def _until(store: Backend, count: int, last_user: str | None = None) -> list[StoredEvent]:
    """The directory's events once ``count`` of them (the last about ``last_user``) arrived."""

    def arrived() -> list[StoredEvent] | None:
        events = store.events(DIRECTORY, limit=100)
        if last_user is not None and (not events or events[-1].data["resource"]["userName"] != last_user):
            return None
        return events if len(events) >= count else None

    return eventually(arrived, what=f"{count} events")


def test_every_change_gives_the_sql_backends_events_in_order(
    store: Backend, kube_api: k8s.ApiClient, namespace: str
) -> None:
    ada = store.create(DIRECTORY, "User", {"userName": "ada", "name": {"givenName": "Ada"}})
    bob = store.create(DIRECTORY, "User", {"userName": "bob"})
    eng = store.create(DIRECTORY, "Group", {"displayName": "eng", "members": [{"value": ada["id"]}]})
    store.patch(
        DIRECTORY, "User", ada["id"], _set("name", {"givenName": "Augusta"}), [], if_match=None, members=False
    )
    changes = [MemberChange("add", (bob["id"],)), MemberChange("remove", (ada["id"],))]
    store.patch(DIRECTORY, "Group", eng["id"], None, changes, if_match=None, members=False)
    store.patch(
        DIRECTORY, "Group", eng["id"], _set("displayName", "engineering"), [], if_match=None, members=False
    )
    # no-ops: the same value again, and an object change that is not a resource change
    store.patch(DIRECTORY, "User", bob["id"], _set("userName", "bob"), [], if_match=None, members=False)
    k8s.CoreV1Api(kube_api).patch_namespaced_config_map(
        object_name(DIRECTORY, "User", bob["id"]), namespace, {"metadata": {"annotations": {"note": "x"}}}
    )
    store.delete(DIRECTORY, "User", bob["id"], if_match=None)  # also drops bob from eng: no user_removed
    store.delete(DIRECTORY, "Group", eng["id"], if_match=None)

    events = _until(store, 10)
    assert [(e.type, (e.data.get("user") or e.data["resource"])["id"]) for e in events] == [
        ("dsync.user.created", ada["id"]),
        ("dsync.user.created", bob["id"]),
        ("dsync.group.created", eng["id"]),
        ("dsync.group.user_added", ada["id"]),
        ("dsync.user.updated", ada["id"]),
        ("dsync.group.user_removed", ada["id"]),
        ("dsync.group.user_added", bob["id"]),
        ("dsync.group.updated", eng["id"]),
        ("dsync.user.deleted", bob["id"]),
        ("dsync.group.deleted", eng["id"]),
    ]
    assert [e.seq for e in events] == sorted({e.seq for e in events})

    updated = event_object(events[4], "org")["data"]
    assert updated["previous_attributes"] == {
        "first_name": "Ada",
        "raw_attributes": {"name": {"givenName": "Ada"}},
    }
    renamed = event_object(events[7], "org")["data"]
    assert (renamed["name"], renamed["previous_attributes"]) == (
        "engineering",
        {"name": "eng", "raw_attributes": {"displayName": "eng"}},
    )
    added = event_object(events[6], "org")["data"]
    assert [g["id"] for g in added["user"]["groups"]] == [eng["id"]]
    assert store.events(DIRECTORY, after=events[4].seq, limit=2) == events[5:7]
    assert store.events(DIRECTORY, types=["dsync.user.deleted"]) == [events[8]]
    assert store.last_event(DIRECTORY) == events[-1].seq
    assert store.activate_directory(DIRECTORY) is False


def test_two_processes_number_the_same_events_alike(store: Backend, namespace: str) -> None:
    other = open_storage(f"configmaps://{namespace}", write_rate=200.0)
    try:
        other.stats(DIRECTORY)  # listed before the first change (waits for it)
        ada = store.create(DIRECTORY, "User", {"userName": "ada"})
        other.create(DIRECTORY, "Group", {"displayName": "eng", "members": [{"value": ada["id"]}]})
        store.delete(DIRECTORY, "User", ada["id"], if_match=None)

        mine, theirs = _until(store, 4), _until(other, 4)
        assert [(e.id, e.type, e.data) for e in mine] == [(e.id, e.type, e.data) for e in theirs]
        # a cursor taken on one replica reads on at the other
        assert other.events(DIRECTORY, after=mine[1].seq) == theirs[2:]
    finally:
        other.close()


def test_a_cursor_older_than_what_is_kept_is_refused(namespace: str) -> None:
    small = open_storage(f"configmaps://{namespace}", write_rate=200.0, event_buffer=3)
    try:
        small.create(DIRECTORY, "User", {"userName": "u0"})
        seen = _until(small, 1)[0].seq  # a reader that read u0's event
        for name in ("u1", "u2", "u3", "u4"):
            small.create(DIRECTORY, "User", {"userName": name})
        kept = _until(small, 3, "u4")
        assert [e.data["resource"]["userName"] for e in kept] == ["u2", "u3", "u4"]
        with pytest.raises(EventsExpired, match="re-read the directory"):
            small.events(DIRECTORY, after=seen)  # u1's event is no longer kept
        assert small.events(DIRECTORY, after=kept[0].seq) == kept[1:]
        # a process started after the changes never saw them: it says so too
        late = open_storage(f"configmaps://{namespace}", write_rate=200.0)
        try:
            eventually(lambda: late.stats(DIRECTORY).users == 5, what="the late process listed")
            assert late.events(DIRECTORY) == []
            with pytest.raises(EventsExpired):
                late.events(DIRECTORY, after=kept[-1].seq)
        finally:
            late.close()
    finally:
        small.close()


def test_the_events_endpoint_answers_410_for_a_lost_position(namespace: str, tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path / "state", access_log=False)
    storage = open_storage(f"configmaps://{namespace}", write_rate=200.0, event_buffer=1)
    app = create_app(settings, storage=storage, tokens=LocalTokenRegistry(settings.state_dir))
    key = LocalOrganizationRegistry(settings.state_dir).create("org", [DIRECTORY])
    try:
        storage.create(DIRECTORY, "User", {"userName": "u0"})
        seen = eventually(lambda: storage.events(DIRECTORY), what="u0's event")[0].seq
        for name in ("u1", "u2"):
            storage.create(DIRECTORY, "User", {"userName": name})
        _until(storage, 1, "u2")  # u1's event, the one after the reader's, is gone
        headers = {"Authorization": f"Bearer {key}"}
        cursor = encode_positions({DIRECTORY: seen})
        lost = app.test_client().get("/api/v1/events", query_string={"after": cursor}, headers=headers)
        assert lost.status_code == 410
        assert lost.get_json()["code"] == "events_expired"
        assert "re-read the directory" in lost.get_json()["message"]
        fresh = app.test_client().get("/api/v1/events", headers=headers).get_json()
        assert [e["data"]["username"] for e in fresh["data"]] == ["u2"]
    finally:
        storage.close()
