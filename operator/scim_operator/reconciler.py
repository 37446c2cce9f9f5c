"""The operator's shared state, and the one path by which a directory is reconciled.

Every trigger (the directory's own events, its resync timer, an event on an object it
owns, its Organization appearing) ends in ``Reconciler.sync``, which serialises work per
directory and reads the object fresh, so two triggers never issue two tokens. The work
runs on the reconciler's own thread pool; the async handlers compute, in the event loop,
what the operator's indexes say (``Context``) and hand it over.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from kubernetes.client.exceptions import ApiException

from scim_server.crd import names as n
from scim_server.crd.spec import directory_id
from scim_server.storage import Backend

from . import constants as c
from . import desired as d
from . import events, kube
from .decide import Context, IdClaim, capacity_conditions, id_conflict, max_users
from .directory import Clients, reconcile_directory, stats_status
from .timing import TIMINGS
from .tokens import Event

log = logging.getLogger("kubescim.operator")
T = TypeVar("T")


def context_for(
    body: Mapping[str, Any], organizations: Mapping[Any, Any], claims: Mapping[str, Iterable[IdClaim]]
) -> Context:
    """What the indexes say about a directory: its Organization exists; its id is free."""
    meta, spec = body["metadata"], body.get("spec") or {}
    status = body.get("status") or {}
    ns = meta["namespace"]
    org = (spec.get("organizationRef") or {}).get("name", "")
    dir_id = status.get("directoryId") or directory_id(ns, meta["name"], spec)
    conflict = id_conflict(dir_id, meta["uid"], list(claims.get(dir_id) or []))
    return Context(organization_exists=(ns, org) in organizations, id_conflict=conflict)


@dataclass
class Reconciler:
    """Shared state of one operator process, kept in kopf's memo."""

    clients: Clients
    route: d.RouteConfig
    storage: Backend | None
    workers: int = 32
    backoff_seconds: float = 10.0
    resync_seconds: float = 60.0
    max_users: int | None = None
    executor: ThreadPoolExecutor = field(init=False)
    locks: defaultdict[tuple[str, str], threading.Lock] = field(
        default_factory=lambda: defaultdict(threading.Lock)
    )
    guard: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.executor = ThreadPoolExecutor(self.workers, thread_name_prefix="reconcile")

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run blocking work on the reconciler's threads, in the caller's context (kopf's
        per-handler context variables, such as its logger's, stay visible)."""
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()
        queued = time.perf_counter()

        def work() -> T:
            started = time.perf_counter()
            TIMINGS.add("waiting", started - queued)
            try:
                return context.run(fn, *args, **kwargs)
            finally:
                TIMINGS.add("working", time.perf_counter() - started)

        return await loop.run_in_executor(self.executor, work)

    def close(self) -> None:
        """Drop queued work (a stopping operator must exit promptly), log where the time
        went, and close storage."""
        self.executor.shutdown(wait=False, cancel_futures=True)
        log.info("%s", TIMINGS.summary())
        if self.storage is not None:
            self.storage.close()

    def _lock(self, namespace: str, name: str) -> threading.Lock:
        with self.guard:
            return self.locks[(namespace, name)]

    def sync(self, namespace: str, name: str, context: Context, *, stats: bool = False) -> None:
        """Reconcile one directory from its current state; announce its token; post
        Events for corrections. Quietly does nothing in a namespace being deleted."""
        with self._lock(namespace, name):
            body = self.get(namespace, name)
            if body is None or body["metadata"].get("deletionTimestamp"):
                return
            try:
                self._sync(body, context, stats=stats)
            except kube.NamespaceTerminating:
                log.debug("namespace %s is terminating; %s left alone", namespace, name)

    def _sync(self, body: dict[str, Any], context: Context, *, stats: bool) -> None:
        namespace, name = body["metadata"]["namespace"], body["metadata"]["name"]
        outcome = reconcile_directory(self.clients, body, self.route, context)
        if outcome.announcement is not None and outcome.fingerprint is not None:
            events.once(self.clients.core, body, outcome.announcement, outcome.fingerprint)
        status = dict(outcome.status)
        if stats and self.storage is not None:
            outcome.events.extend(self._purge_inactive(body, status))
            merged = {**(body.get("status") or {}), **status}
            try:
                status.update(stats_status(self.storage, merged))
            except Exception as exc:
                log.warning("cannot read stats of %s/%s: %s", namespace, name, type(exc).__name__)
            else:
                outcome.events.extend(self._capacity(body, status))
        if status:
            kube.write(
                self.clients.custom.patch_namespaced_custom_object_status,
                n.GROUP,
                n.VERSION,
                namespace,
                n.DIRECTORIES,
                name,
                {"status": status},
            )
        events.post(self.clients.core, body, outcome.events)

    def _capacity(self, body: dict[str, Any], status: dict[str, Any]) -> list[Event]:
        """Set ``CapacityWarning`` in ``status`` (when it changes); the Event when it turns on."""
        before = body.get("status") or {}
        conditions = list(status.get("conditions") or before.get("conditions") or [])
        users = status.get("users", before.get("users"))
        maximum = max_users(body.get("spec") or {}, self.max_users)
        generation = body["metadata"].get("generation")
        updated, event = capacity_conditions(conditions, users, maximum, generation, datetime.now(UTC))
        if updated != conditions:
            status["conditions"] = updated
        return [event] if event is not None else []

    def _purge_inactive(self, body: dict[str, Any], status: dict[str, Any]) -> list[Event]:
        """``inactiveUsers: Delete``: remove the users the IdP deactivated."""
        if (body.get("spec") or {}).get("inactiveUsers") != "Delete" or self.storage is None:
            return []
        dir_id = status.get("directoryId") or (body.get("status") or {}).get("directoryId")
        if not dir_id:
            return []
        try:
            count = self.storage.purge_inactive(dir_id)
        except Exception as exc:
            log.warning("cannot purge inactive users of %s: %s", dir_id, type(exc).__name__)
            return []
        if not count:
            return []
        message = f"deleted {count} deactivated user(s) (inactiveUsers: Delete)"
        return [("Normal", c.REASON_INACTIVE_DELETED, message)]

    def patch_organization_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        kube.write(
            self.clients.custom.patch_namespaced_custom_object_status,
            n.GROUP,
            n.VERSION,
            namespace,
            n.ORGANIZATIONS,
            name,
            {"status": status},
        )

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The directory as the API server has it now, or None when it is gone."""
        try:
            with TIMINGS.timed("api_read"):
                body = self.clients.custom.get_namespaced_custom_object(
                    n.GROUP, n.VERSION, namespace, n.DIRECTORIES, name
                )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return cast(dict[str, Any], body)
