"""The token trust decision alone, in the orders the two watches may deliver (no cluster)."""

from __future__ import annotations

import pytest

from scim_server.crd import names as n
from scim_server.crd.secret import Owner, TokenSecret
from scim_server.tokens.trust import OWNER_UNRESOLVED, WRONG_NAMESPACE, DirectoryRecord, TrustIndex


def record(ns: str, name: str, dir_id: str | None, uid: str = "", deleting: bool = False) -> DirectoryRecord:
    token_secret = f"{name}-scim-token" if dir_id else None
    return DirectoryRecord(ns, name, uid or f"uid-{ns}-{name}", dir_id, token_secret, deleting, False, None)


def claim(ns: str, name: str, dir_id: str, owner: DirectoryRecord | None, rv: str = "1") -> TokenSecret:
    ref = Owner(n.API_VERSION, n.DIRECTORY_KIND, owner.name, owner.uid) if owner else None
    return TokenSecret(ns, name, f"uid-secret-{ns}-{name}", rv, dir_id, ref, None, None, False)


@pytest.fixture
def index() -> TrustIndex:
    ready = TrustIndex()
    assert ready.start(0.0) == []
    return ready


def test_secret_written_before_status_is_pending_then_trusted(index: TrustIndex) -> None:
    new = record("a", "okta", None)
    assert index.put_directory(("a", "okta"), new, 1.0) == []
    assert index.put_secret(("a", "okta-scim-token"), claim("a", "okta-scim-token", "a-okta", new), 1.0) == []
    assert "a-okta" not in index.access
    assert index.put_directory(("a", "okta"), record("a", "okta", "a-okta"), 2.0) == []
    assert "a-okta" in index.access
    assert index.rejected == {}


def test_secret_seen_before_its_directory_is_pending_then_trusted(index: TrustIndex) -> None:
    later = record("a", "okta", "a-okta")
    assert (
        index.put_secret(("a", "okta-scim-token"), claim("a", "okta-scim-token", "a-okta", later), 1.0) == []
    )
    assert index.put_directory(("a", "okta"), later, 2.0) == []
    assert "a-okta" in index.access


def test_recreated_directory_is_pending_until_its_new_uid_arrives(index: TrustIndex) -> None:
    old, new = record("a", "okta", "a-okta", uid="u1"), record("a", "okta", "a-okta", uid="u2")
    index.put_directory(("a", "okta"), old, 1.0)
    index.put_secret(("a", "okta-scim-token"), claim("a", "okta-scim-token", "a-okta", old), 1.0)
    assert (
        index.put_secret(("a", "okta-scim-token"), claim("a", "okta-scim-token", "a-okta", new, "2"), 2.0)
        == []
    )
    assert "a-okta" not in index.access
    assert index.put_directory(("a", "okta"), new, 3.0) == []
    assert "a-okta" in index.access


def test_pending_secret_is_reported_once_when_its_owner_never_appears(index: TrustIndex) -> None:
    ghost = record("b", "ghost", "b-ghost")
    assert index.put_secret(("b", "s"), claim("b", "s", "b-ghost", ghost), 1.0) == []
    assert index.expire_pending(60.0, 30.0) == []
    [report] = index.expire_pending(60.0, 61.0)
    assert report.reason == OWNER_UNRESOLVED
    assert index.expire_pending(60.0, 62.0) == []
    assert index.rejected_counts[OWNER_UNRESOLVED] == 1
    assert index.put_secret(("b", "s"), None, 63.0) == []
    assert index.rejected_counts[OWNER_UNRESOLVED] == 0


def test_copy_with_owner_in_another_namespace_is_refused_at_once(index: TrustIndex) -> None:
    real = record("a", "okta", "a-okta")
    index.put_directory(("a", "okta"), real, 1.0)
    index.put_secret(("a", "okta-scim-token"), claim("a", "okta-scim-token", "a-okta", real), 1.0)
    [report] = index.put_secret(("b", "okta-scim-token"), claim("b", "okta-scim-token", "a-okta", real), 2.0)
    assert (report.reason, report.holder) == (WRONG_NAMESPACE, real)
    assert "a-okta" in index.access


def test_deleting_directory_trusts_no_token_and_reports_nothing(index: TrustIndex) -> None:
    live = record("a", "okta", "a-okta")
    index.put_directory(("a", "okta"), live, 1.0)
    index.put_secret(("a", "okta-scim-token"), claim("a", "okta-scim-token", "a-okta", live), 1.0)
    assert index.put_directory(("a", "okta"), record("a", "okta", "a-okta", deleting=True), 2.0) == []
    assert "a-okta" not in index.access
    assert index.put_secret(("a", "okta-scim-token"), None, 3.0) == []
    assert index.put_directory(("a", "okta"), None, 4.0) == []
    assert index.rejected == {}
