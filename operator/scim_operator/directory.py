"""Reconciling one ScimDirectory: its token Secret, route (Ingress, bridge Service), status.

Level-based: every run reads the actual objects, computes the desired ones with
``desired``, writes only what differs, and reports Events for what it had to change.
Running it twice on an unchanged directory writes nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from scim_server.auth import new_token
from scim_server.storage import Storage

from . import constants as c
from . import desired as d

log = logging.getLogger("kubescim.operator")

Event = tuple[str, str, str]  # (type, reason, message)


@dataclass
class Clients:
    """The API groups the operator talks to, sharing one ApiClient."""

    api: client.ApiClient
    core: client.CoreV1Api = field(init=False)
    net: client.NetworkingV1Api = field(init=False)
    custom: client.CustomObjectsApi = field(init=False)

    org_ttl: float = 2.0
    _orgs: dict[tuple[str, str], tuple[bool, float]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.core = client.CoreV1Api(self.api)
        self.net = client.NetworkingV1Api(self.api)
        self.custom = client.CustomObjectsApi(self.api)

    def organization_exists(self, namespace: str, name: str) -> bool:
        """Whether the Organization exists; answers from a cache of a few seconds, since
        a thousand directories of one organization would otherwise ask a thousand times."""
        key = (namespace, name)
        cached = self._orgs.get(key)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        found = (
            _read(
                self.custom.get_namespaced_custom_object, c.GROUP, c.VERSION, namespace, c.ORGANIZATIONS, name
            )
            is not None
        )
        self._orgs[key] = (found, time.monotonic() + self.org_ttl)
        return found

    def as_dict(self, obj: Any) -> dict[str, Any]:
        out: dict[str, Any] = self.api.sanitize_for_serialization(obj)
        return out


@dataclass
class Outcome:
    """What a reconcile decided: the status fields to patch and the Events to post."""

    status: dict[str, Any]
    events: list[Event]


def _read(fn: Callable[..., Any], *args: Any) -> Any | None:
    try:
        return fn(*args)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _existing_previous(data: Mapping[str, str], now: datetime) -> d.PreviousToken | None:
    sha, expires = data.get(c.PREVIOUS_SHA256_KEY), _parse_time(data.get(c.PREVIOUS_EXPIRES_KEY))
    if sha and expires and expires > now:
        return d.PreviousToken(sha, expires)
    return None


def fingerprint(token: str) -> str:
    """A short SHA-256 prefix kept in status to notice a hand-edited token (not secret)."""
    return d.token_sha256(token)[:16]


@dataclass(frozen=True, slots=True)
class _Token:
    value: str
    issued_at: datetime
    previous: d.PreviousToken | None
    event: Event | None


def _decide_token(
    spec: Mapping[str, Any], status: Mapping[str, Any], secret: Any | None, now: datetime
) -> _Token:
    data = d.decode_secret_data(secret.data) if secret is not None else {}
    current = data.get(c.TOKEN_KEY)
    known = status.get("tokenFingerprint")
    if current is None or (known and fingerprint(current) != known):
        if known:
            why = "deleted" if secret is None else "edited"
            event: Event = (
                "Warning",
                c.REASON_TOKEN_REISSUED,
                f"the token Secret was {why}; a new token was issued: update the identity provider",
            )
        else:
            event = ("Normal", c.REASON_TOKEN_ISSUED, f"bearer token issued in Secret {d.secret_name('')}")
        return _Token(new_token(), now, None, event)
    annotations = secret.metadata.annotations or {} if secret is not None else {}
    issued_at = _parse_time(annotations.get(c.ANNOTATION_ISSUED_AT)) or now
    reason = d.rotation_reason(spec, status, issued_at, now)
    if reason is not None:
        grace = d.grace_period(spec)
        previous = d.PreviousToken(d.token_sha256(current), now + grace)
        until = f"{previous.expires_at:%Y-%m-%dT%H:%M:%SZ}"
        message = f"token rotated ({reason}); the previous token stays valid until {until}"
        return _Token(new_token(), now, previous, ("Normal", c.REASON_TOKEN_ROTATED, message))
    return _Token(current, issued_at, _existing_previous(data, now), None)


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
    """
    ns, name = desired["metadata"]["namespace"], desired["metadata"]["name"]
    read, create, replace = _methods(clients, kind)
    desired = d.with_fingerprint(desired)
    if actual is None:
        try:
            create(ns, desired, _preload_content=False).release_conn()
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
    replace(name, ns, body, _preload_content=False).release_conn()
    if spec_changed or quiet:
        return None
    reason = {"Secret": c.REASON_SECRET_RESTORED, "Ingress": c.REASON_INGRESS_RESTORED}.get(
        kind, "ServiceRestored"
    )
    return ("Warning", reason, f"{kind} {name} was changed outside kubescim and has been restored")


def _changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in new.items() if old.get(k) != v}


def reconcile_directory(
    clients: Clients, body: Mapping[str, Any], route: d.RouteConfig, now: datetime | None = None
) -> Outcome:
    """Bring one directory's Secret, route and status to their desired state."""
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
    conflict = _id_conflict(clients, dir_id, uid) if new else None
    if conflict:
        conditions = d.set_condition(
            conditions, c.READY, False, c.REASON_ID_CONFLICT, conflict, generation, now
        )
        new_status = {"observedGeneration": generation, "conditions": conditions}
        return Outcome(_changed(status, new_status), [("Warning", c.REASON_ID_CONFLICT, conflict)])

    org_name = (spec.get("organizationRef") or {}).get("name", "")
    has_org = clients.organization_exists(ns, org_name)
    endpoint = d.endpoint_url(spec, dir_id, route)
    suspended = bool(spec.get("suspended"))

    secret = _read(clients.core.read_namespaced_secret, d.secret_name(name), ns)
    token = _decide_token(spec, status, secret, now)
    if token.event is not None:
        type_, reason, message = token.event
        events.append((type_, reason, message.replace(d.secret_name(""), d.secret_name(name))))
    wanted_secret = d.desired_secret(
        namespace=ns,
        name=name,
        uid=uid,
        dir_id=dir_id,
        endpoint=endpoint,
        token=token.value,
        issued_at=token.issued_at,
        suspended=suspended,
        previous=token.previous,
    )
    quiet_secret = token.event is not None
    event = _apply(clients, "Secret", secret, wanted_secret, spec_changed=spec_changed, quiet=quiet_secret)
    if event:
        events.append(event)

    wanted_service = d.desired_service(namespace=ns, name=name, uid=uid, dir_id=dir_id, route=route)
    if wanted_service is not None:
        service = None if new else _read(clients.core.read_namespaced_service, d.service_name(name), ns)
        event = _apply(clients, "Service", service, wanted_service, spec_changed=spec_changed, quiet=False)
        if event:
            events.append(event)
    wanted_ingress = d.desired_ingress(
        namespace=ns, name=name, uid=uid, spec=spec, dir_id=dir_id, route=route
    )
    ingress = None if new else _read(clients.net.read_namespaced_ingress, d.ingress_name(name), ns)
    event = _apply(clients, "Ingress", ingress, wanted_ingress, spec_changed=spec_changed, quiet=False)
    if event:
        events.append(event)

    conditions = _conditions(conditions, has_org, org_name, suspended, endpoint, name, generation, now)
    new_status = {
        "directoryId": dir_id,
        "endpoint": endpoint,
        "tokenSecretRef": {"name": d.secret_name(name)},
        "tokenIssuedAt": token.issued_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tokenFingerprint": fingerprint(token.value),
        "tokenRotationTrigger": (spec.get("tokenPolicy") or {}).get("rotationTrigger"),
        "observedGeneration": generation,
        "conditions": conditions,
    }
    if new_status["tokenRotationTrigger"] is None:
        del new_status["tokenRotationTrigger"]
    return Outcome(_changed(status, new_status), events)


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


def _id_conflict(clients: Clients, dir_id: str, uid: str) -> str | None:
    """Another directory may already hold this id (an explicit path, or a
    ``<namespace>-<name>`` that two objects spell alike, like ``a-b/c`` and ``a/b-c``)."""
    selector = f"{c.LABEL_DIRECTORY_ID}={dir_id}"
    for secret in clients.core.list_secret_for_all_namespaces(label_selector=selector).items:
        meta = secret.metadata
        assert meta is not None
        owners = meta.owner_references or []
        if owners and all(o.uid != uid for o in owners):
            holder = f"{meta.namespace}/{(meta.labels or {}).get(c.LABEL_DIRECTORY)}"
            return f"directory id {dir_id!r} is already used by {holder}; set a distinct spec.endpoint.path"
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
        _read(fn, obj, ns)
    return event
