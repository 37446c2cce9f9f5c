"""Webhook signatures: Standard Webhooks headers and the timestamped ``Kubescim-Signature``.

One signing secret per webhook, ``whsec_<base64>`` as Standard Webhooks defines it. A
delivery carries both signatures:

- ``webhook-id``, ``webhook-timestamp`` (Unix seconds) and ``webhook-signature``
  (``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`` keyed with the decoded
  secret): what the ``standardwebhooks`` libraries verify;
- ``Kubescim-Signature: t=<Unix ms>, v1=<hex HMAC-SHA256 of "<t>.<body>">`` keyed with
  the secret string as written: the format WorkOS's SDKs verify (their
  ``WorkOS-Signature``), so code moving off WorkOS keeps its verification.

``verify_signature`` checks the second in applications that do not use a library.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import Final

SECRET_PREFIX: Final = "whsec_"
HEADER: Final = "Kubescim-Signature"


class SignatureError(ValueError):
    """A delivery whose signature is missing, malformed, stale or wrong."""


def new_signing_secret() -> str:
    """A fresh signing secret: 256 random bits, ``whsec_``-prefixed base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _standard_key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign_headers(secret: str, message_id: str, body: bytes, at: float | None = None) -> dict[str, str]:
    """The signature headers of one delivery of ``body`` (the exact bytes sent)."""
    at = time.time() if at is None else at
    seconds, millis = int(at), int(at * 1000)
    standard = hmac.new(_standard_key(secret), f"{message_id}.{seconds}.".encode() + body, hashlib.sha256)
    workos = hmac.new(secret.encode(), f"{millis}.".encode() + body, hashlib.sha256)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(seconds),
        "webhook-signature": "v1," + base64.b64encode(standard.digest()).decode(),
        HEADER: f"t={millis}, v1={workos.hexdigest()}",
    }


def verify_signature(payload: bytes, header: str, secret: str, tolerance_seconds: float = 180) -> None:
    """Check a ``Kubescim-Signature`` header against the raw request body.

    Raises SignatureError when the header is malformed, older (or newer) than
    ``tolerance_seconds``, or does not match.
    """
    parts = dict(p.strip().partition("=")[::2] for p in header.split(","))
    stamp, signature = parts.get("t", ""), parts.get("v1", "")
    if not stamp.isdigit() or not signature:
        raise SignatureError("malformed signature header: expected 't=<ms>, v1=<hex>'")
    if abs(time.time() * 1000 - int(stamp)) > tolerance_seconds * 1000:
        raise SignatureError("signature timestamp outside the tolerance")
    expected = hmac.new(secret.encode(), stamp.encode() + b"." + payload, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise SignatureError("signature does not match")
