"""Bearer tokens themselves: randomness, hashing, the Authorization header."""

from __future__ import annotations

import base64

from scim_server.tokens.credentials import TOKEN_PREFIX, bearer_token, new_token


def test_tokens_carry_at_least_256_random_bits() -> None:
    token = new_token()
    raw = base64.urlsafe_b64decode(token.removeprefix(TOKEN_PREFIX) + "=")
    assert len(raw) * 8 >= 256
    assert len({new_token() for _ in range(100)}) == 100


def test_bearer_header_parsing() -> None:
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("bearer   abc ") == "abc"
    assert bearer_token("Basic abc") is None
    assert bearer_token("Bearer ") is None
    assert bearer_token(None) is None
