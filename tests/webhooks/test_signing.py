"""Signatures and retry delays (pure)."""

from __future__ import annotations

import random
import time

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from scim_server.events.signing import SignatureError, new_signing_secret, sign_headers, verify_signature
from scim_server.webhooks.backoff import retry_delay

SECRET = new_signing_secret()
BODY = b'{"object":"event","event":"dsync.user.created","data":{}}'


def test_both_signatures_verify_with_the_same_secret() -> None:
    headers = sign_headers(SECRET, "event_acme_000000000001", BODY)
    assert Webhook(SECRET).verify(BODY, headers)["event"] == "dsync.user.created"
    verify_signature(BODY, headers["Kubescim-Signature"], SECRET)
    stamp = int(headers["Kubescim-Signature"].split(",")[0].removeprefix("t="))
    assert abs(stamp - time.time() * 1000) < 5000  # milliseconds


@pytest.mark.parametrize(
    ("header", "why"),
    [
        ("", "malformed"),
        ("v1=abc", "malformed"),
        ("t=notanumber, v1=abc", "malformed"),
    ],
)
def test_malformed_headers_are_refused(header: str, why: str) -> None:
    with pytest.raises(SignatureError, match=why):
        verify_signature(BODY, header, SECRET)


def test_a_changed_body_another_secret_or_an_old_timestamp_is_refused() -> None:
    headers = sign_headers(SECRET, "msg", BODY)
    with pytest.raises(SignatureError, match="does not match"):
        verify_signature(BODY + b" ", headers["Kubescim-Signature"], SECRET)
    with pytest.raises(SignatureError, match="does not match"):
        verify_signature(BODY, headers["Kubescim-Signature"], new_signing_secret())
    with pytest.raises(WebhookVerificationError):
        Webhook(new_signing_secret()).verify(BODY, headers)
    old = sign_headers(SECRET, "msg", BODY, at=time.time() - 3600)
    with pytest.raises(SignatureError, match="tolerance"):
        verify_signature(BODY, old["Kubescim-Signature"], SECRET)


def test_retry_delays_grow_exponentially_with_jitter_up_to_the_cap() -> None:
    rng = random.Random(7)
    delays = [[retry_delay(a, 1.0, 60.0, rng) for _ in range(200)] for a in range(10)]
    assert all(0.5 <= d <= 1.0 for d in delays[0])
    assert all(0.5 <= d <= 8.0 for d in delays[3])
    assert max(delays[3]) > 6  # spread over the whole window, not a fixed value
    assert all(d <= 60.0 for row in delays for d in row)
    assert max(delays[9]) > 50
