"""``CapacityWarning``: a directory past 80% of its maximum users is told so (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from scim_operator import constants as c
from scim_operator.decide import capacity_conditions, max_users
from scim_operator.settings import OperatorSettings
from scim_server.crd import names as n

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def warning(conditions: list[dict[str, object]]) -> dict[str, object] | None:
    return next((x for x in conditions if x["type"] == n.CAPACITY_WARNING), None)


def test_eighty_percent_is_within_capacity_and_one_more_user_warns_once() -> None:
    within, event = capacity_conditions([], 80, 100, 1, NOW)
    assert (warning(within) or {}).get("status") == "False"
    assert event is None
    near, event = capacity_conditions(within, 81, 100, 1, NOW)
    assert (warning(near) or {})["reason"] == c.REASON_NEAR_CAPACITY
    assert event is not None
    assert event[0] == "Warning"
    assert "PostgreSQL" in event[2]
    again, event = capacity_conditions(near, 90, 100, 1, NOW)
    assert (warning(again) or {})["status"] == "True"
    assert event is None


def test_no_maximum_means_no_condition() -> None:
    near, _ = capacity_conditions([], 99, 100, 1, NOW)
    cleared, event = capacity_conditions(near, 99, None, 1, NOW)
    assert warning(cleared) is None
    assert event is None


def test_the_spec_overrides_the_operator_default() -> None:
    assert max_users({"maxUsers": 10}, 2000) == 10
    assert max_users({}, 2000) == 2000
    assert max_users({}, None) is None


def test_config_map_storage_has_a_default_maximum_and_sql_none() -> None:
    def settings(url: str, **more: object) -> OperatorSettings:
        return OperatorSettings.model_validate({"KUBESCIM_DATABASE_URL": url, **more})

    assert settings("configmaps://kubescim").effective_max_users() == c.KUBE_STORAGE_MAX_USERS
    assert settings("postgresql://x/y").effective_max_users() is None
    assert settings("secrets://x", max_users=50).effective_max_users() == 50
