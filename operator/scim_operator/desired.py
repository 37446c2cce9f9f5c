"""What a ScimDirectory should look like in the cluster: pure functions of its spec.

The handlers fetch the actual objects and call these to decide what to write, so the
whole decision logic is testable without a cluster, and ``kubescim serve --manifests``
uses the same functions without one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scim_server.crd import names as n
from scim_server.crd.spec import endpoint_url as spec_endpoint_url
from scim_server.crd.spec import rotation_period
from scim_server.crd.times import rfc3339

from . import constants as c


@dataclass(frozen=True, slots=True)
class RouteConfig:
    """Cluster-wide defaults for exposing endpoints (from the operator's settings)."""

    default_host: str = "scim.example.com"
    default_scheme: str = "https"
    ingress_class: str | None = None
    server_service: str = "kubescim-server"
    server_namespace: str = "kubescim"
    server_port: int = 8080
    cluster_domain: str = "cluster.local"
    default_tls_secret: str | None = None
    """TLS Secret of the default host, for endpoints that set neither host nor TLS Secret."""
    default_annotations: tuple[tuple[str, str], ...] = ()
    """Annotations on every Ingress; the spec's own win."""


def endpoint_url(spec: Mapping[str, Any], dir_id: str, route: RouteConfig) -> str:
    return spec_endpoint_url(spec, dir_id, route.default_host, route.default_scheme)


def secret_name(name: str) -> str:
    return f"{name}-scim-token"


def ingress_name(name: str) -> str:
    return f"{name}-scim"


def service_name(name: str) -> str:
    return f"{name}-scim"


def desired_service(
    *, namespace: str, name: str, uid: str, dir_id: str, route: RouteConfig
) -> dict[str, Any] | None:
    """An ExternalName Service bridging to the server when the directory lives elsewhere.

    Ingress backends must be in the Ingress's namespace; in the server's own namespace
    the server Service is used directly and None is returned.
    """
    if namespace == route.server_namespace:
        return None
    target = f"{route.server_service}.{route.server_namespace}.svc.{route.cluster_domain}"
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": service_name(name),
            "namespace": namespace,
            "labels": n.labels(name, dir_id),
            "ownerReferences": [n.owner_reference(n.DIRECTORY_KIND, name, uid)],
        },
        "spec": {
            "type": "ExternalName",
            "externalName": target,
            "ports": [{"name": "http", "port": route.server_port, "targetPort": route.server_port}],
        },
    }


def desired_ingress(
    *, namespace: str, name: str, uid: str, spec: Mapping[str, Any], dir_id: str, route: RouteConfig
) -> dict[str, Any]:
    endpoint = spec.get("endpoint") or {}
    host = endpoint.get("host") or route.default_host
    backend_service = route.server_service if namespace == route.server_namespace else service_name(name)
    ingress_spec: dict[str, Any] = {
        "rules": [
            {
                "host": host,
                "http": {
                    "paths": [
                        {
                            "path": f"/scim/v2/{dir_id}",
                            "pathType": "Prefix",
                            "backend": {
                                "service": {"name": backend_service, "port": {"number": route.server_port}}
                            },
                        }
                    ]
                },
            }
        ]
    }
    ingress_class = endpoint.get("ingressClassName") or route.ingress_class
    if ingress_class:
        ingress_spec["ingressClassName"] = ingress_class
    tls_secret = endpoint.get("tlsSecretName") or (None if endpoint.get("host") else route.default_tls_secret)
    if tls_secret:
        ingress_spec["tls"] = [{"hosts": [host], "secretName": tls_secret}]
    annotations = {**dict(route.default_annotations), **(endpoint.get("annotations") or {})}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": ingress_name(name),
            "namespace": namespace,
            "labels": n.labels(name, dir_id),
            "ownerReferences": [n.owner_reference(n.DIRECTORY_KIND, name, uid)],
            **({"annotations": annotations} if annotations else {}),
        },
        "spec": ingress_spec,
    }


def with_fingerprint(desired: dict[str, Any]) -> dict[str, Any]:
    """``desired`` plus an annotation hashing it, so a field the spec no longer sets is
    noticed (the subset comparison of ``drifted`` alone cannot see removals)."""
    digest = hashlib.sha256(json.dumps(desired, sort_keys=True).encode()).hexdigest()[:16]
    meta = desired["metadata"]
    annotations = {**meta.get("annotations", {}), c.ANNOTATION_DESIRED: digest}
    return {**desired, "metadata": {**meta, "annotations": annotations}}


def drifted(actual: Mapping[str, Any], desired: Mapping[str, Any]) -> bool:
    """Whether ``actual`` lacks anything ``desired`` sets (extra fields the API adds are fine)."""
    if not isinstance(actual, Mapping):
        return True
    for key, want in desired.items():
        have = actual.get(key)
        if isinstance(want, Mapping):
            if not isinstance(have, Mapping) or drifted(have, want):
                return True
        elif isinstance(want, list):
            if not isinstance(have, list) or len(have) != len(want):
                return True
            for w, h in zip(want, have, strict=True):
                if (isinstance(w, Mapping) and drifted(h, w)) or (not isinstance(w, Mapping) and w != h):
                    return True
        elif have != want:
            return True
    return False


def rotation_reason(
    spec: Mapping[str, Any], status: Mapping[str, Any], issued_at: datetime | None, now: datetime
) -> str | None:
    """Why the token should rotate now (trigger changed, period elapsed), else None."""
    policy = spec.get("tokenPolicy") or {}
    trigger = policy.get("rotationTrigger")
    if trigger and trigger != status.get("tokenRotationTrigger"):
        return f"rotationTrigger set to {trigger!r}"
    period = rotation_period(spec)
    if period is not None and issued_at is not None and issued_at + period <= now:
        return f"rotationPeriod {policy['rotationPeriod']} elapsed"
    return None


def set_condition(
    conditions: list[dict[str, Any]],
    type_: str,
    status: bool | None,
    reason: str,
    message: str,
    generation: int | None,
    now: datetime,
) -> list[dict[str, Any]]:
    """Return ``conditions`` with ``type_`` set; ``lastTransitionTime`` moves only on change."""
    text = "Unknown" if status is None else ("True" if status else "False")
    out = [dict(x) for x in conditions if x.get("type") != type_]
    previous = next((x for x in conditions if x.get("type") == type_), None)
    since = previous["lastTransitionTime"] if previous and previous.get("status") == text else None
    entry = {
        "type": type_,
        "status": text,
        "reason": reason,
        "message": message,
        "lastTransitionTime": since or rfc3339(now),
    }
    if generation is not None:
        entry["observedGeneration"] = generation
    out.append(entry)
    order = [n.READY, n.ORGANIZATION_READY, n.TOKEN_ISSUED, n.ROUTE_READY, n.SUSPENDED]
    return sorted(out, key=lambda x: order.index(x["type"]) if x["type"] in order else len(order))
