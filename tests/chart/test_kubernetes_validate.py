"""Every rendered object is valid for the Kubernetes API in strict mode (unknown fields are
errors), with the schemas ``kubernetes-validate`` bundles; the ServiceMonitor, a
Prometheus Operator CRD it has no schema for, is checked by shape."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest

from tests.chart.scenarios import SCENARIOS
from tests.support.chart import render

KUBERNETES_VERSIONS = ("1.29.0", kubernetes_validate.latest_version())
NO_BUNDLED_SCHEMA = {"monitoring.coreos.com/v1"}


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("values", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_every_manifest_passes_strict_validation(values: dict[str, Any], version: str) -> None:
    checked = 0
    for manifest in render(values):
        if manifest["apiVersion"] in NO_BUNDLED_SCHEMA:
            assert set(manifest) == {"apiVersion", "kind", "metadata", "spec"}
            continue
        try:
            kubernetes_validate.validate(manifest, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{manifest['kind']}/{manifest['metadata']['name']}: {error.message} at {error.path}")
        checked += 1
    assert checked >= 7


def test_strict_validation_rejects_an_unknown_field() -> None:
    deployment = next(m for m in render() if m["kind"] == "Deployment")
    deployment["spec"]["replica"] = 2
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, kubernetes_validate.latest_version(), strict=True)
