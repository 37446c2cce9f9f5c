"""Posting Kubernetes Events about our objects, synchronously, from the reconciler's threads.

A token announcement is posted under a name derived from the token's fingerprint, before
status records it: a retry after any failure re-posts it, and the API server's
AlreadyExists makes the second post a no-op, so each token is announced exactly once.
Other Events (corrections, data deleted) are posted once, best effort. Nothing is posted
into a namespace being deleted: the API server would refuse it, and nobody would read it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from scim_server.crd import names as n
from scim_server.crd.client import describe
from scim_server.crd.times import rfc3339

from . import constants as c
from . import kube
from .tokens import Event

log = logging.getLogger("kubescim.operator")


def involved(body: Mapping[str, Any]) -> dict[str, Any]:
    meta = body["metadata"]
    return {
        "apiVersion": body.get("apiVersion", n.API_VERSION),
        "kind": body.get("kind", "ScimDirectory"),
        "name": meta["name"],
        "namespace": meta["namespace"],
        "uid": meta["uid"],
    }


def _manifest(body: Mapping[str, Any], event: Event, metadata: dict[str, str]) -> dict[str, Any]:
    type_, reason, message = event
    now = rfc3339(datetime.now(UTC))
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {**metadata, "namespace": body["metadata"]["namespace"]},
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


def once(core: client.CoreV1Api, body: Mapping[str, Any], event: Event, key: str) -> None:
    """Post ``event`` about ``body`` under a name derived from ``key``, at most once.

    Raises ApiException when the API server refuses it for another reason than
    "already exists" (the caller retries), NamespaceTerminating while the namespace goes.
    """
    name = f"{body['metadata']['name']}.{event[1].lower()}.{key}"
    try:
        kube.write(
            core.create_namespaced_event,
            body["metadata"]["namespace"],
            _manifest(body, event, {"name": name}),
        )
    except ApiException as exc:
        if exc.status != 409:
            raise


def post(core: client.CoreV1Api, body: Mapping[str, Any], events: list[Event]) -> None:
    """Post ``events`` about ``body`` (best effort: a failure is logged, never raised)."""
    prefix = f"{body['metadata']['name']}."
    for event in events:
        try:
            kube.write(
                core.create_namespaced_event,
                body["metadata"]["namespace"],
                _manifest(body, event, {"generateName": prefix}),
            )
        except kube.NamespaceTerminating:
            return
        except ApiException as exc:
            if exc.status == 404:  # the namespace is gone
                return
            _warn(body, event, exc)
        except Exception as exc:
            _warn(body, event, exc)


def _warn(body: Mapping[str, Any], event: Event, exc: BaseException) -> None:
    meta = body["metadata"]
    log.warning(
        "cannot post Event %s on %s/%s: %s",
        event[1],
        meta["namespace"],
        meta["name"],
        describe(exc),
    )
