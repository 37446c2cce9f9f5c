"""Pure functions of a ScimDirectory's spec, shared by the operator, the server's token
registries and ``serve --manifests``: a directory gets the same id and endpoint whether
a cluster or a folder of manifests declares it."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Final

from .durations import parse_duration

DIRECTORY_ID: Final = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\Z")
"""Directory ids (and local directory names) are DNS labels: they become URL path
segments and object names."""
_NOT_LABEL = re.compile(r"[^a-z0-9-]+")


def validate_directory_id(name: str) -> str:
    """Return ``name`` if it is a valid directory id. Raises ValueError with the rule."""
    if not DIRECTORY_ID.match(name):
        raise ValueError(
            f"invalid directory name {name!r}: use 1-63 lowercase letters, digits or '-', "
            "starting and ending with a letter or digit"
        )
    return name


def directory_id(namespace: str, name: str, spec: Mapping[str, Any]) -> str:
    """The directory's stable id: the endpoint path's last segment, or ``<namespace>-<name>``.

    Ids longer than a DNS label are shortened with a hash, so they stay unique.
    """
    path = (spec.get("endpoint") or {}).get("path")
    if path:
        return str(path).rstrip("/").rsplit("/", 1)[1]
    candidate = _NOT_LABEL.sub("-", f"{namespace}-{name}".lower()).strip("-")
    if len(candidate) <= 63:
        return candidate
    digest = hashlib.sha256(f"{namespace}/{name}".encode()).hexdigest()[:8]
    return f"{candidate[:54].rstrip('-')}-{digest}"


def endpoint_url(spec: Mapping[str, Any], dir_id: str, default_host: str, default_scheme: str) -> str:
    """The SCIM base URL an IdP is given for this directory."""
    endpoint = spec.get("endpoint") or {}
    host = endpoint.get("host") or default_host
    scheme = "https" if endpoint.get("tlsSecretName") else default_scheme
    return f"{scheme}://{host}/scim/v2/{dir_id}"


def grace_period(spec: Mapping[str, Any]) -> timedelta:
    """How long a rotated-out token keeps working (``tokenPolicy.gracePeriod``, default 24h)."""
    return parse_duration((spec.get("tokenPolicy") or {}).get("gracePeriod") or "24h")


def rotation_period(spec: Mapping[str, Any]) -> timedelta | None:
    """How often the token rotates (``tokenPolicy.rotationPeriod``); None: never."""
    period = (spec.get("tokenPolicy") or {}).get("rotationPeriod")
    return parse_duration(period) if period else None
