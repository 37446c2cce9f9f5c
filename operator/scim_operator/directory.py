"""Reconciling one ScimDirectory against the cluster: observe its objects, ``decide``,
apply; and on deletion, handle its data and remove what it owned.

Level-based: every run reads the actual objects, writes only what differs, and reports
Events for what it had to change. Running it twice on an unchanged directory writes
nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from scim_server.crd.spec import directory_id
from scim_server.crd.times import rfc3339
from scim_server.storage import Backend

from . import constants as c
from . import desired as d
from . import kube
from .decide import Context, Decision, Observed, Write, decide
from .tokens import Event

log = logging.getLogger("kubescim.operator")


@dataclass
class Clients:
    """The API groups the operator talks to, sharing one ApiClient (its urllib3 pool is
    thread-safe and sized for the operator's workers)."""

    api: client.ApiClient
    core: client.CoreV1Api = field(init=False)
    net: client.NetworkingV1Api = field(init=False)
    custom: client.CustomObjectsApi = field(init=False)

    def __post_init__(self) -> None:
        self.core = client.CoreV1Api(self.api)
        self.net = client.NetworkingV1Api(self.api)
        self.custom = client.CustomObjectsApi(self.api)

    def as_dict(self, obj: Any) -> dict[str, Any]:
        out: dict[str, Any] = self.api.sanitize_for_serialization(obj)
        return out


_READS = {
    # kind -> (the API group attribute of Clients, read method, object name from the directory's)
    "Secret": ("core", "read_namespaced_secret", d.secret_name),
    "Service": ("core", "read_namespaced_service", d.service_name),
    "Ingress": ("net", "read_namespaced_ingress", d.ingress_name),
}
_WRITES = {
    "Secret": ("core", "create_namespaced_secret", "replace_namespaced_secret"),
    "Service": ("core", "create_namespaced_service", "replace_namespaced_service"),
    "Ingress": ("net", "create_namespaced_ingress", "replace_namespaced_ingress"),
}


def _read(clients: Clients, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
    group, method, _ = _READS[kind]
    found = kube.read(getattr(getattr(clients, group), method), name, namespace)
    return None if found is None else clients.as_dict(found)


def observe(clients: Clients, body: Mapping[str, Any]) -> Observed:
    """Read the directory's objects; a new one (no id in status yet) can have only a Secret."""
    meta = body["metadata"]
    ns, name = meta["namespace"], meta["name"]
    secret = _read(clients, "Secret", ns, d.secret_name(name))
    if "directoryId" not in (body.get("status") or {}):
        return Observed(secret=secret)
    return Observed(
        secret=secret,
        service=_read(clients, "Service", ns, d.service_name(name)),
        ingress=_read(clients, "Ingress", ns, d.ingress_name(name)),
    )


def apply(clients: Clients, write: Write) -> Event | None:
    """Create or replace one object; returns the correction Event when an existing object
    had to be replaced. Raises NamespaceTerminating when the namespace is being deleted."""
    group, create_name, replace_name = _WRITES[write.kind]
    api = getattr(clients, group)
    desired = write.desired
    ns, name = desired["metadata"]["namespace"], desired["metadata"]["name"]
    actual = write.actual
    if actual is None:
        try:
            kube.write(getattr(api, create_name), ns, desired)
            return None
        except ApiException as exc:
            if exc.status != 409:
                raise
        actual = _read(clients, write.kind, ns, name)
        if actual is None or not d.drifted(actual, desired):
            return None
    body = {
        **desired,
        "metadata": {**desired["metadata"], "resourceVersion": actual["metadata"]["resourceVersion"]},
    }
    if write.kind == "Service":
        body["spec"] = {**actual.get("spec", {}), **desired["spec"]}
    kube.write(getattr(api, replace_name), name, ns, body)
    return write.correction if write.actual is None else None


def reconcile_directory(
    clients: Clients,
    body: Mapping[str, Any],
    route: d.RouteConfig,
    context: Context,
    now: datetime | None = None,
) -> Decision:
    """Observe the directory's objects, decide, and write what differs (objects only: the
    caller announces the token, patches status and posts the Decision's Events).

    Raises NamespaceTerminating when its namespace is being deleted.
    """
    decision = decide(body, observe(clients, body), route, context, now or datetime.now(UTC))
    for write in decision.writes:
        event = apply(clients, write)
        if event is not None:
            decision.events.append(event)
    return decision


def stats_status(storage: Backend, status: Mapping[str, Any]) -> dict[str, Any]:
    """Users, groups and last sync from storage, as the status fields that changed."""
    dir_id = status.get("directoryId")
    if not dir_id:
        return {}
    storage.activate_directory(dir_id)  # dsync.activated, once, where the backend keeps events
    stats = storage.stats(dir_id)
    new: dict[str, Any] = {"users": stats.users, "groups": stats.groups}
    if stats.last_change is not None:
        new["lastSyncTime"] = rfc3339(stats.last_change)
    return {k: v for k, v in new.items() if status.get(k) != v}


def finalize_directory(clients: Clients, storage: Backend | None, body: Mapping[str, Any]) -> Event:
    """Delete or retain the directory's data, revoke its token, remove its route.

    Raises whatever storage raises, so the finalizer stays until the data is handled.
    """
    meta, spec = body["metadata"], body.get("spec") or {}
    status = body.get("status") or {}
    ns, name = meta["namespace"], meta["name"]
    dir_id = status.get("directoryId") or directory_id(ns, name, spec)
    policy = spec.get("deletionPolicy", "Delete")
    if policy == "Delete":
        if storage is None:
            raise RuntimeError("no storage configured: cannot delete the directory's data")
        storage.delete_directory(dir_id)
        event: Event = ("Normal", c.REASON_DATA_DELETED, f"users and groups of directory {dir_id} deleted")
    else:
        if storage is not None:  # dsync.deleted, though the data stays
            storage.deactivate_directory(dir_id)
        event = ("Normal", c.REASON_DATA_RETAINED, f"users and groups of directory {dir_id} retained")
    for fn, obj in (
        (clients.core.delete_namespaced_secret, d.secret_name(name)),
        (clients.net.delete_namespaced_ingress, d.ingress_name(name)),
        (clients.core.delete_namespaced_service, d.service_name(name)),
    ):
        kube.read(fn, obj, ns)
    return event
