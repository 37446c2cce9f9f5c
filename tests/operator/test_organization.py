"""An Organization's status and its deletion guard, from plain dicts (no cluster)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from scim_operator.organization import deletion_blocked, organization_status
from scim_server.crd import names as n

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
EARLIER = "2025-01-01T00:00:00Z"


def organization(generation: int = 1, status: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "metadata": {"name": "acme", "namespace": "customers", "generation": generation},
        "spec": {"displayName": "Acme"},
    }
    if status is not None:
        body["status"] = status
    return body


def directory(name: str, ready: str | None = None) -> dict[str, Any]:
    conditions = [] if ready is None else [{"type": "Ready", "status": ready, "reason": "R"}]
    return {
        "metadata": {"name": name, "namespace": "customers"},
        "spec": {"organizationRef": {"name": "acme"}},
        "status": {"conditions": conditions},
    }


def condition(type_: str, status: str = "True", **extra: Any) -> dict[str, Any]:
    base = {"type": type_, "status": status, "reason": "R", "message": "m", "lastTransitionTime": EARLIER}
    return {**base, **extra}


# -- organization_status ---------------------------------------------------------------------


def test_status_lists_directories_by_name_with_their_readiness() -> None:
    members = [directory("okta", "True"), directory("entra", "False"), directory("jumpcloud")]

    status = organization_status(organization(generation=4), members, NOW)

    assert status["directories"] == [
        {"name": "entra", "ready": False},
        {"name": "jumpcloud", "ready": False},
        {"name": "okta", "ready": True},
    ]
    assert status["directoryCount"] == 3
    assert status["observedGeneration"] == 4


def test_a_directory_without_status_is_not_ready() -> None:
    bare = {"metadata": {"name": "new"}, "spec": {"organizationRef": {"name": "acme"}}}
    status = organization_status(organization(), [bare], NOW)
    assert status["directories"] == [{"name": "new", "ready": False}]


def test_status_is_ready_and_counts_directories_in_its_message() -> None:
    status = organization_status(organization(generation=2), [directory("okta", "True")], NOW)

    assert status["conditions"] == [
        {
            "type": "Ready",
            "status": "True",
            "reason": "Reconciled",
            "message": "1 directories",
            "lastTransitionTime": "2025-03-01T12:00:00Z",
            "observedGeneration": 2,
        }
    ]


def test_an_organization_without_directories_is_ready_with_zero() -> None:
    status = organization_status(organization(), [], NOW)

    assert (status["directories"], status["directoryCount"]) == ([], 0)
    assert status["conditions"][0]["message"] == "0 directories"


def test_only_fields_that_changed_are_returned() -> None:
    members = [directory("okta", "True")]
    first = organization_status(organization(), members, NOW)

    again = organization_status(organization(status=first), members, NOW + timedelta(minutes=5))

    assert again == {}


def test_a_directory_becoming_ready_changes_only_the_list() -> None:
    current = organization_status(organization(), [directory("okta", "False")], NOW)

    changed = organization_status(organization(status=current), [directory("okta", "True")], NOW)

    assert changed == {"directories": [{"name": "okta", "ready": True}]}


def test_a_new_generation_updates_observed_generation_but_not_the_transition_time() -> None:
    current = organization_status(organization(generation=1), [], NOW)

    changed = organization_status(organization(2, current), [], NOW + timedelta(days=1))

    assert changed["observedGeneration"] == 2
    [ready] = changed["conditions"]
    assert (ready["observedGeneration"], ready["lastTransitionTime"]) == (2, "2025-03-01T12:00:00Z")


def test_status_clears_a_deletion_blocked_condition_and_keeps_others() -> None:
    current = {"conditions": [condition("Ready"), condition(n.DELETION_BLOCKED), condition("Custom")]}

    status = organization_status(organization(status=current), [], NOW)

    assert [x["type"] for x in status["conditions"]] == ["Ready", "Custom"]
    assert status["conditions"][0]["lastTransitionTime"] == EARLIER


# -- deletion_blocked ------------------------------------------------------------------------


def test_deletion_is_not_blocked_without_directories() -> None:
    assert deletion_blocked(organization(), []) is None


def test_deletion_blocked_names_the_remaining_directories_in_a_condition_and_a_warning() -> None:
    blocked = deletion_blocked(organization(generation=3), [directory("okta"), directory("entra")])

    assert blocked is not None
    status, event = blocked
    message = "deletion waits until these ScimDirectories are deleted: entra, okta"
    assert event == ("Warning", "DirectoriesExist", message)
    [entry] = status["conditions"]
    assert {k: v for k, v in entry.items() if k != "lastTransitionTime"} == {
        "type": "DeletionBlocked",
        "status": "True",
        "reason": "DirectoriesExist",
        "message": message,
        "observedGeneration": 3,
    }
    parsed = datetime.fromisoformat(entry["lastTransitionTime"].replace("Z", "+00:00"))
    assert abs(datetime.now(UTC) - parsed) < timedelta(minutes=1)


def test_deletion_blocked_keeps_the_existing_conditions_and_transition_time() -> None:
    current = {"conditions": [condition("Ready"), condition(n.DELETION_BLOCKED)]}

    blocked = deletion_blocked(organization(status=current), [directory("okta")])

    assert blocked is not None
    conditions = blocked[0]["conditions"]
    assert [x["type"] for x in conditions] == ["Ready", "DeletionBlocked"]
    assert conditions[0] == condition("Ready")
    assert conditions[1]["lastTransitionTime"] == EARLIER
    assert conditions[1]["message"].endswith(": okta")
