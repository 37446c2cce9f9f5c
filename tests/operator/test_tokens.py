"""The operator's token decisions and announcements, from plain dicts and a clock (no cluster)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from scim_operator import constants as c
from scim_operator.decide import IdClaim, id_conflict
from scim_operator.tokens import announcement, plan_token
from scim_server.crd import secret as sec
from scim_server.crd.secret import fingerprint
from scim_server.tokens.credentials import TOKEN_PREFIX, token_hash

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
SECRET = "okta-scim-token"
ORG = {"organizationRef": {"name": "acme"}}


def stored(
    token: str = "kscim_current", *, issued: datetime = NOW - timedelta(days=1), **annotations: str
) -> tuple[dict[str, str], dict[str, str]]:
    """A token Secret as the operator wrote it: decoded data and annotations."""
    meta = {
        sec.ANNOTATION_ISSUED_AT: issued.isoformat(),
        sec.ANNOTATION_TOKEN_FINGERPRINT: fingerprint(token),
        sec.ANNOTATION_TOKEN_REASON: c.REASON_TOKEN_ISSUED,
        sec.ANNOTATION_TOKEN_MESSAGE: f"bearer token issued in Secret {SECRET}",
        **annotations,
    }
    return {sec.TOKEN_KEY: token}, meta


def announced(token: str = "kscim_current", **status: Any) -> dict[str, Any]:
    return {"tokenFingerprint": fingerprint(token), **status}


def plan(spec: dict[str, Any] | None = None, status: dict[str, Any] | None = None, secret: Any = None) -> Any:
    return plan_token({**ORG, **(spec or {})}, status or {}, SECRET, secret, NOW)


# -- issue, keep, reissue ----------------------------------------------------------------------


def test_a_new_directory_gets_a_fresh_random_token_announced_as_issued() -> None:
    first, second = plan(), plan()

    assert first.value.startswith(TOKEN_PREFIX)
    assert first.value != second.value
    assert len(first.value) - len(TOKEN_PREFIX) >= 43  # 256 bits, URL-safe base64
    assert (first.reason, first.event_type, first.issued_at) == (c.REASON_TOKEN_ISSUED, "Normal", NOW)
    assert first.message == f"bearer token issued in Secret {SECRET}"
    assert announcement(first, {}) == ("Normal", c.REASON_TOKEN_ISSUED, first.message)


def test_an_unchanged_token_is_kept_with_its_issue_time_and_not_announced_again() -> None:
    issued = NOW - timedelta(days=3)
    kept = plan(status=announced(), secret=stored(issued=issued))

    assert (kept.value, kept.issued_at, kept.previous) == ("kscim_current", issued, None)
    assert announcement(kept, announced()) is None


def test_a_token_written_but_not_yet_announced_is_announced_on_the_retry() -> None:
    # The Secret was written, then the reconcile failed before status recorded the announcement.
    rotated = stored(
        "kscim_new",
        **{sec.ANNOTATION_TOKEN_REASON: c.REASON_TOKEN_ROTATED, sec.ANNOTATION_TOKEN_MESSAGE: "rotated"},
    )
    retry = plan(status=announced("kscim_old"), secret=rotated)

    assert retry.value == "kscim_new"
    assert announcement(retry, announced("kscim_old")) == ("Normal", c.REASON_TOKEN_ROTATED, "rotated")
    assert announcement(retry, announced("kscim_new")) is None


def test_a_first_token_whose_announcement_failed_is_announced_as_issued() -> None:
    retry = plan(status={}, secret=stored())
    assert retry.value == "kscim_current"
    assert announcement(retry, {}) == (
        "Normal",
        c.REASON_TOKEN_ISSUED,
        f"bearer token issued in Secret {SECRET}",
    )


def test_a_deleted_secret_gets_a_new_token_and_a_warning_to_update_the_idp() -> None:
    reissued = plan(status=announced(), secret=None)

    assert reissued.value != "kscim_current"
    assert (reissued.reason, reissued.event_type) == (c.REASON_TOKEN_REISSUED, "Warning")
    assert "was deleted" in reissued.message
    assert "update the identity provider" in reissued.message


def test_a_hand_edited_token_is_replaced_with_a_warning() -> None:
    data, annotations = stored()
    edited = ({**data, sec.TOKEN_KEY: "chosen-by-hand"}, annotations)

    reissued = plan(status=announced(), secret=edited)

    assert reissued.value not in ("chosen-by-hand", "kscim_current")
    assert reissued.reason == c.REASON_TOKEN_REISSUED
    assert "was edited" in reissued.message


def test_a_secret_created_by_someone_else_before_the_directory_is_not_adopted() -> None:
    foreign = ({sec.TOKEN_KEY: "kscim_weak"}, {})
    issued = plan(status={}, secret=foreign)
    assert issued.value != "kscim_weak"
    assert issued.reason == c.REASON_TOKEN_ISSUED


def test_a_secret_from_before_the_fingerprint_annotation_is_recognised_by_status() -> None:
    data, _ = stored()
    legacy = (data, {sec.ANNOTATION_ISSUED_AT: (NOW - timedelta(hours=1)).isoformat()})
    kept = plan(status=announced(), secret=legacy)
    assert kept.value == "kscim_current"
    assert announcement(kept, announced()) is None


# -- rotation ----------------------------------------------------------------------------------


def test_an_elapsed_rotation_period_rotates_and_keeps_the_old_tokens_hash_for_the_grace_period() -> None:
    spec = {"tokenPolicy": {"rotationPeriod": "24h", "gracePeriod": "1h"}}
    rotated = plan(spec, announced(), stored(issued=NOW - timedelta(hours=25)))

    assert rotated.value != "kscim_current"
    assert rotated.previous is not None
    assert rotated.previous.sha256 == token_hash("kscim_current")
    assert rotated.previous.expires_at == NOW + timedelta(hours=1)
    assert (rotated.reason, rotated.event_type) == (c.REASON_TOKEN_ROTATED, "Normal")
    assert "rotationPeriod 24h elapsed" in rotated.message
    assert "2025-03-01T13:00:00Z" in rotated.message


def test_a_rotation_period_not_yet_elapsed_keeps_the_token() -> None:
    spec = {"tokenPolicy": {"rotationPeriod": "24h"}}
    assert plan(spec, announced(), stored(issued=NOW - timedelta(hours=23))).value == "kscim_current"


def test_a_new_rotation_trigger_rotates_once() -> None:
    spec = {"tokenPolicy": {"rotationTrigger": "2025-03-01"}}
    rotated = plan(spec, announced(), stored())
    assert rotated.value != "kscim_current"
    assert "rotationTrigger set to '2025-03-01'" in rotated.message

    acted_on = announced(tokenRotationTrigger="2025-03-01")
    assert plan(spec, acted_on, stored()).value == "kscim_current"


def test_the_previous_token_is_kept_until_its_grace_period_ends_then_dropped() -> None:
    data, annotations = stored()
    during = {
        **data,
        sec.PREVIOUS_SHA256_KEY: token_hash("kscim_old"),
        sec.PREVIOUS_EXPIRES_KEY: (NOW + timedelta(minutes=5)).isoformat(),
    }
    kept = plan(status=announced(), secret=(during, annotations))
    assert kept.previous is not None
    assert kept.previous.sha256 == token_hash("kscim_old")

    after = {**during, sec.PREVIOUS_EXPIRES_KEY: (NOW - timedelta(seconds=1)).isoformat()}
    assert plan(status=announced(), secret=(after, annotations)).previous is None


# -- directory ids -----------------------------------------------------------------------------


def claim(uid: str, created: str = "2025-03-01T12:00:00Z", *, pinned: bool = False) -> IdClaim:
    return IdClaim(pinned, created, uid, f"ns/{uid}")


def test_an_id_nobody_else_claims_is_free() -> None:
    assert id_conflict("acme-okta", "me", [claim("me")]) is None
    assert id_conflict("acme-okta", "me", []) is None


def test_an_id_pinned_by_another_directory_is_taken() -> None:
    conflict = id_conflict(
        "acme-okta", "me", [claim("me"), claim("other", "2030-01-01T00:00:00Z", pinned=True)]
    )
    assert conflict == (
        "directory id 'acme-okta' is already used by ns/other; set a distinct spec.endpoint.path"
    )


@pytest.mark.parametrize(
    ("mine", "theirs", "taken"), [("2025-01-02", "2025-01-01", True), ("2025-01-01", "2025-01-02", False)]
)
def test_among_new_claimants_the_oldest_gets_the_id(mine: str, theirs: str, taken: bool) -> None:
    claims = [claim("me", mine), claim("other", theirs)]
    assert (id_conflict("acme-okta", "me", claims) is not None) is taken


def test_a_directory_that_pinned_its_id_keeps_it_against_older_newcomers() -> None:
    claims = [claim("me", "2025-01-02", pinned=True), claim("other", "2025-01-01")]
    assert id_conflict("acme-okta", "me", claims) is None
