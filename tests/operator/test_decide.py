"""The operator's whole decision for one directory, from plain dicts and a clock (no cluster).

Each test builds what the API server would return (the directory, its objects as last
written), calls ``decide`` and checks the writes, the token announcement, the status
and the Events, the way ``reconcile`` would apply them.
"""

from __future__ import annotations

import base64
import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from scim_operator import constants as c
from scim_operator import desired as d
from scim_operator.decide import Context, Decision, Observed, decide
from scim_server.crd import names as n
from scim_server.crd import secret as sec
from scim_server.tokens.credentials import token_hash

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
ROUTE = d.RouteConfig(default_host="scim.example.test", server_namespace="kubescim")
FOUND = Context(organization_exists=True)


def directory(status: dict[str, Any] | None = None, generation: int = 1, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": n.API_VERSION,
        "kind": n.DIRECTORY_KIND,
        "metadata": {"namespace": "acme", "name": "okta", "uid": "uid-1", "generation": generation},
        "spec": {"organizationRef": {"name": "acme"}, **spec},
    }
    if status is not None:
        body["status"] = status
    return body


def as_stored(obj: dict[str, Any]) -> dict[str, Any]:
    """An object as the API server returns it after a write (a resourceVersion added)."""
    out = copy.deepcopy(obj)
    out["metadata"]["resourceVersion"] = "7"
    return out


def settle(
    body: dict[str, Any], decision: Decision, before: Observed | None = None
) -> tuple[dict[str, Any], Observed]:
    """The directory and its objects (``before``, updated by the writes) once ``decision``
    was applied."""
    before = before or Observed()
    written = {w.kind: as_stored(w.desired) for w in decision.writes}
    after = copy.deepcopy(body)
    after["status"] = {**(body.get("status") or {}), **decision.status}
    return after, Observed(
        written.get("Secret", before.secret),
        written.get("Service", before.service),
        written.get("Ingress", before.ingress),
    )


def token_of(secret: dict[str, Any]) -> str:
    return base64.b64decode(secret["data"][sec.TOKEN_KEY]).decode()


def condition(decision: Decision, type_: str) -> tuple[str, str]:
    found = next(x for x in decision.status["conditions"] if x["type"] == type_)
    return found["status"], found["reason"]


def ready_directory(**spec: Any) -> tuple[dict[str, Any], Observed]:
    """A directory reconciled once, with everything written and announced."""
    body = directory(**spec)
    return settle(body, decide(body, Observed(), ROUTE, FOUND, NOW - timedelta(days=2)))


def writes(decision: Decision) -> dict[str, dict[str, Any]]:
    return {w.kind: w.desired for w in decision.writes}


# -- a new directory --------------------------------------------------------------------------


def test_a_new_directory_gets_a_secret_a_route_an_announced_token_and_ready_status() -> None:
    decision = decide(directory(), Observed(), ROUTE, FOUND, NOW)

    assert set(writes(decision)) == {"Secret", "Service", "Ingress"}
    assert all(w.actual is None for w in decision.writes), "a new directory is created, not read first"
    token = token_of(writes(decision)["Secret"])
    assert decision.announcement == (
        "Normal",
        c.REASON_TOKEN_ISSUED,
        "bearer token issued in Secret okta-scim-token",
    )
    assert decision.fingerprint == sec.fingerprint(token)
    assert decision.status["directoryId"] == "acme-okta"
    assert decision.status["endpoint"] == "https://scim.example.test/scim/v2/acme-okta"
    assert decision.status["tokenSecretRef"] == {"name": "okta-scim-token"}
    assert decision.status["tokenFingerprint"] == sec.fingerprint(token)
    assert condition(decision, n.READY) == ("True", c.REASON_RECONCILED)
    assert condition(decision, n.ORGANIZATION_READY) == ("True", c.REASON_ORG_FOUND)
    assert condition(decision, n.TOKEN_ISSUED) == ("True", c.REASON_TOKEN_ISSUED)
    assert condition(decision, n.ROUTE_READY) == ("True", c.REASON_INGRESS_READY)
    assert condition(decision, n.SUSPENDED) == ("False", c.REASON_ACTIVE)
    assert decision.events == []


def test_a_directory_whose_id_is_taken_writes_nothing_and_says_why() -> None:
    conflict = "directory id 'acme-okta' is already used by other/okta; set a distinct spec.endpoint.path"
    decision = decide(directory(), Observed(), ROUTE, Context(True, conflict), NOW)

    assert decision.writes == []
    assert decision.announcement is None
    assert condition(decision, n.READY) == ("False", c.REASON_ID_CONFLICT)
    assert decision.events == [("Warning", c.REASON_ID_CONFLICT, conflict)]
    assert "directoryId" not in decision.status


def test_without_its_organization_a_directory_is_not_ready() -> None:
    decision = decide(directory(), Observed(), ROUTE, Context(organization_exists=False), NOW)

    assert condition(decision, n.READY) == ("False", c.REASON_ORG_NOT_FOUND)
    assert condition(decision, n.ORGANIZATION_READY) == ("False", c.REASON_ORG_NOT_FOUND)
    assert "Secret" in writes(decision), "the token is issued; the server refuses it until Ready"


def test_a_suspended_directory_is_not_ready_and_its_secret_says_so() -> None:
    decision = decide(directory(suspended=True), Observed(), ROUTE, FOUND, NOW)

    assert condition(decision, n.READY) == ("False", c.REASON_SUSPENDED)
    assert condition(decision, n.SUSPENDED) == ("True", c.REASON_SUSPENDED)
    assert writes(decision)["Secret"]["metadata"]["annotations"][sec.ANNOTATION_SUSPENDED] == "true"


# -- steady state and repairs -------------------------------------------------------------------


def test_an_unchanged_directory_needs_no_write_no_status_and_no_event() -> None:
    body, observed = ready_directory()

    decision = decide(body, observed, ROUTE, FOUND, NOW)

    assert decision.writes == []
    assert decision.status == {}
    assert decision.events == []
    assert decision.announcement is None


def test_a_deleted_secret_gets_a_new_token_announced_as_a_warning() -> None:
    body, observed = ready_directory()
    old = token_of(dict(observed.secret or {}))

    decision = decide(body, Observed(None, observed.service, observed.ingress), ROUTE, FOUND, NOW)

    new = token_of(writes(decision)["Secret"])
    assert new != old
    assert decision.announcement is not None
    assert decision.announcement[:2] == ("Warning", c.REASON_TOKEN_REISSUED)
    assert decision.status["tokenFingerprint"] == sec.fingerprint(new)


def test_an_edited_ingress_is_restored_with_a_warning() -> None:
    body, observed = ready_directory()
    edited = copy.deepcopy(dict(observed.ingress or {}))
    edited["spec"]["rules"][0]["host"] = "evil.example"

    decision = decide(body, Observed(observed.secret, observed.service, edited), ROUTE, FOUND, NOW)

    assert writes(decision)["Ingress"]["spec"]["rules"][0]["host"] == "scim.example.test"
    assert decision.events == [
        (
            "Warning",
            c.REASON_INGRESS_RESTORED,
            "Ingress okta-scim was changed outside kubescim and has been restored",
        )
    ]


def test_a_spec_change_rewrites_without_a_correction_event() -> None:
    body, observed = ready_directory()
    body["metadata"]["generation"] = 2
    body["spec"]["endpoint"] = {"host": "sso.acme.example"}

    decision = decide(body, observed, ROUTE, FOUND, NOW)

    assert writes(decision)["Ingress"]["spec"]["rules"][0]["host"] == "sso.acme.example"
    assert decision.events == []
    assert decision.status["observedGeneration"] == 2


# -- rotation -----------------------------------------------------------------------------------


def test_an_elapsed_rotation_period_rotates_and_keeps_the_old_token_for_the_grace_period() -> None:
    body, observed = ready_directory(tokenPolicy={"rotationPeriod": "1d", "gracePeriod": "1h"})
    old = token_of(dict(observed.secret or {}))

    decision = decide(body, observed, ROUTE, FOUND, NOW)

    secret = writes(decision)["Secret"]
    data = sec.decode_secret_data(secret["data"])
    assert data[sec.TOKEN_KEY] != old
    assert data[sec.PREVIOUS_SHA256_KEY] == token_hash(old)
    assert data[sec.PREVIOUS_EXPIRES_KEY] == (NOW + timedelta(hours=1)).isoformat()
    assert decision.announcement is not None
    assert decision.announcement[:2] == ("Normal", c.REASON_TOKEN_ROTATED)
    assert decision.events == [], "a rotation is announced, not reported as a correction"


def test_a_new_rotation_trigger_rotates_once() -> None:
    body, observed = ready_directory()
    body["spec"]["tokenPolicy"] = {"rotationTrigger": "2025-03-01"}
    body["metadata"]["generation"] = 2

    first = decide(body, observed, ROUTE, FOUND, NOW)
    assert first.announcement is not None
    assert first.announcement[1] == c.REASON_TOKEN_ROTATED
    assert first.status["tokenRotationTrigger"] == "2025-03-01"

    again_body, again_observed = settle(body, first, observed)
    again = decide(again_body, again_observed, ROUTE, FOUND, NOW + timedelta(seconds=5))
    assert again.announcement is None
    assert again.writes == []


def test_the_previous_token_is_dropped_from_the_secret_when_its_grace_period_ends() -> None:
    body, observed = ready_directory(tokenPolicy={"rotationPeriod": "1d", "gracePeriod": "1h"})
    rotated_body, rotated = settle(body, decide(body, observed, ROUTE, FOUND, NOW), observed)

    during = decide(rotated_body, rotated, ROUTE, FOUND, NOW + timedelta(minutes=59))
    assert during.writes == []

    after = decide(rotated_body, rotated, ROUTE, FOUND, NOW + timedelta(minutes=61))
    data = sec.decode_secret_data(writes(after)["Secret"]["data"])
    assert sec.PREVIOUS_SHA256_KEY not in data
    assert after.announcement is None, "the current token did not change"
