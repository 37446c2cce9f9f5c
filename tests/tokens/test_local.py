"""The local token registry: hashes at rest, scoped per directory, files mounted from Secrets."""

from __future__ import annotations

import time
from pathlib import Path

from scim_server.tokens.credentials import token_hash
from scim_server.tokens.local import LocalTokenRegistry


def test_registry_stores_only_hashes_and_scopes_tokens(tmp_path: Path) -> None:
    registry = LocalTokenRegistry(tmp_path)
    token = registry.issue("acme")
    registry.issue("other")
    stored = (tmp_path / "tokens.json").read_text()
    assert token not in stored
    assert token_hash(token) in stored
    assert registry.verify("acme", token)
    assert not registry.verify("other", token)
    assert not registry.verify("acme", token + "x")
    assert not registry.verify("acme", "")


def test_a_running_server_sees_tokens_issued_later_within_half_a_second(tmp_path: Path) -> None:
    server_side = LocalTokenRegistry(tmp_path)
    assert not server_side.verify("acme", "nothing-yet")
    token = LocalTokenRegistry(tmp_path).issue("acme")
    time.sleep(0.6)
    assert server_side.verify("acme", token)
    LocalTokenRegistry(tmp_path).revoke("acme")
    time.sleep(0.6)
    assert not server_side.verify("acme", token)


def test_tokens_file_accepts_plaintext_and_hashes(tmp_path: Path) -> None:
    file = tmp_path / "tokens.yaml"
    file.write_text(f"acme: plain-secret\nbeta:\n  - sha256:{token_hash('hashed-secret')}\n")
    registry = LocalTokenRegistry(tmp_path / "state", file)
    assert registry.verify("acme", "plain-secret")
    assert registry.verify("beta", "hashed-secret")
    assert not registry.verify("beta", "plain-secret")
