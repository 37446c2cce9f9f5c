"""Tokens themselves: 256 random bits, stored and compared only as SHA-256.

A fast hash is right for high-entropy secrets; comparisons run in constant time and only
against the tokens of the directory the URL names.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from ..crd.secret import token_sha256

TOKEN_PREFIX: Final = "kscim_"


def new_token() -> str:
    """A fresh bearer token: 256 bits from the OS CSPRNG, URL-safe."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """The SHA-256 (hex) a registry keeps instead of the token."""
    return token_sha256(token)


@dataclass(frozen=True, slots=True)
class Entry:
    """One valid token of a directory: its hash, and when it stops working (None: never)."""

    digest: str
    created: str
    expires: str | None


def matches(entries: Iterable[Entry], digest: str, at: datetime) -> bool:
    """Whether ``digest`` is the hash of one of ``entries`` still valid ``at``."""
    ok = False
    for entry in entries:
        fresh = entry.expires is None or datetime.fromisoformat(entry.expires) > at
        # Compare every entry, so timing does not reveal which one matched.
        ok |= hmac.compare_digest(entry.digest, digest) and fresh
    return ok


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else None."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()
