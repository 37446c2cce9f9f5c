"""The report's rows for kubescim on ConfigMaps: figures, ratios, n/a and SKIP rows, JSON, baselines."""

from __future__ import annotations

from typing import Any

from benchmarks import report
from benchmarks.configmap_capacity import BEYOND
from benchmarks.interleave import Ratio
from benchmarks.loadgen import Result
from benchmarks.report import Results, Row
from benchmarks.scenarios import Sizes, scim_scenarios

SCENARIOS = {s.key: s for s in scim_scenarios(Sizes(10, 100_000))}
NO_ERRORS = {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0}


def result(rps: float, p50_ms: float = 2.0, status_errors: int = 0) -> Result:
    latency = {"min": 500, "mean": p50_ms * 1000, "p50": p50_ms * 1000, "p90": 4000, "p99": 8000, "max": 9000}
    return Result(int(rps * 2), 2.0, {**NO_ERRORS, "status": status_errors}, latency)


def measured() -> Results:
    results = Results()
    get = SCENARIOS["get_user"]
    results.add(Row(get, "ceiling", result(2000)))
    results.add(Row(get, "kubescim", result(1500), ratios={"ceiling": Ratio((0.75, 0.77))}))
    results.add(
        Row(
            get,
            "kubescim-configmaps",
            result(2400),
            ratios={"ceiling": Ratio((1.2, 1.1)), "kubescim": Ratio((1.6, 1.5))},
        )
    )
    results.add(Row(SCENARIOS["filter_big"], "kubescim", result(1400)))
    results.add(Row(SCENARIOS["filter_big"], "kubescim-configmaps", None, skipped=BEYOND))
    return results


def lines_of(table: str, target: str, label: str) -> list[str]:
    return [line for line in table.splitlines() if line.startswith(label) and f" {target} " in f"{line} "]


def test_table_shows_the_configmap_ratios_to_the_ceiling_and_to_postgresql() -> None:
    table = report.table(measured(), None)
    header = table.splitlines()[0]
    assert "vs kubescim" in header
    (row,) = lines_of(table, "kubescim-configmaps", SCENARIOS["get_user"].label)
    assert "2,400" in row
    assert "1.15 (1.10-1.20) select" in row
    assert "1.55 (1.50-1.60)" in row


def test_a_scenario_beyond_capacity_is_a_row_that_says_so_not_an_error() -> None:
    results = measured()
    table = report.table(results, None)
    (row,) = lines_of(table, "kubescim-configmaps", SCENARIOS["filter_big"].label)
    assert row.endswith(BEYOND)
    assert "ERROR" not in row
    assert statuses(results) == statuses(without_configmaps(results))


def test_without_configmaps_the_table_keeps_its_columns() -> None:
    results = Results()
    results.add(Row(SCENARIOS["get_user"], "kubescim", result(1500)))
    assert "vs kubescim" not in report.table(results, None)


def statuses(results: Results) -> list[str]:
    return [f"{c.status} {c.name}" for c in report.checks(results)]


def without_configmaps(results: Results) -> Results:
    kept = Results()
    for row in results.rows:
        if row.target != "kubescim-configmaps":
            kept.add(row)
    return kept


def test_configmap_errors_never_fail_a_check() -> None:
    results = measured()
    results.add(Row(SCENARIOS["post_user"], "ceiling", result(1000)))
    results.add(Row(SCENARIOS["post_user"], "kubescim", result(900), ratios={"ceiling": Ratio((0.9,))}))
    results.add(Row(SCENARIOS["post_user"], "kubescim-configmaps", result(200, status_errors=3)))
    found = statuses(results)
    assert "PASS post_user: >= 85% of the insert ceiling" in found
    assert found == statuses(without_configmaps(results))


def test_json_carries_the_configmap_rows_and_a_baseline_reads_old_and_new_files() -> None:
    doc = report.to_json(measured(), [], {"version": 1})
    rows = {(r["scenario"], r["target"]): r for r in doc["results"]}
    ours = rows[("get_user", "kubescim-configmaps")]
    assert ours["rps"] == 2400.0
    assert ours["ratios"]["kubescim"]["median"] == 1.55
    assert rows[("filter_big", "kubescim-configmaps")]["skipped"] == BEYOND
    baseline = report.load_baseline(doc)
    assert ("filter_big", "kubescim-configmaps") not in baseline  # n/a: nothing to compare
    assert ("get_user", "kubescim-configmaps") in baseline
    table = report.table(measured(), baseline)
    (row,) = lines_of(table, "kubescim-configmaps", SCENARIOS["get_user"].label)
    assert "+0%" in row


def test_an_old_baseline_without_configmaps_leaves_its_cells_empty() -> None:
    old: dict[str, Any] = {
        "results": [
            {"scenario": "get_user", "target": "kubescim", "rps": 1000.0, "latency_ms": {"p50": 3.0}},
        ]
    }
    table = report.table(measured(), report.load_baseline(old))
    (pg,) = lines_of(table, "kubescim", SCENARIOS["get_user"].label)
    (cm,) = lines_of(table, "kubescim-configmaps", SCENARIOS["get_user"].label)
    assert "+50%" in pg
    assert cm.split()[-3:] == ["-", "-", "-"]  # base req/s, change, base p50


def test_one_informational_line_for_configmaps() -> None:
    line = report.configmap_summary(measured(), 1000)
    assert line is not None
    assert line.startswith("INFO  kubescim-configmaps")
    assert "get_user 1.55x" in line
    assert "1,000/s" in line
    assert report.configmap_summary(Results(), 1000) is None
