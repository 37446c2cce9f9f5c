"""Active/standby by a coordination.k8s.io Lease, the way client-go's leader election works.

A replica reconciles only while it holds the Lease. The holder renews it every
``retry`` seconds and stops itself when it cannot renew for ``renew_deadline`` (a
partitioned leader steps down before its Lease expires); a standby takes over once it
has seen the same holder and renew time for a whole ``duration`` (measured on its own
clock, so node clocks need not agree); a leader that stops cleanly releases the Lease,
so its standby takes over at its next try. Writes carry the resourceVersion read, so
two standbys never both win.

kubernetes.leaderelection (in the official client) was considered: it reads the
process-wide default configuration, cannot be stopped or release its Lease, and logs
every attempt at INFO; this module is what the operator needs of it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from scim_server.crd.client import describe

from . import kube

log = logging.getLogger("kubescim.election")


@dataclass(frozen=True, slots=True)
class LeaseConfig:
    """Where the Lease lives, who we are, and the client-go timing (seconds)."""

    namespace: str
    name: str
    identity: str
    duration: float = 15.0
    renew_deadline: float = 10.0
    retry: float = 2.0


@dataclass
class LeaderElector:
    """Acquire, renew and release one Lease."""

    api: client.CoordinationV1Api
    config: LeaseConfig
    _observed: tuple[str | None, Any] | None = field(default=None, init=False)
    _observed_at: float = field(default=0.0, init=False)
    held: bool = field(default=False, init=False)

    def try_acquire_or_renew(self) -> bool:
        """One attempt: True when we hold the Lease afterwards. API errors count as False."""
        try:
            self.held = self._attempt()
        except ApiException as exc:
            if exc.status not in (404, 409):
                log.warning("cannot reach Lease %s: %s", self.config.name, describe(exc))
            self.held = False
        except Exception as exc:  # connection refused, timeouts: same as a failed renewal
            log.warning("cannot reach Lease %s: %s", self.config.name, describe(exc))
            self.held = False
        return self.held

    def _attempt(self) -> bool:
        cfg = self.config
        lease = kube.read(self.api.read_namespaced_lease, cfg.name, cfg.namespace)
        now = datetime.now(UTC)
        if lease is None:
            spec = client.V1LeaseSpec(
                holder_identity=cfg.identity,
                lease_duration_seconds=round(cfg.duration),
                acquire_time=now,
                renew_time=now,
                lease_transitions=0,
            )
            body = client.V1Lease(metadata=client.V1ObjectMeta(name=cfg.name), spec=spec)
            kube.write(self.api.create_namespaced_lease, cfg.namespace, body)
            log.info("%s acquired Lease %s/%s", cfg.identity, cfg.namespace, cfg.name)
            return True
        spec = lease.spec or client.V1LeaseSpec()
        if spec.holder_identity != cfg.identity and not self._expired(spec):
            return False
        if spec.holder_identity != cfg.identity:
            log.info("%s takes over Lease %s/%s from %r", cfg.identity, cfg.namespace, cfg.name,
                     spec.holder_identity)  # fmt: skip
            spec.acquire_time = now
            spec.lease_transitions = (spec.lease_transitions or 0) + 1
        spec.holder_identity = cfg.identity
        spec.lease_duration_seconds = round(cfg.duration)
        spec.renew_time = now
        lease.spec = spec
        kube.write(self.api.replace_namespaced_lease, cfg.name, cfg.namespace, lease)
        return True

    def _expired(self, spec: client.V1LeaseSpec) -> bool:
        """Whether another holder's Lease is free: released, or unchanged for a duration."""
        if not spec.holder_identity:
            return True
        seen = (spec.holder_identity, spec.renew_time)
        if seen != self._observed:
            self._observed, self._observed_at = seen, time.monotonic()
            return False
        duration = float(spec.lease_duration_seconds or self.config.duration)
        return time.monotonic() - self._observed_at >= duration

    def release(self) -> None:
        """Give the Lease up (a clean shutdown), so a standby need not wait for it to expire."""
        if not self.held:
            return
        cfg = self.config
        try:
            lease = kube.read(self.api.read_namespaced_lease, cfg.name, cfg.namespace)
            if lease is None or lease.spec is None or lease.spec.holder_identity != cfg.identity:
                log.warning(
                    "%s no longer holds Lease %s/%s: nothing to release",
                    cfg.identity,
                    cfg.namespace,
                    cfg.name,
                )
                return
            lease.spec.holder_identity = None
            lease.spec.lease_duration_seconds = 1
            kube.write(self.api.replace_namespaced_lease, cfg.name, cfg.namespace, lease)
            log.info("%s released Lease %s/%s", cfg.identity, cfg.namespace, cfg.name)
        except Exception as exc:
            log.warning("cannot release Lease %s: %s", cfg.name, describe(exc))
        finally:
            self.held = False

    def acquire(self, stop: threading.Event) -> bool:
        """Wait as a standby until we hold the Lease (True) or ``stop`` is set (False)."""
        while not stop.is_set():
            if self.try_acquire_or_renew():
                return True
            stop.wait(self.config.retry)
        return False

    def keep(
        self, stop: threading.Event, lost: threading.Event, on_lost: Callable[[], None] = lambda: None
    ) -> None:
        """Renew until ``stop``; when renewal fails for the whole deadline, set ``lost`` and
        ``stop`` and call ``on_lost`` (the operator sends itself SIGTERM: it stops as on
        any shutdown)."""
        cfg = self.config
        while not stop.wait(cfg.retry):
            deadline = time.monotonic() + cfg.renew_deadline
            while not self.try_acquire_or_renew():
                if stop.is_set():
                    return
                if time.monotonic() >= deadline:
                    log.error("lost Lease %s/%s: not renewed for %ss; stopping", cfg.namespace, cfg.name,
                              cfg.renew_deadline)  # fmt: skip
                    lost.set()
                    stop.set()
                    on_lost()
                    return
                stop.wait(min(cfg.retry, max(0.0, deadline - time.monotonic())))
