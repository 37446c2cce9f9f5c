"""An Organization's directory-API key: issued into a Secret, rotated on request.

``spec.apiKey.rotationTrigger`` changed (compared with ``status.apiKeyRotationTrigger``)
rotates the key; the previous one keeps working for ``spec.apiKey.gracePeriod``
(default 24h) as a hash in the Secret. A deleted Secret gets a new key.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from kubernetes import client

from scim_server.crd import apikey as ak
from scim_server.crd.durations import parse_duration
from scim_server.crd.secret import decode_secret_data, fingerprint, token_sha256
from scim_server.crd.times import parse_time
from scim_server.tokens.organizations import new_api_key

from . import kube


def plan_api_key(
    body: Mapping[str, Any], data: Mapping[str, str] | None, now: datetime
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """The Secret to write (None: it is right) and the status fields, from the decoded data."""
    meta, spec, status = body["metadata"], body.get("spec") or {}, body.get("status") or {}
    policy = spec.get("apiKey") or {}
    trigger = policy.get("rotationTrigger")
    current = (data or {}).get(ak.API_KEY)
    previous: tuple[str, datetime] | None = None
    if data:
        expires = parse_time(data.get(ak.PREVIOUS_EXPIRES))
        if data.get(ak.PREVIOUS_SHA256) and expires and expires > now:
            previous = (data[ak.PREVIOUS_SHA256], expires)
    write = current is None
    if current is not None and trigger and trigger != status.get("apiKeyRotationTrigger"):
        previous = (token_sha256(current), now + parse_duration(policy.get("gracePeriod") or "24h"))
        write = True
    key = new_api_key() if write else str(current)
    manifest = None
    if write:
        manifest = ak.api_key_secret_manifest(
            namespace=meta["namespace"],
            organization=meta["name"],
            uid=meta["uid"],
            key=key,
            previous=previous,
        )
    new_status: dict[str, Any] = {
        "apiKeySecretRef": {"name": ak.api_key_secret_name(meta["name"])},
        "apiKeyFingerprint": fingerprint(key),
    }
    if trigger:
        new_status["apiKeyRotationTrigger"] = trigger
    return manifest, {k: v for k, v in new_status.items() if status.get(k) != v}


def ensure_api_key(core: client.CoreV1Api, body: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """Issue or rotate the Organization's key; return the status fields that changed."""
    meta = body["metadata"]
    name = ak.api_key_secret_name(meta["name"])
    existing = kube.read(core.read_namespaced_secret, name, meta["namespace"])
    data = decode_secret_data(existing.data) if existing is not None else None
    manifest, status = plan_api_key(body, data, now)
    if manifest is not None:
        if existing is None:
            kube.write(core.create_namespaced_secret, meta["namespace"], manifest)
        else:
            kube.write(core.replace_namespaced_secret, name, meta["namespace"], manifest)
    return status


__all__ = ["ensure_api_key", "plan_api_key"]
