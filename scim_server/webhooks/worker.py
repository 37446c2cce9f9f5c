"""The delivering worker: claims streams, delivers their events in order, retries, reports.

Several workers (replicas) share the work through claims in storage (``WebhookQueue``):
a stream is delivered by one worker at a time, in event order, and its cursor moves
after each delivery, so a killed worker's successor redelivers at most the event that
was in flight (at least once; receivers deduplicate by ``webhook-id``).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from ..config import Settings
from ..events.model import StoredEvent
from ..events.objects import DEFAULT_POLICY, DirectoryPolicy, event_object
from ..events.signing import sign_headers
from ..storage.events import EventLog
from ..storage.webhooks import Stream, StreamState, WebhookQueue
from . import metrics
from .backoff import retry_delay
from .endpoints import EndpointSource, WebhookEndpoint
from .http import post

log = logging.getLogger("kubescim.webhooks")

Send = Callable[[str, bytes, dict[str, str], float], "str | None"]


class DeliveryStore(EventLog, WebhookQueue, Protocol):
    """What the worker needs of storage."""


class PolicySource(Protocol):
    def policy(self, directory: str) -> DirectoryPolicy:
        """The directory's policy (custom attributes, roles) for the objects events carry."""


class Worker:
    """One worker process. ``tick`` does one round; ``run`` loops until ``stop`` is set."""

    def __init__(
        self,
        storage: DeliveryStore,
        source: EndpointSource,
        settings: Settings,
        *,
        policies: PolicySource | None = None,
        worker_id: str | None = None,
        send: Send = post,
        batch: int = 100,
    ) -> None:
        self.storage, self.source, self.settings = storage, source, settings
        self.policies = policies
        self.id = worker_id or f"{socket.gethostname()}-{os.getpid()}"
        self.send, self.batch = send, batch
        self._endpoints: dict[str, WebhookEndpoint] = {}
        self._refreshed = 0.0
        self._pruned = 0.0
        self._reported = 0.0
        self._pool = ThreadPoolExecutor(settings.webhook_concurrency, thread_name_prefix="kubescim-webhook")

    # -- the loop ------------------------------------------------------------------------------
    def run(self, stop: threading.Event, idle: float = 0.2) -> None:
        while not stop.is_set():
            try:
                delivered = self.tick()
            except Exception:
                log.exception("webhook round failed")
                delivered = 0
            if not delivered:
                stop.wait(idle)
        self._pool.shutdown(wait=True)

    def tick(self) -> int:
        """Refresh endpoints (every 5 s), prune (hourly), deliver what the claims hand us."""
        now = time.monotonic()
        if now - self._refreshed > 5 or not self._endpoints:
            self.refresh()
        if now - self._pruned > 3600:
            self._pruned = now
            cutoff = datetime.now(UTC) - timedelta(days=self.settings.event_retention_days)
            self.storage.prune_events(cutoff)
        if now - self._reported > 15:
            self._reported = now
            self.report()
        streams = self.storage.claim_streams(
            self.id, self.settings.webhook_lease_seconds, self.settings.webhook_concurrency
        )
        return sum(self._pool.map(self._deliver_stream, streams))

    def refresh(self) -> None:
        endpoints = {e.id: e for e in self.source.endpoints()}
        for endpoint in endpoints.values():
            self.storage.ensure_streams(endpoint.id, list(endpoint.directories))
        self.storage.forget_streams(set(endpoints))
        self._endpoints, self._refreshed = endpoints, time.monotonic()

    # -- one stream ------------------------------------------------------------------------------
    def _deliver_stream(self, stream: Stream) -> int:
        endpoint = self._endpoints.get(stream.endpoint)
        if endpoint is None:
            self.storage.release(stream, self.id)
            return 0
        delivered = 0
        try:
            events = self.storage.events(stream.directory, after=stream.seq, limit=self.batch)
            for event in events:
                outcome = self._deliver(endpoint, stream, event)
                if outcome is None:
                    return delivered  # failed (retry scheduled) or the claim was lost
                delivered += outcome
                stream = Stream(stream.endpoint, stream.directory, event.seq, 0)
        except Exception:
            log.exception("delivering %s for directory %s failed", stream.endpoint, stream.directory)
        self.storage.release(stream, self.id)
        return delivered

    def _deliver(self, endpoint: WebhookEndpoint, stream: Stream, event: StoredEvent) -> int | None:
        """Deliver one event (or skip a type the endpoint does not want): 1 or 0 sent; None: stop."""
        if not endpoint.wants(event.type):
            return 0 if self.storage.advance(stream, self.id, event.seq) else None
        body = self._body(endpoint, event)
        headers = sign_headers(endpoint.secret, event.id, body)
        error = self.send(endpoint.url, body, headers, self.settings.webhook_timeout_seconds)
        if error is None:
            metrics.DELIVERIES.labels(endpoint.id, "success").inc()
            metrics.LAG.labels(endpoint.id).observe((datetime.now(UTC) - event.occurred_at).total_seconds())
            metrics.LAST_SUCCESS.labels(endpoint.id).set(time.time())
            return 1 if self.storage.advance(stream, self.id, event.seq) else None
        metrics.DELIVERIES.labels(endpoint.id, "failure").inc()
        age = (datetime.now(UTC) - event.occurred_at).total_seconds()
        if age > self.settings.webhook_dead_letter_after_seconds:
            log.warning("dead-lettering %s for %s after %.0fs: %s", event.id, endpoint.id, age, error)
            metrics.DEAD_LETTERS.labels(endpoint.id).inc()
            return 0 if self.storage.dead_letter(stream, self.id, event.seq, error) else None
        delay = retry_delay(
            stream.attempts, self.settings.webhook_retry_base_seconds, self.settings.webhook_retry_max_seconds
        )
        log.info("delivery of %s to %s failed (%s); retry in %.1fs", event.id, endpoint.id, error, delay)
        self.storage.fail(stream, self.id, error, datetime.now(UTC) + timedelta(seconds=delay))
        return None

    def _body(self, endpoint: WebhookEndpoint, event: StoredEvent) -> bytes:
        policy = self.policies.policy(event.directory) if self.policies else DEFAULT_POLICY
        payload = event_object(event, endpoint.organization, policy)
        return json.dumps(payload, separators=(",", ":")).encode()

    # -- reporting -------------------------------------------------------------------------------
    def states(self) -> dict[str, list[StreamState]]:
        """Each endpoint's delivery state (also published as metrics)."""
        out = {}
        for endpoint in self._endpoints.values():
            states = self.storage.stream_states(endpoint.id)
            out[endpoint.id] = states
            metrics.BACKLOG.labels(endpoint.id).set(sum(s.backlog for s in states))
            oldest = min((s.oldest_pending for s in states if s.oldest_pending), default=None)
            age = (datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0
            metrics.OLDEST_PENDING.labels(endpoint.id).set(age)
        return out

    def report(self) -> None:
        """Publish delivery state: metrics always, ``status.webhooks`` where the source takes it."""
        states = self.states()
        report = getattr(self.source, "report", None)
        if report is None:
            return
        by_org: dict[str, list[dict[str, Any]]] = {}
        for endpoint in self._endpoints.values():
            by_org.setdefault(endpoint.organization, []).append(status_entry(endpoint, states[endpoint.id]))
        for organization, entries in by_org.items():
            report(organization, entries)


def status_entry(endpoint: WebhookEndpoint, states: list[StreamState]) -> dict[str, Any]:
    """An endpoint's delivery state as the Organization's ``status.webhooks`` lists it."""

    def stamp(value: datetime | None) -> str | None:
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None

    successes = [s.last_success for s in states if s.last_success]
    oldest = [s.oldest_pending for s in states if s.oldest_pending]
    errors = [s.last_error for s in states if s.last_error]
    return {
        "name": endpoint.id.rsplit("/", 1)[1],
        "lastSuccessTime": stamp(max(successes) if successes else None),
        "lastError": errors[0] if errors else None,
        "backlog": sum(s.backlog for s in states),
        "oldestPendingTime": stamp(min(oldest) if oldest else None),
        "deadLetters": sum(s.dead_letters for s in states),
    }
