"""Pure functions of a ScimDirectory spec, shared by the operator and ``serve --manifests``.

The server never imports the operator; the operator imports these, so a directory gets
the same id and endpoint whether a cluster or a folder of manifests declares it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|m|s)")
_LABEL = re.compile(r"[^a-z0-9-]+")


def parse_duration(text: str) -> timedelta:
    """Parse a Go-style duration (``90s``, ``1h30m``, ``2160h``). Raises ValueError."""
    pos, total = 0, 0.0
    for m in _DURATION.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * {"h": 3600, "m": 60, "s": 1}[m.group(2)]
        pos = m.end()
    if pos != len(text) or not text:
        raise ValueError(f"invalid duration {text!r}")
    return timedelta(seconds=total)


def directory_id(namespace: str, name: str, spec: Mapping[str, Any]) -> str:
    """The directory's stable id: the endpoint path's last segment, or ``<namespace>-<name>``.

    Ids longer than a DNS label are shortened with a hash, so they stay unique.
    """
    path = (spec.get("endpoint") or {}).get("path")
    if path:
        return str(path).rstrip("/").rsplit("/", 1)[1]
    candidate = _LABEL.sub("-", f"{namespace}-{name}".lower()).strip("-")
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
