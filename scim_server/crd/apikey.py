"""The Organization's API key Secret: written by the operator, read by the server.

One Secret per Organization, controlled by it and named in its
``status.apiKeySecretRef``. ``api-key`` is the current key (for the application's
deployment to mount); a rotated-out key survives only as a SHA-256 with an expiry.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from . import names as n
from .secret import decode_secret_data, token_sha256

API_KEY: Final = "api-key"
PREVIOUS_SHA256: Final = "previous-api-key-sha256"
PREVIOUS_EXPIRES: Final = "previous-api-key-expires-at"
LABEL_ORGANIZATION: Final = f"{n.GROUP}/organization"
SELECTOR: Final = f"{n.MANAGED_BY}={n.MANAGER},{LABEL_ORGANIZATION}"


def api_key_secret_name(organization: str) -> str:
    return f"{organization[:230]}-kubescim-api-key"


def api_key_secret_manifest(
    *, namespace: str, organization: str, uid: str, key: str, previous: tuple[str, datetime] | None
) -> dict[str, Any]:
    """The API key Secret of Organization ``organization``; ``previous`` is (sha256, expiry)."""
    data = {API_KEY: key}
    if previous is not None:
        data[PREVIOUS_SHA256] = previous[0]
        data[PREVIOUS_EXPIRES] = previous[1].isoformat()
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": api_key_secret_name(organization),
            "namespace": namespace,
            "labels": {n.MANAGED_BY: n.MANAGER, LABEL_ORGANIZATION: organization},
            "ownerReferences": [n.owner_reference(n.ORGANIZATION_KIND, organization, uid)],
        },
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }


@dataclass(frozen=True, slots=True)
class ApiKeySecret:
    """An API key Secret reduced to what the server needs (hashes only)."""

    namespace: str
    name: str
    organization: str
    owner_uid: str | None
    key_sha256: str | None
    previous: tuple[str, str] | None  # (sha256, expires-at ISO 8601)


def read_api_key_secret(obj: Mapping[str, Any]) -> ApiKeySecret | None:
    """Read a Secret as the API serves it; None when it claims no organization."""
    meta = obj["metadata"]
    org = (meta.get("labels") or {}).get(LABEL_ORGANIZATION)
    if not org:
        return None
    data = decode_secret_data(obj.get("data"))
    owner = next(
        (
            r.get("uid")
            for r in meta.get("ownerReferences") or []
            if r.get("controller") and r.get("kind") == n.ORGANIZATION_KIND and r.get("name") == org
        ),
        None,
    )
    previous = None
    if data.get(PREVIOUS_SHA256) and data.get(PREVIOUS_EXPIRES):
        previous = (data[PREVIOUS_SHA256].strip(), data[PREVIOUS_EXPIRES])
    key = data.get(API_KEY)
    return ApiKeySecret(
        meta["namespace"], meta["name"], org, owner, token_sha256(key) if key else None, previous
    )
