"""The token Secret: written by the operator, read by the server's token registry.

One Secret per ScimDirectory, owned (controller reference) by it and named in its
``status.tokenSecretRef``. ``token`` is the current bearer token (for the admin to read);
a rotated-out token survives only as a SHA-256 with an expiry, so a grace period never
keeps a second plaintext secret around. Next to the token, annotations record its issue
time, its fingerprint and the Event that announces it (so a retried reconcile still
announces it), and whether the directory is suspended.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from . import names as n

TOKEN_KEY: Final = "token"
ENDPOINT_KEY: Final = "endpoint"
PREVIOUS_SHA256_KEY: Final = "previous-token-sha256"
PREVIOUS_EXPIRES_KEY: Final = "previous-token-expires-at"

ANNOTATION_SUSPENDED: Final = f"{n.GROUP}/suspended"
ANNOTATION_ISSUED_AT: Final = f"{n.GROUP}/token-issued-at"
ANNOTATION_TOKEN_FINGERPRINT: Final = f"{n.GROUP}/token-fingerprint"
ANNOTATION_TOKEN_REASON: Final = f"{n.GROUP}/token-event-reason"
ANNOTATION_TOKEN_MESSAGE: Final = f"{n.GROUP}/token-event-message"


def token_sha256(token: str) -> str:
    """The SHA-256 (hex) kept of a token wherever the token itself is not: the one token
    hash of the project (registries, rotated-out tokens, fingerprints)."""
    return hashlib.sha256(token.encode()).hexdigest()


def fingerprint(token: str) -> str:
    """A short SHA-256 prefix naming a token in status and annotations (not secret)."""
    return token_sha256(token)[:16]


# -- writing ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PreviousToken:
    """A rotated-out token: its SHA-256 and when it stops working."""

    sha256: str
    expires_at: datetime


def _b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def token_secret_manifest(
    *,
    namespace: str,
    name: str,
    secret_name: str,
    uid: str,
    dir_id: str,
    endpoint: str,
    token: str,
    issued_at: datetime,
    suspended: bool,
    previous: PreviousToken | None,
    announcement: tuple[str, str],
) -> dict[str, Any]:
    """The token Secret of directory ``name``; ``announcement`` (reason, message) is the
    Event that announces ``token``."""
    data = {TOKEN_KEY: token, ENDPOINT_KEY: endpoint}
    if previous is not None:
        data[PREVIOUS_SHA256_KEY] = previous.sha256
        data[PREVIOUS_EXPIRES_KEY] = previous.expires_at.isoformat()
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": secret_name,
            "namespace": namespace,
            "labels": n.labels(name, dir_id),
            "annotations": {
                ANNOTATION_ISSUED_AT: issued_at.isoformat(),
                ANNOTATION_SUSPENDED: "true" if suspended else "false",
                ANNOTATION_TOKEN_FINGERPRINT: fingerprint(token),
                ANNOTATION_TOKEN_REASON: announcement[0],
                ANNOTATION_TOKEN_MESSAGE: announcement[1],
            },
            "ownerReferences": [n.owner_reference(n.DIRECTORY_KIND, name, uid)],
        },
        "data": {k: _b64(v) for k, v in data.items()},
    }


# -- reading ------------------------------------------------------------------------------


def decode_secret_data(data: Mapping[str, str] | None) -> dict[str, str]:
    """A Secret's ``data``, base64-decoded."""
    return {k: base64.b64decode(v).decode("utf-8", "replace") for k, v in (data or {}).items()}


@dataclass(frozen=True, slots=True)
class Owner:
    """A Secret's controller ownerReference."""

    api_version: str
    kind: str
    name: str
    uid: str

    @property
    def is_directory(self) -> bool:
        return self.kind == n.DIRECTORY_KIND and self.api_version.split("/")[0] == n.GROUP


@dataclass(frozen=True, slots=True)
class TokenSecret:
    """A Secret that claims a directory id, reduced to what trust needs (hashes only)."""

    namespace: str
    name: str
    uid: str
    resource_version: str
    directory_id: str
    owner: Owner | None
    token_sha256: str | None
    previous: tuple[str, str] | None  # (sha256, expires-at ISO 8601 with a time zone)
    suspended: bool


def _controller(meta: Mapping[str, Any]) -> Owner | None:
    for ref in meta.get("ownerReferences") or []:
        if ref.get("controller"):
            return Owner(
                ref.get("apiVersion", ""), ref.get("kind", ""), ref.get("name", ""), ref.get("uid", "")
            )
    return None


def _previous(data: Mapping[str, str]) -> tuple[str, str] | None:
    digest, expires = data.get(PREVIOUS_SHA256_KEY), data.get(PREVIOUS_EXPIRES_KEY)
    if not digest or not expires:
        return None
    try:
        aware = datetime.fromisoformat(expires).tzinfo is not None
    except ValueError:
        return None
    return (digest.strip(), expires) if aware else None


def read_token_secret(obj: Mapping[str, Any]) -> TokenSecret | None:
    """Read a Secret (as the API serves it); None when it claims no directory id."""
    meta = obj["metadata"]
    dir_id = (meta.get("labels") or {}).get(n.LABEL_DIRECTORY_ID)
    if not dir_id:
        return None
    raw = obj.get("data") or {}
    token = raw.get(TOKEN_KEY)
    return TokenSecret(
        namespace=meta["namespace"],
        name=meta["name"],
        uid=meta.get("uid", ""),
        resource_version=meta.get("resourceVersion", ""),
        directory_id=dir_id,
        owner=_controller(meta),
        token_sha256=token_sha256(base64.b64decode(token).decode("utf-8", "replace")) if token else None,
        previous=_previous(decode_secret_data({k: v for k, v in raw.items() if k != TOKEN_KEY})),
        suspended=(meta.get("annotations") or {}).get(ANNOTATION_SUSPENDED) == "true",
    )
