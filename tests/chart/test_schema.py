"""values.schema.json turns typos and wrong types into errors before anything renders."""

from __future__ import annotations

from typing import Any

import helm_python as helm
import pytest

from tests.chart.scenarios import SCENARIOS
from tests.support.chart import chart, render


@pytest.mark.parametrize("values", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_every_scenario_passes_the_schema(values: dict[str, Any]) -> None:
    chart().validate_schema(values)


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"server": {"replica": 3}}, "replica"),
        ({"storage": {"backnd": "postgresql"}}, "backnd"),
        ({"rbac": {"clusterwide": False}}, "clusterwide"),
        ({"serverr": {}}, "serverr"),
    ],
)
def test_a_misspelled_key_is_rejected_by_name(values: dict[str, Any], named: str) -> None:
    with pytest.raises(helm.HelmValuesError, match=named):
        chart().validate_schema(values)


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"server": {"replicas": "three"}}, "replicas"),
        ({"crds": {"keep": "yes"}}, "keep"),
        ({"rbac": {"namespaces": "customers"}}, "namespaces"),
        ({"storage": {"backend": "mysql"}}, "backend"),
        ({"server": {"service": {"port": 70000}}}, "port"),
        ({"operator": {"replicas": 0}}, "replicas"),
    ],
)
def test_a_wrong_type_or_value_is_rejected_by_name(values: dict[str, Any], named: str) -> None:
    with pytest.raises(helm.HelmValuesError, match=named):
        chart().validate_schema(values)


def test_render_checks_the_schema_too() -> None:
    with pytest.raises(helm.HelmError, match="replica"):
        chart().render({"server": {"replica": 3}}, name="kubescim", namespace="kubescim-system")


def test_postgresql_without_a_secret_fails_with_what_to_set() -> None:
    with pytest.raises(helm.HelmError, match=r"storage\.postgresql\.existingSecret is required"):
        render({"storage": {"backend": "postgresql"}})


def test_several_namespaces_without_cluster_wide_rbac_fail_with_why() -> None:
    with pytest.raises(helm.HelmError, match="read one namespace or all"):
        render({"rbac": {"clusterWide": False, "namespaces": ["a", "b"]}})
