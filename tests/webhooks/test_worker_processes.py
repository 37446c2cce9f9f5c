"""``kubescim webhooks run`` as real processes: killed mid-batch, and two at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from scim_server.events.signing import new_signing_secret
from scim_server.storage import open_storage
from scim_server.tokens.organizations import LocalOrganizationRegistry
from tests.support.waiting import eventually
from tests.webhooks.receiver import Receiver, running_receiver, undup

SECRET = new_signing_secret()
REPO = Path(__file__).resolve().parent.parent.parent
pytestmark = [pytest.mark.server, pytest.mark.slow]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver(SECRET) as r:
        yield r


def _start(state: Path, url: str, name: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBESCIM_")}
    env |= {
        "KUBESCIM_STATE_DIR": str(state),
        "KUBESCIM_DATABASE_URL": url,
        "KUBESCIM_WEBHOOK_LEASE_SECONDS": "1",
        "KUBESCIM_WEBHOOK_CONCURRENCY": "2",
        "PYTHONPATH": str(REPO),
    }
    with (state / f"{name}.log").open("wb") as log:  # the child keeps its own descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "scim_server.cli", "webhooks", "run"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _stop(process: subprocess.Popen[bytes], sig: signal.Signals = signal.SIGTERM) -> None:
    if process.poll() is None:
        os.kill(process.pid, sig)
    process.wait(30)


def _setup(tmp_path: Path, storage_url: str, receiver: Receiver, directories: list[str]) -> str:
    state = tmp_path / "state"
    registry = LocalOrganizationRegistry(state)
    org = f"org-{directories[0]}"
    registry.create(org, directories)
    registry.add_webhook(org, "app", receiver.url, [], SECRET)
    storage = open_storage(storage_url)
    try:
        for d in directories:
            storage.activate_directory(d)  # type: ignore[attr-defined]
        return org
    finally:
        storage.close()


def _write(storage_url: str, directories: list[str], per: int) -> list[str]:
    storage = open_storage(storage_url)
    try:
        for i in range(per):
            for d in directories:
                storage.create(d, "User", {"userName": f"u{i}", "active": True})
        return [e.id for d in directories for e in storage.events(d, after=1, limit=10_000)]  # type: ignore[attr-defined]
    finally:
        storage.close()


def _streams_started(storage_url: str, endpoint: str, count: int) -> bool:
    storage = open_storage(storage_url)
    try:
        return len(storage.stream_states(endpoint)) == count  # type: ignore[attr-defined]
    finally:
        storage.close()


def test_a_worker_killed_mid_batch_is_resumed_by_another_in_order(
    storage_url: str, directory: str, tmp_path: Path, receiver: Receiver
) -> None:
    directories = [f"{directory}-a", f"{directory}-b"]
    org = _setup(tmp_path, storage_url, receiver, directories)
    receiver.delay = 0.01  # a batch takes a while, so the kill lands inside one
    first = _start(tmp_path / "state", storage_url, "first")
    try:
        # a stream starts at the directory's latest event: wait for it before the changes
        eventually(lambda: _streams_started(storage_url, f"{org}/app", 2), what="streams started")
        expected = _write(storage_url, directories, 60)
        eventually(lambda: len(receiver.deliveries) >= 40, timeout=60, what="40 deliveries")
    finally:
        _stop(first, signal.SIGKILL)
    assert len(receiver.ids()) < len(expected)  # killed mid-way
    second = _start(tmp_path / "state", storage_url, "second")
    try:
        eventually(lambda: set(receiver.ids()) >= set(expected), timeout=90, what="every event delivered")
    finally:
        _stop(second)

    assert receiver.failures == []
    ids = receiver.ids()
    for d in directories:
        mine = [x for x in ids if x.startswith(f"event_{d}_")]
        # at least once: only the event in flight at the kill may come twice, and in order
        assert undup(mine) == [x for x in expected if x.startswith(f"event_{d}_")]
        assert len(mine) - len(undup(mine)) <= 1


def test_two_worker_processes_never_deliver_an_event_twice(
    storage_url: str, directory: str, tmp_path: Path, receiver: Receiver
) -> None:
    directories = [f"{directory}-{i}" for i in range(4)]
    org = _setup(tmp_path, storage_url, receiver, directories)
    workers = [_start(tmp_path / "state", storage_url, f"w{i}") for i in range(2)]
    try:
        eventually(lambda: _streams_started(storage_url, f"{org}/app", 4), what="streams started")
        expected = _write(storage_url, directories, 25)
        eventually(lambda: set(receiver.ids()) >= set(expected), timeout=90, what="every event delivered")
    finally:
        for w in workers:
            _stop(w)

    ids = receiver.ids()
    assert receiver.failures == []
    assert sorted(ids) == sorted(expected)  # each exactly once
    for d in directories:
        assert [x for x in ids if x.startswith(f"event_{d}_")] == [
            x for x in expected if x.startswith(f"event_{d}_")
        ]
