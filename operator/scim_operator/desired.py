"""What a ScimDirectory should look like in the cluster: pure functions of its spec.

The handlers fetch the actual objects and call these to decide what to write, so the
whole decision logic is testable without a cluster, and ``kubescim serve --manifests``
uses the same functions without one.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scim_server.auth import token_hash
from scim_server.directory_spec import directory_id, grace_period, parse_duration
from scim_server.directory_spec import endpoint_url as spec_endpoint_url

from . import constants as c

__all__ = ["directory_id", "grace_period", "parse_duration"]


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


@dataclass(frozen=True, slots=True)
class PreviousToken:
    sha256: str
    expires_at: datetime


def endpoint_url(spec: Mapping[str, Any], dir_id: str, route: RouteConfig) -> str:
    return spec_endpoint_url(spec, dir_id, route.default_host, route.default_scheme)


def secret_name(name: str) -> str:
    return f"{name}-scim-token"


def ingress_name(name: str) -> str:
    return f"{name}-scim"


def service_name(name: str) -> str:
    return f"{name}-scim"


def owner_reference(kind: str, name: str, uid: str) -> dict[str, Any]:
    return {
        "apiVersion": c.API_VERSION,
        "kind": kind,
        "name": name,
        "uid": uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def labels(name: str, dir_id: str) -> dict[str, str]:
    return {c.MANAGED_BY: c.MANAGER, c.LABEL_DIRECTORY: name, c.LABEL_DIRECTORY_ID: dir_id}


def _b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def decode_secret_data(data: Mapping[str, str] | None) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in (data or {}).items()}


def token_sha256(token: str) -> str:
    return token_hash(token)


def desired_secret(
    *,
    namespace: str,
    name: str,
    uid: str,
    dir_id: str,
    endpoint: str,
    token: str,
    issued_at: datetime,
    suspended: bool,
    previous: PreviousToken | None,
    announcement: tuple[str, str] = (c.REASON_TOKEN_ISSUED, ""),
) -> dict[str, Any]:
    """The token Secret; ``announcement`` (reason, message) is the Event that announces the
    token, recorded next to it so that a retry can still post it."""
    data = {c.TOKEN_KEY: token, c.ENDPOINT_KEY: endpoint}
    if previous is not None:
        data[c.PREVIOUS_SHA256_KEY] = previous.sha256
        data[c.PREVIOUS_EXPIRES_KEY] = previous.expires_at.isoformat()
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": secret_name(name),
            "namespace": namespace,
            "labels": labels(name, dir_id),
            "annotations": {
                c.ANNOTATION_ISSUED_AT: issued_at.isoformat(),
                c.ANNOTATION_SUSPENDED: "true" if suspended else "false",
                c.ANNOTATION_TOKEN_FINGERPRINT: token_sha256(token)[:16],
                c.ANNOTATION_TOKEN_REASON: announcement[0],
                c.ANNOTATION_TOKEN_MESSAGE: announcement[1],
            },
            "ownerReferences": [owner_reference("ScimDirectory", name, uid)],
        },
        "data": {k: _b64(v) for k, v in data.items()},
    }


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
            "labels": labels(name, dir_id),
            "ownerReferences": [owner_reference("ScimDirectory", name, uid)],
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
    if endpoint.get("tlsSecretName"):
        ingress_spec["tls"] = [{"hosts": [host], "secretName": endpoint["tlsSecretName"]}]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": ingress_name(name),
            "namespace": namespace,
            "labels": labels(name, dir_id),
            "ownerReferences": [owner_reference("ScimDirectory", name, uid)],
            **({"annotations": dict(endpoint["annotations"])} if endpoint.get("annotations") else {}),
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
    period = policy.get("rotationPeriod")
    if period and issued_at is not None and issued_at + parse_duration(period) <= now:
        return f"rotationPeriod {period} elapsed"
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
        "lastTransitionTime": since or now.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if generation is not None:
        entry["observedGeneration"] = generation
    out.append(entry)
    order = [c.READY, c.ORGANIZATION_READY, c.TOKEN_ISSUED, c.ROUTE_READY, c.SUSPENDED]
    return sorted(out, key=lambda x: order.index(x["type"]) if x["type"] in order else len(order))
