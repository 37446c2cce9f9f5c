"""kopf registrations. Handlers only delegate: to ``Reconciler.sync`` for a directory, to
``organization`` for an Organization, and to ``directory.finalize_directory`` on deletion.

Three indexes, kept current by kopf from its watches, replace reads of the API on every
event: which Organizations exist, which directories each Organization has, and which
directories claim each directory id.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import kopf
from kubernetes import client

from scim_server.crd import names as n
from scim_server.crd.client import describe
from scim_server.crd.spec import directory_id
from scim_server.storage import Backend

from . import constants as c
from . import events
from .apikeys import ensure_api_key
from .decide import IdClaim
from .directory import Clients, finalize_directory
from .organization import deletion_blocked, member_summary, organization_ready, organization_status
from .reconciler import Reconciler, context_for
from .settings import OperatorSettings
from .tokens import Event

log = logging.getLogger("kubescim.operator")

OWNED_KINDS: tuple[tuple[str, str], ...] = (
    ("v1", "secrets"),
    ("v1", "services"),
    ("networking.k8s.io", "ingresses"),
)
"""What the operator creates per directory, as kopf selects them (group or core version, plural)."""
OWNED_SELECTOR = f"{n.MANAGED_BY}={n.MANAGER},{n.LABEL_DIRECTORY}"
"""The label selector of those objects, sent to the API server with every list and watch."""


def build_settings(op: OperatorSettings, namespaces: Sequence[str] = ()) -> kopf.OperatorSettings:
    """kopf tuning in one place: our finalizer and progress annotations, workers, backoff.

    Limited to ``namespaces`` given by name (no globs), kopf has nothing to discover: it
    neither lists namespaces nor watches CRDs, so it needs no cluster-wide permission."""
    settings = kopf.OperatorSettings()
    settings.persistence.finalizer = c.FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=n.GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=n.GROUP, key="last-handled-configuration"
    )
    settings.execution.max_workers = op.max_workers
    settings.execution.default_backoff = op.backoff_seconds
    settings.posting.level = logging.WARNING  # only our own Events, and kopf's warnings
    settings.peering.standalone = True  # one active replica at a time, by a Lease (see election)
    settings.scanning.disabled = bool(namespaces) and not any(set(ns) & set("*?[!") for ns in namespaces)
    # kopf applies a handler's ``labels=`` filter after the API server has sent every object
    # of the kind: every Secret, Service and Ingress of the cluster, each decoded and kept.
    # The API server filters what it sends instead.
    for group, plural in OWNED_KINDS:
        settings.watching.label_selectors[group, plural] = OWNED_SELECTOR
    return settings


def _indexes(kwargs: dict[str, Any]) -> tuple[Any, Any]:
    """The Organization and directory-id indexes kopf passes every handler."""
    return kwargs["organization_index"], kwargs["directory_ids"]


def _memo(memo: Any) -> Reconciler:
    reconciler: Reconciler = memo.reconciler
    return reconciler


async def _reconcile(reconciler: Reconciler, body: Any, indexes: tuple[Any, Any], *, stats: bool) -> None:
    """Reconcile a directory on the reconciler's threads; a failure is retried by kopf with
    a message that never carries an API response body (it may hold a Secret)."""
    meta = body["metadata"]
    context = context_for(body, *indexes)
    try:
        await reconciler.run(reconciler.sync, meta["namespace"], meta["name"], context, stats=stats)
    except Exception as exc:
        message = f"reconcile of {meta['namespace']}/{meta['name']} failed: {describe(exc)}"
        raise kopf.TemporaryError(message, delay=reconciler.backoff_seconds) from None


# -- the operator process ------------------------------------------------------------------------


def login(**kwargs: Any) -> Any:
    return kopf.login_via_client(**kwargs)


def storage_probe(*, memo: Any, **_: Any) -> bool:
    storage = _memo(memo).storage
    if storage is not None:
        storage.ping()
    return True


def cleanup(*, memo: Any, **_: Any) -> None:
    _memo(memo).close()


# -- indexes ---------------------------------------------------------------------------------------


def organization_index(*, namespace: str | None, name: str, **_: Any) -> dict[tuple[str, str], bool]:
    """Which Organizations exist."""
    return {(str(namespace), name): True}


def directory_members(
    *, namespace: str | None, name: str, spec: kopf.Spec, status: kopf.Status, **_: Any
) -> dict[tuple[str, str], dict[str, Any]]:
    """The directories of each Organization, with their conditions."""
    org = (spec.get("organizationRef") or {}).get("name", "")
    return {(str(namespace), org): member_summary(name, status)}


def directory_ids(
    *,
    namespace: str | None,
    name: str,
    uid: str,
    meta: kopf.Meta,
    spec: kopf.Spec,
    status: kopf.Status,
    **_: Any,
) -> dict[str, IdClaim]:
    """Which directories claim each directory id (pinned in status, or wanted by the spec)."""
    pinned = status.get("directoryId")
    dir_id = pinned or directory_id(str(namespace), name, spec)
    created = str(meta.get("creationTimestamp") or "")
    return {dir_id: IdClaim(bool(pinned), created, uid, f"{namespace}/{name}")}


# -- directories -----------------------------------------------------------------------------------


async def directory_changed(*, body: kopf.Body, memo: Any, **kwargs: Any) -> None:
    await _reconcile(_memo(memo), body, _indexes(kwargs), stats=True)


async def directory_deleted(*, body: kopf.Body, memo: Any, **_: Any) -> None:
    reconciler = _memo(memo)
    try:
        event = await reconciler.run(finalize_directory, reconciler.clients, reconciler.storage, body)
    except Exception as exc:
        message = f"cannot handle the directory's data yet ({describe(exc)}); will retry"
        warning: Event = ("Warning", c.REASON_STORAGE_UNAVAILABLE, message)
        await reconciler.run(events.post, reconciler.clients.core, body, [warning])
        raise kopf.TemporaryError(message, delay=reconciler.backoff_seconds) from None
    await reconciler.run(events.post, reconciler.clients.core, body, [event])


async def owned_object_changed(*, event: Any, memo: Any, **kwargs: Any) -> None:
    """A Secret, Service or Ingress of a directory changed or went: reconcile the directory."""
    if event.get("type") not in ("DELETED", "MODIFIED"):
        return
    meta = event["object"]["metadata"]
    namespace, name = meta["namespace"], meta["labels"][n.LABEL_DIRECTORY]
    reconciler = _memo(memo)
    try:
        body = await reconciler.run(reconciler.get, namespace, name)
        if body is not None:
            await _reconcile(reconciler, body, _indexes(kwargs), stats=False)
    except Exception as exc:  # an event handler is not retried: the resync timer catches up
        kind = event["object"].get("kind", "object")
        log.warning(
            "cannot reconcile %s/%s after a change of its %s: %s", namespace, name, kind, describe(exc)
        )


# -- organizations ---------------------------------------------------------------------------------


async def organization_changed(
    *, body: kopf.Body, name: str, namespace: str | None, patch: kopf.Patch, memo: Any, **kwargs: Any
) -> None:
    """Report the Organization's directories; reconcile those that have not seen it yet."""
    reconciler = _memo(memo)
    members = list(kwargs["directory_members"].get((namespace, name)) or [])
    patch.status.update(organization_status(body, members))
    key_status = await reconciler.run(ensure_api_key, reconciler.clients.core, body, datetime.now(UTC))
    patch.status.update(key_status)
    for member in members:
        if organization_ready(member):
            continue
        directory = await reconciler.run(reconciler.get, str(namespace), member["metadata"]["name"])
        if directory is not None:
            await _reconcile(reconciler, directory, _indexes(kwargs), stats=False)


async def organization_deleted(
    *, body: kopf.Body, name: str, namespace: str | None, memo: Any, **kwargs: Any
) -> None:
    """Hold the Organization's deletion while directories reference it."""
    blocked = deletion_blocked(body, list(kwargs["directory_members"].get((namespace, name)) or []))
    if blocked is None:
        return
    status, event = blocked
    reconciler = _memo(memo)
    await reconciler.run(reconciler.patch_organization_status, str(namespace), name, status)
    await reconciler.run(events.post, reconciler.clients.core, body, [event])
    raise kopf.TemporaryError(event[2], delay=min(reconciler.resync_seconds, 15))


def register(registry: kopf.OperatorRegistry, op: OperatorSettings) -> None:
    """Register every handler on ``registry`` (timers take their interval from ``op``)."""
    directories: dict[str, Any] = {"group": n.GROUP, "version": n.VERSION, "plural": n.DIRECTORIES}
    organizations: dict[str, Any] = {"group": n.GROUP, "version": n.VERSION, "plural": n.ORGANIZATIONS}
    owned: dict[str, Any] = {"labels": {n.MANAGED_BY: n.MANAGER, n.LABEL_DIRECTORY: kopf.PRESENT}}
    interval = op.resync_seconds
    on = registry
    kopf.on.login(registry=on)(login)
    kopf.on.probe(id="storage", registry=on)(storage_probe)
    kopf.on.cleanup(registry=on)(cleanup)
    kopf.index(**organizations, id="organization_index", registry=on)(organization_index)
    kopf.index(**directories, id="directory_members", registry=on)(directory_members)
    kopf.index(**directories, id="directory_ids", registry=on)(directory_ids)
    for cause in (kopf.on.resume, kopf.on.create, kopf.on.update):
        cause(**directories, id="directory", registry=on)(directory_changed)
        cause(**organizations, id="organization", registry=on)(organization_changed)
    kopf.timer(**directories, id="directory-resync", interval=interval, initial_delay=interval, registry=on)(
        directory_changed
    )
    kopf.timer(**organizations, id="organization-resync", interval=interval, registry=on)(
        organization_changed
    )
    kopf.on.delete(**directories, id="directory-cleanup", registry=on)(directory_deleted)
    kopf.on.delete(**organizations, id="organization-guard", registry=on)(organization_deleted)
    for group, version, plural in (
        ("", "v1", "secrets"),
        ("", "v1", "services"),
        ("networking.k8s.io", "v1", "ingresses"),
    ):
        kopf.on.event(group, version, plural, **owned, registry=on)(owned_object_changed)


def make_reconciler(op: OperatorSettings, api: client.ApiClient) -> Reconciler:
    """The memo's reconciler: API clients, route defaults, and storage when configured."""
    from scim_server.storage import open_storage

    storage: Backend | None = open_storage(op.database_url, pool_size=4) if op.database_url else None
    return Reconciler(
        Clients(api),
        op.route(),
        storage,
        workers=op.max_workers,
        backoff_seconds=op.backoff_seconds,
        resync_seconds=op.resync_seconds,
        max_users=op.effective_max_users(),
    )
