"""The webhook worker in-process, on every backend: signed, ordered, retried, dead-lettered."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from scim_server.config import Settings
from scim_server.events.signing import new_signing_secret
from scim_server.storage import Storage
from scim_server.tokens.organizations import LocalOrganizationRegistry
from scim_server.webhooks.worker import Worker
from tests.support.members import change_members
from tests.support.waiting import eventually
from tests.webhooks.receiver import Receiver, running_receiver

SECRET = new_signing_secret()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver(SECRET) as r:
        yield r


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        state_dir=tmp_path / "state",
        webhook_retry_base_seconds=0.05,
        webhook_retry_max_seconds=0.2,
        webhook_lease_seconds=5,
    )


@pytest.fixture
def org(settings: Settings, directory: str, receiver: Receiver) -> LocalOrganizationRegistry:
    registry = LocalOrganizationRegistry(settings.state_dir)
    registry.create("acme", [directory])
    registry.add_webhook("acme", "app", receiver.url, [], SECRET)
    return registry


def _worker(storage: Storage, org: LocalOrganizationRegistry, settings: Settings, name: str = "w1") -> Worker:
    worker = Worker(storage, org, settings, policies=org, worker_id=name)  # type: ignore[arg-type]
    worker.refresh()
    return worker


def _drain(worker: Worker, receiver: Receiver, count: int) -> None:
    eventually(
        lambda: worker.tick() >= 0 and len(receiver.deliveries) >= count,
        timeout=30,
        what=f"{count} deliveries",
    )


def test_every_event_is_delivered_signed_and_in_order(
    storage: Storage, directory: str, org: LocalOrganizationRegistry, settings: Settings, receiver: Receiver
) -> None:
    worker = _worker(storage, org, settings)
    user = storage.create(directory, "User", {"userName": "ada", "active": True})
    group = storage.create(directory, "Group", {"displayName": "eng"})
    change_members(storage, directory, group["id"], "add", user["id"])
    storage.delete(directory, "User", user["id"], if_match=None)

    _drain(worker, receiver, 4)

    assert receiver.failures == []
    assert [d.type for d in receiver.deliveries] == [
        "dsync.user.created",
        "dsync.group.created",
        "dsync.group.user_added",
        "dsync.user.deleted",
    ]
    assert [d.id for d in receiver.deliveries] == [e.id for e in storage.events(directory)]  # type: ignore[attr-defined]
    added = receiver.deliveries[2].payload["data"]
    assert (added["user"]["id"], added["group"]["name"], added["organization_id"]) == (
        user["id"],
        "eng",
        "acme",
    )
    assert worker.tick() == 0  # nothing left, nothing sent twice
    assert len(receiver.attempts) == 4


def test_a_failing_receiver_gets_retries_and_order_holds(
    storage: Storage, directory: str, org: LocalOrganizationRegistry, settings: Settings, receiver: Receiver
) -> None:
    worker = _worker(storage, org, settings)
    for i in range(3):
        storage.create(directory, "User", {"userName": f"u{i}", "active": True})
    receiver.fail_next = 3

    _drain(worker, receiver, 3)

    first = receiver.deliveries[0].id
    assert receiver.attempts[:4] == [first] * 4  # three 500s, then the same event again
    assert [d.payload["data"]["username"] for d in receiver.deliveries] == ["u0", "u1", "u2"]
    [state] = storage.stream_states("acme/app")  # type: ignore[attr-defined]
    assert (state.backlog, state.last_error, state.last_success is not None) == (0, None, True)


def test_an_event_failing_past_its_age_is_dead_lettered_and_can_be_redelivered(
    storage: Storage, directory: str, org: LocalOrganizationRegistry, settings: Settings, receiver: Receiver
) -> None:
    settings = settings.model_copy(update={"webhook_dead_letter_after_seconds": 0.001})
    worker = _worker(storage, org, settings)
    storage.create(directory, "User", {"userName": "lost", "active": True})
    storage.create(directory, "User", {"userName": "kept", "active": True})
    receiver.fail_next = 1

    _drain(worker, receiver, 1)
    assert [d.payload["data"]["username"] for d in receiver.deliveries] == ["kept"]
    [state] = storage.stream_states("acme/app")  # type: ignore[attr-defined]
    assert (state.dead_letters, state.backlog) == (1, 0)

    assert storage.rewind("acme/app", directory, 0)  # type: ignore[attr-defined]
    _drain(worker, receiver, 3)
    assert [d.payload["data"]["username"] for d in receiver.deliveries] == ["kept", "lost", "kept"]


def test_event_types_the_webhook_does_not_want_are_skipped(
    storage: Storage, directory: str, org: LocalOrganizationRegistry, settings: Settings, receiver: Receiver
) -> None:
    org.add_webhook("acme", "app", receiver.url, ["dsync.group.created"], SECRET)
    worker = _worker(storage, org, settings)
    storage.create(directory, "User", {"userName": "ada", "active": True})
    storage.create(directory, "Group", {"displayName": "eng"})
    storage.create(directory, "User", {"userName": "bob", "active": True})

    _drain(worker, receiver, 1)
    assert worker.tick() == 0
    assert [d.type for d in receiver.deliveries] == ["dsync.group.created"]
    assert storage.stream_states("acme/app")[0].backlog == 0  # type: ignore[attr-defined]


def test_two_workers_never_deliver_the_same_event_twice(
    storage: Storage, org: LocalOrganizationRegistry, settings: Settings, receiver: Receiver
) -> None:
    directories = [f"{org.organizations()['acme'][0]}-{i}" for i in range(4)]
    for d in directories:
        org.attach("acme", d)
    workers = [_worker(storage, org, settings, f"w{i}") for i in range(2)]
    for d in directories:
        for i in range(10):
            storage.create(d, "User", {"userName": f"u{i}", "active": True})
    stop = threading.Event()
    threads = [threading.Thread(target=w.run, args=(stop, 0.01)) for w in workers]
    for t in threads:
        t.start()
    try:
        eventually(lambda: len(receiver.deliveries) >= 40, timeout=60, what="40 deliveries")
    finally:
        stop.set()
        for t in threads:
            t.join()
    ids = receiver.ids()
    assert len(ids) == len(set(ids)) == 40
    for d in directories:
        mine = [x for x in ids if x.startswith(f"event_{d}_")]
        assert mine == sorted(mine)  # in order within each directory
