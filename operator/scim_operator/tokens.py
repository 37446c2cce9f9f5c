"""Which bearer token a directory should have, and which Event announces it: pure functions.

The token Secret records, next to each token it holds, the token's fingerprint and the
Event that announces it (annotations written in the same request that writes the token).
Status remembers the fingerprint last announced. So an Event follows from that record:
a reconcile that fails after writing the Secret announces the token on its retry, and a
token is announced once however many times the reconcile runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from scim_server.crd import secret as sec
from scim_server.crd.secret import PreviousToken, fingerprint
from scim_server.crd.spec import grace_period
from scim_server.crd.times import parse_time, rfc3339
from scim_server.tokens.credentials import new_token, token_hash

from . import constants as c
from . import desired as d

Event = tuple[str, str, str]  # (type, reason, message)


@dataclass(frozen=True, slots=True)
class TokenPlan:
    """The token the Secret must hold, when it was issued, and the Event announcing it."""

    value: str
    issued_at: datetime
    previous: PreviousToken | None
    reason: str
    message: str

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.value)

    @property
    def event_type(self) -> str:
        return "Warning" if self.reason == c.REASON_TOKEN_REISSUED else "Normal"


def _previous(data: Mapping[str, str], now: datetime) -> PreviousToken | None:
    sha, expires = data.get(sec.PREVIOUS_SHA256_KEY), parse_time(data.get(sec.PREVIOUS_EXPIRES_KEY))
    if sha and expires and expires > now:
        return PreviousToken(sha, expires)
    return None


def _ours(token: str, annotations: Mapping[str, str], announced: str | None) -> bool:
    """Whether ``token`` is the one kubescim wrote (not a hand edit, not a foreign Secret).

    Secrets written before the fingerprint annotation existed are recognised by the
    fingerprint status announced.
    """
    recorded = annotations.get(sec.ANNOTATION_TOKEN_FINGERPRINT) or announced
    return recorded is not None and recorded == fingerprint(token)


def plan_token(
    spec: Mapping[str, object],
    status: Mapping[str, object],
    secret_name: str,
    secret: tuple[Mapping[str, str], Mapping[str, str]] | None,
    now: datetime,
) -> TokenPlan:
    """Decide the token from the Secret's decoded ``(data, annotations)`` (None: absent)."""
    data, annotations = secret if secret is not None else ({}, {})
    current = data.get(sec.TOKEN_KEY)
    announced = status.get("tokenFingerprint")
    announced = announced if isinstance(announced, str) else None
    if current is None or not _ours(current, annotations, announced):
        if announced is None:
            message = f"bearer token issued in Secret {secret_name}"
            return TokenPlan(new_token(), now, None, c.REASON_TOKEN_ISSUED, message)
        why = "deleted" if current is None else "edited"
        message = (
            f"the token Secret {secret_name} was {why}; a new token was issued: update the identity provider"
        )
        return TokenPlan(new_token(), now, None, c.REASON_TOKEN_REISSUED, message)
    issued_at = parse_time(annotations.get(sec.ANNOTATION_ISSUED_AT)) or now
    rotation = d.rotation_reason(spec, status, issued_at, now)
    if rotation is not None:
        previous = PreviousToken(token_hash(current), now + grace_period(spec))
        until = rfc3339(previous.expires_at)
        message = f"token rotated ({rotation}); the previous token stays valid until {until}"
        return TokenPlan(new_token(), now, previous, c.REASON_TOKEN_ROTATED, message)
    reason = annotations.get(sec.ANNOTATION_TOKEN_REASON) or c.REASON_TOKEN_ISSUED
    message = annotations.get(sec.ANNOTATION_TOKEN_MESSAGE) or f"bearer token issued in Secret {secret_name}"
    return TokenPlan(current, issued_at, _previous(data, now), reason, message)


def announcement(plan: TokenPlan, status: Mapping[str, object]) -> Event | None:
    """The Event to post for ``plan``'s token, unless status says it was announced."""
    if status.get("tokenFingerprint") == plan.fingerprint:
        return None
    return (plan.event_type, plan.reason, plan.message)
