"""Third-party SCIM compliance tools against a live gunicorn server, on every backend.

``scim2-tester`` (run through ``scim2-cli``, as a user would) must report every check
SUCCESS. ``scim-sanity probe`` (strict mode) must report no failure beyond
``SANITY_ALLOWED``, each entry justified from the RFC here and in ``docs/compliance.md``.
Both tools only speak HTTP, so they meet the server as it is deployed: ``kubescim
serve`` under gunicorn with two workers, on a database no other test has touched.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from scim2_tester import Status

from tests.support.live_server import LiveServer, live_server

pytestmark = pytest.mark.slow

TOOL_TIMEOUT_S = 600

# ``scim2 test`` prints one "STATUS title" line per check, then its reason, indented
# (a reason may continue on unindented lines).
_CHECK_LINE = re.compile(rf"^({'|'.join(s.name for s in Status)}) (\S.*)$")

# scim-sanity failures we answer on purpose: (check name, pattern the whole message
# must match) -> the RFC text that allows it. A new reason for the same check fails.
SANITY_ALLOWED: dict[tuple[str, str], str] = {
    # Groups answer PATCH with 204 so a membership change never serializes the member
    # list; a client that wants the group back sends attributes= and gets 200.
    (
        "PATCH /Groups/{id}",
        r"Expected HTTP 200, got 204 \(RFC 7644 §3\.3\); Response body is empty",
    ): 'RFC 7644 3.5.2: the server "MUST return a 200 OK ... or MAY return HTTP status code 204"',
    ("PATCH /Groups/{id} remove members", r"Expected 200, got 204"): (
        'RFC 7644 3.5.2: the server "MUST return a 200 OK ... or MAY return HTTP status code 204"'
    ),
    # The probe adds the member "fake-member-id", which names no resource in the
    # directory; a dangling member would be listed (and counted) forever.
    ("PATCH /Groups/{id} add member", r"Expected 200, got 400"): (
        "RFC 7643 4.2: a member's value is \"the value of an 'id' attribute of a SCIM "
        'resource"; RFC 7644 3.12: 400 invalidValue, "the value specified was not compatible '
        'with the operation or attribute type"'
    ),
}


@dataclass
class Check:
    """One check of ``scim2 test`` output and the reason printed under it."""

    status: str
    title: str
    reason: list[str] = field(default_factory=list)

    def describe(self, limit: int = 800) -> str:
        text = "\n      ".join(line.strip() for line in self.reason if line.strip())
        if len(text) > limit:
            text = text[:limit] + " [...]"
        return f"  {self.status} {self.title}\n      {text}"


def parse_scim2_test(stdout: str) -> list[Check]:
    """Split ``scim2 test`` output into its checks."""
    checks: list[Check] = []
    for line in stdout.splitlines():
        match = _CHECK_LINE.match(line)
        if match:
            checks.append(Check(match[1], match[2]))
        elif checks:
            checks[-1].reason.append(line)
    return checks


def tool(name: str) -> str:
    """The console script ``name`` installed beside this interpreter, else on PATH."""
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed (it is in the 'test' dependency group)")
    return found


def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, check=False)


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A database of its own: the tools list whole collections and search from the root."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'kubescim.db'}"
    server = request.getfixturevalue("postgres_server")
    return str(server.create_database(f"kubescim_compliance_{uuid.uuid4().hex[:12]}"))


@pytest.fixture
def live(database_url: str) -> Iterator[LiveServer]:
    with live_server(database_url) as server:
        yield server


def test_scim2_tester_reports_every_check_success(live: LiveServer) -> None:
    header = f"Authorization: {live.auth_header}"
    result = run([tool("scim2"), "--url", live.endpoint, "--header", header, "test"])
    checks = parse_scim2_test(result.stdout)
    exited = f"scim2 test exited {result.returncode}; stderr:\n{result.stderr[-3000:]}"
    assert checks, f"no checks in the output of scim2 test\n{exited}\nstdout:\n{result.stdout[-3000:]}"
    failing = [c for c in checks if c.status != Status.SUCCESS.name]
    if failing:
        pytest.fail(
            f"{len(failing)} of {len(checks)} scim2-tester checks are not SUCCESS:\n"
            + "\n".join(c.describe() for c in failing)
            + f"\nserver stderr:\n{live.log_tail()}"
        )
    assert result.returncode == 0, exited


def _allowance(result: dict[str, Any]) -> tuple[str, str] | None:
    """The ``SANITY_ALLOWED`` key that excuses this failed result, if any."""
    message = result.get("message", "")
    return next((k for k in SANITY_ALLOWED if result["name"] == k[0] and re.fullmatch(k[1], message)), None)


def test_scim_sanity_probe_has_no_unjustified_failure(live: LiveServer) -> None:
    result = run(
        [
            tool("scim-sanity"),
            "probe",
            live.endpoint,
            "--token",
            live.token,
            "--strict",
            "--json-output",
            "--i-accept-side-effects",
        ]
    )
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(
            f"scim-sanity printed no JSON report (exit {result.returncode}):\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    results = report["results"]
    assert results, report
    failed = [r for r in results if r["status"] in ("fail", "error")]
    unjustified = [r for r in failed if _allowance(r) is None]
    if unjustified:
        pytest.fail(
            f"{len(unjustified)} unjustified scim-sanity failures:\n"
            + "\n".join(f"  {r['status']} {r['name']}: {r.get('message', '')}" for r in unjustified)
            + f"\nserver stderr:\n{live.log_tail()}"
        )
    stale = set(SANITY_ALLOWED) - {_allowance(r) for r in failed}
    assert not stale, (
        "allowed scim-sanity failures that no longer happen; remove them from SANITY_ALLOWED "
        f"and docs/compliance.md: {sorted(stale)}"
    )
