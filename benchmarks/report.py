"""The results table, the checks against docs/design.md's targets, and the JSON form.

A check compares kubescim with a ceiling or with scim2-server measured in the same run;
it is SKIP when either side was not measured, and FAIL when a side it needs had errors.
The targets are PostgreSQL's: kubescim on ConfigMaps gets figures and one informational
line (``configmap_summary``), no check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from benchmarks.interleave import Ratio
from benchmarks.loadgen import Result
from benchmarks.scenarios import Scenario

PEER = "scim2-server"
OURS = "kubescim"
CEILING = "ceiling"
CONFIGMAPS = "kubescim-configmaps"


@dataclass
class Row:
    scenario: Scenario
    target: str
    result: Result | None
    note: str = ""
    error: str = ""
    others: float | None = None
    runs: list[float] = field(default_factory=list)
    ratios: dict[str, Ratio] = field(default_factory=dict)
    skipped: str = ""
    """Why the target did not run this scenario, when that is no failure (SKIP, n/a)."""

    @property
    def ok(self) -> bool:
        return self.result is not None and not self.error and self.result.error_count == 0


@dataclass
class Check:
    name: str
    requirement: str
    measured: str
    status: str  # PASS, FAIL or SKIP


class Results:
    """Rows by (scenario key, target)."""

    def __init__(self) -> None:
        self.rows: list[Row] = []

    def add(self, row: Row) -> None:
        self.rows.append(row)

    def get(self, key: str, target: str) -> Row | None:
        return next((r for r in self.rows if r.scenario.key == key and r.target == target), None)

    def p50(self, key: str, target: str) -> float:
        """Median latency in ms; only for a row that ``checks`` found measured."""
        row = self.get(key, target)
        return row.result.ms("p50") if row and row.result else float("nan")

    def rps(self, key: str, target: str) -> float | None:
        row = self.get(key, target)
        return row.result.rps if row and row.result and row.result.requests else None


def table(results: Results, baseline: dict[tuple[str, str], dict[str, Any]] | None) -> str:
    """Render the side-by-side table (``vs kubescim`` only when a row has that ratio)."""
    head = ["scenario", "target", "req/s", "p50 ms", "p99 ms", "vs ceiling", "vs peer"]
    vs_ours = any(OURS in row.ratios for row in results.rows)
    if vs_ours:
        head.append("vs kubescim")
    if baseline is not None:
        head += ["base req/s", "change", "base p50"]
    head.append("note")
    lines = [head]
    for row in results.rows:
        r = row.result
        sc = row.scenario
        cells = [sc.label, row.target]
        if r is None:
            cells += ["-", "-", "-"]
        else:
            cells += [f"{r.rps:,.0f}", f"{r.ms('p50'):.2f}", f"{r.ms('p99'):.2f}"]
        rps = r.rps if r else None
        to_ceiling, to_peer = row.ratios.get(CEILING), row.ratios.get(PEER)
        cells.append(f"{to_ceiling.text()} {sc.ceiling}" if to_ceiling else "-")
        cells.append(to_peer.text() if to_peer else "-")
        if vs_ours:
            cells.append(q.text() if (q := row.ratios.get(OURS)) else "-")
        if baseline is not None:
            base = baseline.get((sc.key, row.target))
            if base and rps:
                cells += [
                    f"{base['rps']:,.0f}",
                    f"{(rps / base['rps'] - 1) * 100:+.0f}%",
                    f"{base['latency_ms']['p50']:.2f}",
                ]
            else:
                cells += ["-", "-", "-"]
        notes = [n for n in (row.skipped, row.note) if n]
        if row.error:
            notes.append(f"ERROR {row.error}")
        elif r is not None and r.error_count:
            notes.append(f"ERRORS {r.errors}")
        cells.append("; ".join(notes))
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = []
    for n, line in enumerate(lines):
        cells = [
            c.ljust(w) if i < 2 or i == len(head) - 1 else c.rjust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        ]
        out.append("  ".join(cells).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def checks(results: Results) -> list[Check]:
    """Evaluate docs/design.md's "Performance we hold ourselves to" on this run."""
    out: list[Check] = []

    def rows_ok(*pairs: tuple[str, str]) -> str | None:
        for key, target in pairs:
            row = results.get(key, target)
            if row is None or row.result is None or not row.result.requests:
                return "SKIP"
            if not row.ok:
                return "FAIL"
        return None

    def interleaved(key: str, reference: str) -> tuple[str | None, Ratio | None]:
        """The status so far and the ratio of kubescim to ``reference`` in one scenario."""
        status = rows_ok((key, OURS), (key, reference))
        row = results.get(key, OURS)
        found = row.ratios.get(reference) if row else None
        if status is None and found is None:
            status = "SKIP"
        return status, found

    def vs_ceiling(key: str, ceiling: str, floor: float) -> None:
        name = f"{key}: >= {floor:.0%} of the {ceiling} ceiling"
        status, found = interleaved(key, CEILING)
        if status is None and found is not None:
            status = "PASS" if found.median >= floor else "FAIL"
        out.append(Check(name, f">= {floor:.2f}", found.text() if found else "-", status or "SKIP"))

    def vs_peer(key: str) -> None:
        status, found = interleaved(key, PEER)
        if status is None and found is not None:
            status = "PASS" if found.median > 1 else "FAIL"
        measured = found.text("x") if found else "-"
        out.append(Check(f"{key}: ahead of scim2-server", "> 1.00x", measured, status or "SKIP"))

    def latency_growth(big: str, small: str, bound: float) -> None:
        status = rows_ok((big, OURS), (small, OURS))
        ratio = None
        if status is None:
            ratio = results.p50(big, OURS) / results.p50(small, OURS)
            status = "PASS" if ratio <= bound else "FAIL"
        out.append(
            Check(
                f"{big}: p50 latency <= {bound}x {small}",
                f"<= {bound:.2f}x",
                f"{ratio:.2f}x" if ratio else "-",
                status,
            )
        )

    vs_ceiling("get_user", "select", 0.80)
    vs_peer("get_user")
    vs_ceiling("filter_small", "select", 0.75)
    vs_ceiling("filter_big", "select", 0.75)
    latency_growth("filter_big", "filter_small", 1.3)
    vs_ceiling("post_user", "insert", 0.85)
    vs_peer("post_user")
    vs_ceiling("add_member_10", "insert", 0.70)
    vs_ceiling("add_member_5000", "insert", 0.70)
    latency_growth("add_member_5000", "add_member_10", 1.5)
    return out


def render_checks(found: list[Check]) -> str:
    lines = [f"{c.status:4}  {c.name} (measured {c.measured}, target {c.requirement})" for c in found]
    lines.append("SKIP  1,000 ScimDirectories Ready in <= 60 s (operator; not measured here)")
    return "\n".join(lines)


def configmap_summary(results: Results, write_rate: float) -> str | None:
    """One informational line on kubescim-configmaps against PostgreSQL, or None if it did not run."""
    ratios = [
        f"{row.scenario.key} {q.median:.2f}x"
        for row in results.rows
        if row.target == CONFIGMAPS and (q := row.ratios.get(OURS)) is not None
    ]
    if not ratios:
        return None
    return (
        f"INFO  {CONFIGMAPS} vs kubescim on PostgreSQL (median req/s ratio): {', '.join(ratios)}; "
        f"figures only, the targets are PostgreSQL's; write limit raised to {write_rate:,.0f}/s per process"
    )


def to_json(results: Results, found: list[Check], meta: dict[str, Any]) -> dict[str, Any]:
    return {
        **meta,
        "results": [
            {
                "scenario": r.scenario.key,
                "label": r.scenario.label,
                "target": r.target,
                **(r.result.as_dict() if r.result else {}),
                "note": r.note,
                "error": r.error,
                "skipped": r.skipped,
                "others_cpu": None if r.others is None else round(r.others, 3),
                "runs_rps": [round(v, 1) for v in r.runs],
                "ratios": {
                    ref: {
                        "median": round(q.median, 3),
                        "low": round(q.low, 3),
                        "high": round(q.high, 3),
                        "rounds": [round(v, 3) for v in q.rounds],
                        "flagged": q.flagged,
                    }
                    for ref, q in r.ratios.items()
                },
            }
            for r in results.rows
        ],
        "checks": [c.__dict__ for c in found],
    }


def load_baseline(raw: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """Index a previous run's JSON by (scenario, target), keeping measured rows only."""
    return {(r["scenario"], r["target"]): r for r in raw.get("results", []) if "rps" in r}
