"""kopf registrations. Handlers are thin: each delegates to ``directory``/``organization``.

Every path that reconciles a directory (its own events, a resync timer, an event on a
Secret/Ingress/Service it owns, its Organization appearing) goes through
``Reconciler.sync``, which serialises work per directory and reads the object fresh,
so two triggers never issue two tokens.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import kopf
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from scim_server.storage import Storage

from . import constants as c
from .desired import RouteConfig
from .directory import Clients, Event, finalize_directory, reconcile_directory, stats_status
from .organization import deletion_blocked, member_directories, organization_status
from .settings import OperatorSettings

log = logging.getLogger("kubescim.operator")


@dataclass
class Reconciler:
    """Shared state of one operator process, kept in kopf's memo."""

    clients: Clients
    route: RouteConfig
    storage: Storage | None
    locks: defaultdict[tuple[str, str], threading.Lock] = field(
        default_factory=lambda: defaultdict(threading.Lock)
    )
    guard: threading.Lock = field(default_factory=threading.Lock)

    def _lock(self, namespace: str, name: str) -> threading.Lock:
        with self.guard:
            return self.locks[(namespace, name)]

    def sync(self, namespace: str, name: str, *, stats: bool = False) -> None:
        """Reconcile one directory from its current state; post Events for corrections."""
        with self._lock(namespace, name):
            body = self._get(namespace, name)
            if body is None or body["metadata"].get("deletionTimestamp"):
                return
            outcome = reconcile_directory(self.clients, body, self.route)
            status = dict(outcome.status)
            if stats and self.storage is not None:
                outcome.events.extend(self._purge_inactive(body, status))
                merged = {**(body.get("status") or {}), **status}
                try:
                    status.update(stats_status(self.storage, merged))
                except Exception as exc:
                    log.warning("cannot read stats of %s/%s: %s", namespace, name, type(exc).__name__)
            if status:
                response: Any = self.clients.custom.patch_namespaced_custom_object_status(
                    c.GROUP,
                    c.VERSION,
                    namespace,
                    c.DIRECTORIES,
                    name,
                    {"status": status},
                    _preload_content=False,
                )
                response.release_conn()
            post(body, outcome.events)

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
        return [
            (
                "Normal",
                c.REASON_INACTIVE_DELETED,
                f"deleted {count} deactivated user(s) (inactiveUsers: Delete)",
            )
        ]

    def _get(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            body = cast(
                dict[str, Any],
                self.clients.custom.get_namespaced_custom_object(
                    c.GROUP, c.VERSION, namespace, c.DIRECTORIES, name
                ),
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return body


def post(body: Mapping[str, Any], events: list[Event]) -> None:
    for type_, reason, message in events:
        kopf.event(cast(Any, dict(body)), type=type_, reason=reason, message=message)


def build_settings(op: OperatorSettings) -> kopf.OperatorSettings:
    """kopf tuning in one place: our finalizer and progress annotations, workers, backoff."""
    settings = kopf.OperatorSettings()
    settings.persistence.finalizer = c.FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=c.GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=c.GROUP, key="last-handled-configuration"
    )
    settings.execution.max_workers = op.max_workers
    settings.execution.default_backoff = op.backoff_seconds
    settings.posting.level = logging.WARNING  # only our own Events, and kopf's warnings
    settings.peering.name = "kubescim"
    return settings


def register(registry: kopf.OperatorRegistry, op: OperatorSettings) -> None:
    """Register every handler on ``registry`` (timers take their interval from ``op``)."""
    directories: dict[str, Any] = {
        "group": c.GROUP,
        "version": c.VERSION,
        "plural": c.DIRECTORIES,
        "registry": registry,
    }
    organizations: dict[str, Any] = {
        "group": c.GROUP,
        "version": c.VERSION,
        "plural": c.ORGANIZATIONS,
        "registry": registry,
    }
    owned: dict[str, Any] = {
        "labels": {c.MANAGED_BY: c.MANAGER, c.LABEL_DIRECTORY: kopf.PRESENT},
        "registry": registry,
    }

    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> Any:
        return kopf.login_via_client(**kwargs)

    @kopf.on.probe(id="storage", registry=registry)
    def storage_probe(*, memo: Any, **_: Any) -> bool:
        reconciler: Reconciler = memo.reconciler
        if reconciler.storage is not None:
            reconciler.storage.ping()
        return True

    @kopf.on.resume(**directories, id="directory")
    @kopf.on.create(**directories, id="directory")
    @kopf.on.update(**directories, id="directory")
    def directory_changed(*, name: str, namespace: str | None, memo: Any, **_: Any) -> None:
        assert namespace is not None
        memo.reconciler.sync(namespace, name, stats=True)

    @kopf.timer(
        **directories, id="directory-resync", interval=op.resync_seconds, initial_delay=op.resync_seconds
    )
    def directory_resync(*, name: str, namespace: str | None, memo: Any, **_: Any) -> None:
        assert namespace is not None
        memo.reconciler.sync(namespace, name, stats=True)

    @kopf.on.delete(**directories, id="directory-cleanup")
    def directory_deleted(*, body: kopf.Body, memo: Any, **_: Any) -> None:
        reconciler: Reconciler = memo.reconciler
        try:
            event = finalize_directory(reconciler.clients, reconciler.storage, body)
        except ApiException:
            raise
        except Exception as exc:
            message = f"cannot handle the directory's data yet ({type(exc).__name__}); will retry"
            kopf.event(
                cast(Any, dict(body)), type="Warning", reason=c.REASON_STORAGE_UNAVAILABLE, message=message
            )
            raise kopf.TemporaryError(message, delay=op.backoff_seconds) from None
        post(body, [event])

    @kopf.on.event("", "v1", "secrets", **owned)
    @kopf.on.event("", "v1", "services", **owned)
    @kopf.on.event("networking.k8s.io", "v1", "ingresses", **owned)
    async def owned_object_changed(*, event: Any, memo: Any, **_: Any) -> None:
        # Async, so the many ADDED events of a mass creation cost no thread hop.
        if event.get("type") not in ("DELETED", "MODIFIED"):
            return
        meta = event["object"]["metadata"]
        await asyncio.to_thread(memo.reconciler.sync, meta["namespace"], meta["labels"][c.LABEL_DIRECTORY])

    @kopf.on.resume(**organizations, id="organization")
    @kopf.on.create(**organizations, id="organization")
    @kopf.on.update(**organizations, id="organization")
    @kopf.timer(**organizations, id="organization-resync", interval=op.resync_seconds)
    def organization_changed(
        *, body: kopf.Body, name: str, namespace: str | None, patch: kopf.Patch, memo: Any, **_: Any
    ) -> None:
        assert namespace is not None
        reconciler: Reconciler = memo.reconciler
        members = member_directories(reconciler.clients, namespace, name)
        patch.status.update(organization_status(body, members))
        for directory in members:
            conditions = (directory.get("status") or {}).get("conditions") or []
            if not any(
                x.get("type") == c.ORGANIZATION_READY and x.get("status") == "True" for x in conditions
            ):
                reconciler.sync(namespace, directory["metadata"]["name"])

    @kopf.on.delete(**organizations, id="organization-guard")
    def organization_deleted(
        *, body: kopf.Body, name: str, namespace: str | None, memo: Any, **_: Any
    ) -> None:
        assert namespace is not None
        reconciler: Reconciler = memo.reconciler
        blocked = deletion_blocked(body, member_directories(reconciler.clients, namespace, name))
        if blocked is None:
            return
        status, event = blocked
        reconciler.clients.custom.patch_namespaced_custom_object_status(
            c.GROUP, c.VERSION, namespace, c.ORGANIZATIONS, name, {"status": status}
        )
        post(body, [event])
        raise kopf.TemporaryError(event[2], delay=min(op.resync_seconds, 15))


def make_reconciler(op: OperatorSettings, api: client.ApiClient | None = None) -> Reconciler:
    """The memo's reconciler: API clients, route defaults, and storage when configured."""
    from scim_server.kube_tokens import api_client
    from scim_server.storage import open_storage

    storage = open_storage(op.database_url, pool_size=4) if op.database_url else None
    return Reconciler(Clients(api or api_client()), op.route(), storage)
