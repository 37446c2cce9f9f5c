"""Lease-based leader election against the real API server, in process, with short timing."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from kubernetes import client

from scim_operator.election import LeaderElector, LeaseConfig

pytestmark = pytest.mark.slow

DURATION, RENEW, RETRY = 2.0, 1.5, 0.2


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll ``condition`` until true; returns the seconds it took."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(RETRY / 2)
    return time.monotonic() - started


@pytest.fixture
def elector(kube_api: client.ApiClient, namespace: str) -> Callable[[str], LeaderElector]:
    def make(identity: str) -> LeaderElector:
        config = LeaseConfig(namespace, "kubescim-operator", identity, DURATION, RENEW, RETRY)
        return LeaderElector(client.CoordinationV1Api(kube_api), config)

    return make


def test_the_first_candidate_holds_the_lease_and_the_second_waits(
    elector: Callable[[str], LeaderElector], kube_api: client.ApiClient, namespace: str
) -> None:
    first, second = elector("first"), elector("second")

    assert first.try_acquire_or_renew()
    assert not second.try_acquire_or_renew()
    assert first.try_acquire_or_renew(), "the holder renews"
    assert not second.try_acquire_or_renew()
    lease = client.CoordinationV1Api(kube_api).read_namespaced_lease("kubescim-operator", namespace)
    assert lease.spec.holder_identity == "first"
    assert lease.spec.lease_duration_seconds == round(DURATION)


def test_a_standby_takes_over_a_lease_not_renewed_for_its_duration_and_not_before(
    elector: Callable[[str], LeaderElector],
) -> None:
    holder, standby = elector("holder"), elector("standby")
    assert holder.try_acquire_or_renew()
    first_seen = time.monotonic()
    assert not standby.try_acquire_or_renew()  # the standby starts its clock here

    waited = wait_for(standby.try_acquire_or_renew, DURATION + 5 * RETRY, "take-over")

    assert time.monotonic() - first_seen >= DURATION
    assert waited <= DURATION + 5 * RETRY
    assert not holder.try_acquire_or_renew(), "the old holder lost it"


def test_a_renewing_holder_is_never_displaced(elector: Callable[[str], LeaderElector]) -> None:
    holder, standby = elector("holder"), elector("standby")
    assert holder.try_acquire_or_renew()
    deadline = time.monotonic() + 2 * DURATION
    while time.monotonic() < deadline:
        assert holder.try_acquire_or_renew()
        assert not standby.try_acquire_or_renew()
        time.sleep(RETRY)


def test_a_released_lease_is_free_at_once(elector: Callable[[str], LeaderElector]) -> None:
    holder, standby = elector("holder"), elector("standby")
    assert holder.try_acquire_or_renew()
    assert not standby.try_acquire_or_renew()

    holder.release()

    assert standby.try_acquire_or_renew()


def test_a_holder_that_cannot_renew_for_the_deadline_steps_down(
    elector: Callable[[str], LeaderElector], kube_api: client.ApiClient, namespace: str
) -> None:
    holder, usurper = elector("holder"), elector("usurper")
    assert holder.try_acquire_or_renew()
    stop, lost, called = threading.Event(), threading.Event(), threading.Event()
    keeper = threading.Thread(target=holder.keep, args=(stop, lost, called.set), daemon=True)
    keeper.start()
    # Someone else holds the Lease now (as after a partition): every renewal fails.
    leases = client.CoordinationV1Api(kube_api)
    lease = leases.read_namespaced_lease("kubescim-operator", namespace)
    lease.spec.holder_identity = "usurper"
    leases.replace_namespaced_lease("kubescim-operator", namespace, lease)
    assert usurper.try_acquire_or_renew()
    keep_renewing = threading.Thread(
        target=lambda: [usurper.try_acquire_or_renew() or time.sleep(RETRY) for _ in range(40)], daemon=True
    )
    keep_renewing.start()

    wait_for(lost.is_set, RENEW + 3 * RETRY + 1, "the holder stepping down")

    assert called.is_set()
    assert stop.is_set()
    keeper.join(2)
    assert not keeper.is_alive()
