"""Posting Kubernetes Events about a directory.

Corrections (restored objects, data deleted) go through kopf's asynchronous poster. A
token announcement is posted here, synchronously and under a name derived from the
token's fingerprint, before status records it: a retry after any failure re-posts it,
and the API server's AlreadyExists makes the second post a no-op, so each token is
announced exactly once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, cast

import kopf
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from scim_server.crd import names as n

from . import constants as c
from . import kube
from .tokens import Event


def involved(body: Mapping[str, Any]) -> dict[str, Any]:
    meta = body["metadata"]
    return {
        "apiVersion": body.get("apiVersion", n.API_VERSION),
        "kind": body.get("kind", "ScimDirectory"),
        "name": meta["name"],
        "namespace": meta["namespace"],
        "uid": meta["uid"],
    }


def once(core: client.CoreV1Api, body: Mapping[str, Any], event: Event, key: str) -> None:
    """Post ``event`` about ``body`` under a name derived from ``key``, at most once.

    Raises ApiException when the API server refuses it for another reason than
    "already exists" (the caller retries), NamespaceTerminating while the namespace goes.
    """
    type_, reason, message = event
    meta = body["metadata"]
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    manifest = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{meta['name']}.{reason.lower()}.{key}", "namespace": meta["namespace"]},
        "involvedObject": involved(body),
        "type": type_,
        "reason": reason,
        "message": message,
        "source": {"component": c.COMPONENT},
        "reportingComponent": c.COMPONENT,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }
    try:
        kube.write(core.create_namespaced_event, meta["namespace"], manifest)
    except ApiException as exc:
        if exc.status != 409:
            raise


def post(body: Mapping[str, Any], events: list[Event]) -> None:
    """Queue corrections for kopf's poster (best effort, asynchronous)."""
    for type_, reason, message in events:
        kopf.event(cast(Any, dict(body)), type=type_, reason=reason, message=message)
