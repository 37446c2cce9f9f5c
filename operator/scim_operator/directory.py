"""Reconciling one ScimDirectory: its token Secret, route (Ingress, bridge Service), status.

Level-based: every run reads the actual objects, computes the desired ones with
``desired``, writes only what differs, and reports Events for what it had to change.
Running it twice on an unchanged directory writes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from scim_server.storage import Storage

from . import constants as c
from . import desired as d
from . import kube
from .tokens import Event, announcement, plan_token

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


@dataclass
class Outcome:
    """What a reconcile decided: the status fields to patch, the Events to post, and the
    token announcement (posted before status records it)."""

    status: dict[str, Any]
    events: list[Event]
    announcement: Event | None = None
    fingerprint: str | None = None


def _methods(
    clients: Clients, kind: str
) -> tuple[Callable[..., Any], Callable[..., Any], Callable[..., Any]]:
    """(read, create, replace) for one of the kinds a directory owns."""
    methods: dict[str, tuple[Callable[..., Any], Callable[..., Any], Callable[..., Any]]] = {
        "Secret": (
            clients.core.read_namespaced_secret,
            clients.core.create_namespaced_secret,
            clients.core.replace_namespaced_secret,
        ),
        "Service": (
            clients.core.read_namespaced_service,
            clients.core.create_namespaced_service,
            clients.core.replace_namespaced_service,
        ),
        "Ingress": (
            clients.net.read_namespaced_ingress,
            clients.net.create_namespaced_ingress,
            clients.net.replace_namespaced_ingress,
        ),
    }
    return methods[kind]


def _apply(
    clients: Clients,
    kind: str,
    actual: Any | None,
    desired: dict[str, Any],
    *,
    spec_changed: bool,
    quiet: bool,
) -> Event | None:
    """Create or replace one object; returns the Event for a correction, if any.

    ``actual`` None means "not read": creation is tried first (one call for a new
    directory), and an existing object found that way is compared like a read one.
    Raises NamespaceTerminating when the namespace is being deleted.
    """
    ns, name = desired["metadata"]["namespace"], desired["metadata"]["name"]
    read, create, replace = _methods(clients, kind)
    desired = d.with_fingerprint(desired)
    if actual is None:
        try:
            kube.write(create, ns, desired)
            return None
        except ApiException as exc:
            if exc.status != 409:
                raise
        actual = read(name, ns)
    current = clients.as_dict(actual)
    if not d.drifted(current, desired):
        return None
    body = {
        **desired,
        "metadata": {**desired["metadata"], "resourceVersion": current["metadata"]["resourceVersion"]},
    }
    if kind == "Service":
        body["spec"] = {**current.get("spec", {}), **desired["spec"]}
    kube.write(replace, name, ns, body)
    if spec_changed or quiet:
        return None
    reason = {"Secret": c.REASON_SECRET_RESTORED, "Ingress": c.REASON_INGRESS_RESTORED}.get(
        kind, "ServiceRestored"
    )
    return ("Warning", reason, f"{kind} {name} was changed outside kubescim and has been restored")


def _changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in new.items() if old.get(k) != v}


def _secret_view(secret: Any | None) -> tuple[dict[str, str], dict[str, str]] | None:
    if secret is None:
        return None
    return d.decode_secret_data(secret.data), dict(secret.metadata.annotations or {})


@dataclass(frozen=True, slots=True)
class Context:
    """What a reconcile needs to know beyond the directory itself (from the operator's
    indexes): whether its Organization exists, and who else claims its id."""

    organization_exists: bool
    id_conflict: str | None = None


def reconcile_directory(
    clients: Clients,
    body: Mapping[str, Any],
    route: d.RouteConfig,
    context: Context,
    now: datetime | None = None,
) -> Outcome:
    """Bring one directory's Secret, route and status to their desired state.

    Raises NamespaceTerminating when its namespace is being deleted.
    """
    now = now or datetime.now(UTC)
    meta = body["metadata"]
    ns, name, uid = meta["namespace"], meta["name"], meta["uid"]
    generation = meta.get("generation")
    spec: Mapping[str, Any] = body.get("spec") or {}
    status: Mapping[str, Any] = body.get("status") or {}
    dir_id = status.get("directoryId") or d.directory_id(ns, name, spec)
    spec_changed = status.get("observedGeneration") not in (None, generation)
    events: list[Event] = []
    conditions: list[dict[str, Any]] = list(status.get("conditions") or [])

    # The id is pinned in status once a reconcile succeeded; before that, make sure no
    # other directory holds it, and read nothing that cannot exist yet.
    new = "directoryId" not in status
    if new and context.id_conflict:
        conflict = context.id_conflict
        conditions = d.set_condition(
            conditions, c.READY, False, c.REASON_ID_CONFLICT, conflict, generation, now
        )
        new_status = {"observedGeneration": generation, "conditions": conditions}
        return Outcome(_changed(status, new_status), [("Warning", c.REASON_ID_CONFLICT, conflict)])

    org_name = (spec.get("organizationRef") or {}).get("name", "")
    has_org = context.organization_exists
    endpoint = d.endpoint_url(spec, dir_id, route)
    suspended = bool(spec.get("suspended"))

    secret = kube.read(clients.core.read_namespaced_secret, d.secret_name(name), ns)
    plan = plan_token(spec, status, d.secret_name(name), _secret_view(secret), now)
    wanted_secret = d.desired_secret(
        namespace=ns,
        name=name,
        uid=uid,
        dir_id=dir_id,
        endpoint=endpoint,
        token=plan.value,
        issued_at=plan.issued_at,
        suspended=suspended,
        previous=plan.previous,
        announcement=(plan.reason, plan.message),
    )
    announce = announcement(plan, status)
    event = _apply(clients, "Secret", secret, wanted_secret, spec_changed=spec_changed, quiet=bool(announce))
    if event:
        events.append(event)

    wanted_service = d.desired_service(namespace=ns, name=name, uid=uid, dir_id=dir_id, route=route)
    if wanted_service is not None:
        service = None if new else kube.read(clients.core.read_namespaced_service, d.service_name(name), ns)
        event = _apply(clients, "Service", service, wanted_service, spec_changed=spec_changed, quiet=False)
        if event:
            events.append(event)
    wanted_ingress = d.desired_ingress(
        namespace=ns, name=name, uid=uid, spec=spec, dir_id=dir_id, route=route
    )
    ingress = None if new else kube.read(clients.net.read_namespaced_ingress, d.ingress_name(name), ns)
    event = _apply(clients, "Ingress", ingress, wanted_ingress, spec_changed=spec_changed, quiet=False)
    if event:
        events.append(event)

    conditions = _conditions(conditions, has_org, org_name, suspended, endpoint, name, generation, now)
    new_status = {
        "directoryId": dir_id,
        "endpoint": endpoint,
        "tokenSecretRef": {"name": d.secret_name(name)},
        "tokenIssuedAt": plan.issued_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tokenFingerprint": plan.fingerprint,
        "tokenRotationTrigger": (spec.get("tokenPolicy") or {}).get("rotationTrigger"),
        "observedGeneration": generation,
        "conditions": conditions,
    }
    if new_status["tokenRotationTrigger"] is None:
        del new_status["tokenRotationTrigger"]
    return Outcome(_changed(status, new_status), events, announce, plan.fingerprint)


def _conditions(
    conditions: list[dict[str, Any]],
    has_org: bool,
    org_name: str,
    suspended: bool,
    endpoint: str,
    name: str,
    generation: int | None,
    now: datetime,
) -> list[dict[str, Any]]:
    def put(type_: str, ok: bool | None, reason: str, message: str) -> None:
        nonlocal conditions
        conditions = d.set_condition(conditions, type_, ok, reason, message, generation, now)

    if has_org:
        put(c.ORGANIZATION_READY, True, c.REASON_ORG_FOUND, f"Organization {org_name} exists")
    else:
        put(c.ORGANIZATION_READY, False, c.REASON_ORG_NOT_FOUND, f"Organization {org_name} not found")
    put(c.TOKEN_ISSUED, True, c.REASON_TOKEN_ISSUED, f"bearer token in Secret {d.secret_name(name)}")
    put(c.ROUTE_READY, True, c.REASON_INGRESS_READY, f"Ingress {d.ingress_name(name)} routes {endpoint}")
    if suspended:
        put(c.SUSPENDED, True, c.REASON_SUSPENDED, "spec.suspended is true: the endpoint answers 403")
        put(c.READY, False, c.REASON_SUSPENDED, "the directory is suspended")
    elif not has_org:
        put(c.SUSPENDED, False, c.REASON_ACTIVE, "the directory accepts provisioning requests")
        put(c.READY, False, c.REASON_ORG_NOT_FOUND, f"Organization {org_name} not found in this namespace")
    else:
        put(c.SUSPENDED, False, c.REASON_ACTIVE, "the directory accepts provisioning requests")
        put(c.READY, True, c.REASON_RECONCILED, f"SCIM endpoint {endpoint} is ready")
    return conditions


@dataclass(frozen=True, slots=True, order=True)
class IdClaim:
    """One directory's claim on a directory id (from the operator's index)."""

    pinned: bool  # status.directoryId holds it: the id is this directory's
    created: str
    uid: str
    holder: str  # namespace/name


def id_conflict(dir_id: str, uid: str, claims: Iterable[IdClaim]) -> str | None:
    """Another directory may already hold this id (an explicit path, or a
    ``<namespace>-<name>`` that two objects spell alike, like ``a-b/c`` and ``a/b-c``).

    The directory that pinned the id keeps it; among new claimants the oldest wins.
    """
    mine = [x for x in claims if x.uid == uid]
    others = [x for x in claims if x.uid != uid]
    if not others:
        return None
    me = mine[0] if mine else IdClaim(False, "~", uid, "")
    for other in others:
        if other.pinned or (not me.pinned and (other.created, other.uid) < (me.created, me.uid)):
            return (
                f"directory id {dir_id!r} is already used by {other.holder}; "
                "set a distinct spec.endpoint.path"
            )
    return None


def stats_status(storage: Storage, status: Mapping[str, Any]) -> dict[str, Any]:
    """Users, groups and last sync from storage, as the status fields that changed."""
    dir_id = status.get("directoryId")
    if not dir_id:
        return {}
    stats = storage.stats(dir_id)
    new: dict[str, Any] = {"users": stats.users, "groups": stats.groups}
    if stats.last_change is not None:
        new["lastSyncTime"] = stats.last_change.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return _changed(status, new)


def finalize_directory(clients: Clients, storage: Storage | None, body: Mapping[str, Any]) -> Event:
    """Delete or retain the directory's data, revoke its token, remove its route.

    Raises whatever storage raises, so the finalizer stays until the data is handled.
    """
    meta, spec = body["metadata"], body.get("spec") or {}
    status = body.get("status") or {}
    ns, name = meta["namespace"], meta["name"]
    dir_id = status.get("directoryId") or d.directory_id(ns, name, spec)
    policy = spec.get("deletionPolicy", "Delete")
    if policy == "Delete":
        if storage is None:
            raise RuntimeError("no storage configured: cannot delete the directory's data")
        storage.delete_directory(dir_id)
        event: Event = ("Normal", c.REASON_DATA_DELETED, f"users and groups of directory {dir_id} deleted")
    else:
        event = ("Normal", c.REASON_DATA_RETAINED, f"users and groups of directory {dir_id} retained")
    for fn, obj in (
        (clients.core.delete_namespaced_secret, d.secret_name(name)),
        (clients.net.delete_namespaced_ingress, d.ingress_name(name)),
        (clients.core.delete_namespaced_service, d.service_name(name)),
    ):
        kube.read(fn, obj, ns)
    return event
