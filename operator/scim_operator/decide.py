"""What to do about one ScimDirectory: the operator's whole decision, as a pure function.

``reconcile`` in ``directory`` observes (reads the directory's Secret, Service and
Ingress), calls ``decide`` with what it saw, the operator's indexes (``Context``) and a
clock, and applies the returned ``Decision``. Everything the operator decides (token
issue, reissue and rotation, repairs of edited objects, conditions, status, Events) is
decided here, so unit tests cover it with plain dicts in milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from scim_server.crd import names as n
from scim_server.crd.secret import decode_secret_data, token_secret_manifest
from scim_server.crd.spec import directory_id
from scim_server.crd.times import rfc3339

from . import constants as c
from . import desired as d
from .tokens import Event, TokenPlan, announcement, plan_token


@dataclass(frozen=True, slots=True)
class Context:
    """What a decision needs beyond the directory (from the operator's indexes): whether
    its Organization exists, and why its id is taken, if it is."""

    organization_exists: bool
    id_conflict: str | None = None


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


@dataclass(frozen=True, slots=True)
class Observed:
    """The directory's objects as read (dicts as the API serves them); None: absent, or
    not read because a new directory cannot have them yet (``Write`` then creates first)."""

    secret: Mapping[str, Any] | None = None
    service: Mapping[str, Any] | None = None
    ingress: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Write:
    """One object to create (``actual`` None: create, and on AlreadyExists compare with what
    exists) or replace; ``correction`` is the Event to post if an existing object differed."""

    kind: str
    desired: dict[str, Any]
    actual: Mapping[str, Any] | None
    correction: Event | None


@dataclass
class Decision:
    """Everything a reconcile does: writes, then the announcement, then status, then Events."""

    writes: list[Write] = field(default_factory=list)
    announcement: Event | None = None
    fingerprint: str | None = None
    status: dict[str, Any] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)


def _changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in new.items() if old.get(k) != v}


def _secret_view(secret: Mapping[str, Any] | None) -> tuple[dict[str, str], dict[str, str]] | None:
    if secret is None:
        return None
    meta = secret.get("metadata") or {}
    return decode_secret_data(secret.get("data")), dict(meta.get("annotations") or {})


def _write(kind: str, desired: dict[str, Any], actual: Mapping[str, Any] | None, quiet: bool) -> Write | None:
    """A Write when ``actual`` (if read) lacks what ``desired`` sets; None when it matches."""
    desired = d.with_fingerprint(desired)
    if actual is not None and not d.drifted(actual, desired):
        return None
    name = desired["metadata"]["name"]
    reason = {"Secret": c.REASON_SECRET_RESTORED, "Ingress": c.REASON_INGRESS_RESTORED}.get(
        kind, "ServiceRestored"
    )
    message = f"{kind} {name} was changed outside kubescim and has been restored"
    return Write(kind, desired, actual, None if quiet else ("Warning", reason, message))


def decide(
    body: Mapping[str, Any], observed: Observed, route: d.RouteConfig, context: Context, now: datetime
) -> Decision:
    """The decision for one directory (``body`` as the API serves it) at ``now``."""
    meta = body["metadata"]
    spec: Mapping[str, Any] = body.get("spec") or {}
    status: Mapping[str, Any] = body.get("status") or {}
    generation = meta.get("generation")
    new = "directoryId" not in status
    if new and context.id_conflict:
        conditions = d.set_condition(
            list(status.get("conditions") or []),
            n.READY,
            False,
            c.REASON_ID_CONFLICT,
            context.id_conflict,
            generation,
            now,
        )
        new_status = {"observedGeneration": generation, "conditions": conditions}
        event: Event = ("Warning", c.REASON_ID_CONFLICT, context.id_conflict)
        return Decision(status=_changed(status, new_status), events=[event])
    plan = plan_token(spec, status, d.secret_name(meta["name"]), _secret_view(observed.secret), now)
    announce = announcement(plan, status)
    # A spec change (new generation) or a new token explains a rewrite: no correction Event.
    quiet = status.get("observedGeneration") not in (None, generation)
    writes = _writes(body, observed, route, plan, quiet=quiet, token_changed=announce is not None)
    decision = Decision(announcement=announce, fingerprint=plan.fingerprint)
    decision.writes = [w for w in writes if w is not None]
    decision.events = [w.correction for w in decision.writes if w.correction is not None and w.actual]
    decision.status = _changed(status, _status(body, route, context, plan, now))
    return decision


def _writes(
    body: Mapping[str, Any],
    observed: Observed,
    route: d.RouteConfig,
    plan: TokenPlan,
    *,
    quiet: bool,
    token_changed: bool,
) -> list[Write | None]:
    meta, spec = body["metadata"], body.get("spec") or {}
    ns, name, uid = meta["namespace"], meta["name"], meta["uid"]
    dir_id = (body.get("status") or {}).get("directoryId") or directory_id(ns, name, spec)
    secret = token_secret_manifest(
        namespace=ns,
        name=name,
        secret_name=d.secret_name(name),
        uid=uid,
        dir_id=dir_id,
        endpoint=d.endpoint_url(spec, dir_id, route),
        token=plan.value,
        issued_at=plan.issued_at,
        suspended=bool(spec.get("suspended")),
        previous=plan.previous,
        announcement=(plan.reason, plan.message),
    )
    service = d.desired_service(namespace=ns, name=name, uid=uid, dir_id=dir_id, route=route)
    ingress = d.desired_ingress(namespace=ns, name=name, uid=uid, spec=spec, dir_id=dir_id, route=route)
    return [
        _write("Secret", secret, observed.secret, quiet or token_changed),
        _write("Service", service, observed.service, quiet) if service is not None else None,
        _write("Ingress", ingress, observed.ingress, quiet),
    ]


def _status(
    body: Mapping[str, Any], route: d.RouteConfig, context: Context, plan: TokenPlan, now: datetime
) -> dict[str, Any]:
    meta, spec = body["metadata"], body.get("spec") or {}
    status = body.get("status") or {}
    name, generation = meta["name"], meta.get("generation")
    dir_id = status.get("directoryId") or directory_id(meta["namespace"], name, spec)
    endpoint = d.endpoint_url(spec, dir_id, route)
    org = (spec.get("organizationRef") or {}).get("name", "")
    conditions = conditions_for(
        list(status.get("conditions") or []),
        organization=(org, context.organization_exists),
        suspended=bool(spec.get("suspended")),
        endpoint=endpoint,
        name=name,
        generation=generation,
        now=now,
    )
    new_status: dict[str, Any] = {
        "directoryId": dir_id,
        "endpoint": endpoint,
        "tokenSecretRef": {"name": d.secret_name(name)},
        "tokenIssuedAt": rfc3339(plan.issued_at),
        "tokenFingerprint": plan.fingerprint,
        "observedGeneration": generation,
        "conditions": conditions,
    }
    trigger = (spec.get("tokenPolicy") or {}).get("rotationTrigger")
    if trigger is not None:
        new_status["tokenRotationTrigger"] = trigger
    return new_status


_READY_BY_STATE = {
    # (suspended, organization exists) -> (Ready, reason)
    (True, True): (False, c.REASON_SUSPENDED),
    (True, False): (False, c.REASON_SUSPENDED),
    (False, False): (False, c.REASON_ORG_NOT_FOUND),
    (False, True): (True, c.REASON_RECONCILED),
}


def conditions_for(
    conditions: list[dict[str, Any]],
    *,
    organization: tuple[str, bool],
    suspended: bool,
    endpoint: str,
    name: str,
    generation: int | None,
    now: datetime,
) -> list[dict[str, Any]]:
    """The directory's conditions: Ready, OrganizationReady, TokenIssued, RouteReady, Suspended."""
    org, exists = organization
    ready, reason = _READY_BY_STATE[(suspended, exists)]
    ready_message = {
        c.REASON_SUSPENDED: "the directory is suspended",
        c.REASON_ORG_NOT_FOUND: f"Organization {org} not found in this namespace",
        c.REASON_RECONCILED: f"SCIM endpoint {endpoint} is ready",
    }[reason]
    if exists:
        org_condition = (True, c.REASON_ORG_FOUND, f"Organization {org} exists")
    else:
        org_condition = (False, c.REASON_ORG_NOT_FOUND, f"Organization {org} not found")
    if suspended:
        suspended_condition = (True, c.REASON_SUSPENDED, "spec.suspended is true: the endpoint answers 403")
    else:
        suspended_condition = (False, c.REASON_ACTIVE, "the directory accepts provisioning requests")
    updates = [
        (n.ORGANIZATION_READY, *org_condition),
        (n.TOKEN_ISSUED, True, c.REASON_TOKEN_ISSUED, f"bearer token in Secret {d.secret_name(name)}"),
        (n.ROUTE_READY, True, c.REASON_INGRESS_READY, f"Ingress {d.ingress_name(name)} routes {endpoint}"),
        (n.SUSPENDED, *suspended_condition),
        (n.READY, ready, reason, ready_message),
    ]
    for type_, ok, why, message in updates:
        conditions = d.set_condition(conditions, type_, ok, why, message, generation, now)
    return conditions


def max_users(spec: Mapping[str, Any], default: int | None) -> int | None:
    """The directory's maximum users: ``spec.maxUsers``, else the operator's default."""
    value = spec.get("maxUsers")
    return int(value) if isinstance(value, int) and value > 0 else default


def capacity_conditions(
    conditions: list[dict[str, Any]],
    users: int | None,
    maximum: int | None,
    generation: int | None,
    now: datetime,
) -> tuple[list[dict[str, Any]], Event | None]:
    """``conditions`` with ``CapacityWarning`` set from the user count (removed when no
    maximum applies), and the Warning Event to post when it has just turned true."""
    if maximum is None or users is None:
        return [x for x in conditions if x.get("type") != n.CAPACITY_WARNING], None
    share = users / maximum
    near = share > c.CAPACITY_SHARE
    if near:
        message = (
            f"{users} users: {share:.0%} of this directory's maximum of {maximum} "
            "(spec.maxUsers, else the operator's maxUsers); ConfigMap storage slows and loads "
            "the cluster's etcd beyond it: move the directory to PostgreSQL"
        )
    else:
        message = f"{users} of at most {maximum} users ({share:.0%})"
    reason = c.REASON_NEAR_CAPACITY if near else c.REASON_WITHIN_CAPACITY
    previous = next((x for x in conditions if x.get("type") == n.CAPACITY_WARNING), None)
    updated = d.set_condition(conditions, n.CAPACITY_WARNING, near, reason, message, generation, now)
    turned = near and (previous is None or previous.get("status") != "True")
    return updated, (("Warning", c.REASON_NEAR_CAPACITY, message) if turned else None)
