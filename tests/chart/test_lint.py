"""Helm's own linter (strict: warnings count) is clean for every scenario."""

from __future__ import annotations

from typing import Any

import helm_python as helm
import pytest

from tests.chart.scenarios import SCENARIOS
from tests.support.chart import CHART_DIR, NAMESPACE

# The chart has no icon to point at (info level, not a warning).
ACCEPTED = {("Chart.yaml", "icon is recommended")}


@pytest.mark.parametrize("values", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_helm_lint_is_clean(values: dict[str, Any]) -> None:
    report = helm.lint(CHART_DIR, values, strict=True, namespace=NAMESPACE)
    findings = {(m["path"], m["error"]) for m in report["messages"]} - ACCEPTED
    assert report["errors"] == []
    assert findings == set()


def test_helm_lint_reports_a_misspelled_key() -> None:
    report = helm.lint(CHART_DIR, {"server": {"replica": 1}}, strict=True, namespace=NAMESPACE)
    assert any("'replica' not allowed" in error for error in report["errors"])
