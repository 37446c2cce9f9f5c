"""The load generator: wrk, driven by a plan file and ``wrk_plan.lua``.

wrk is an event-loop C client: one thread drives the 4 connections at a few percent of
one core, so on a 2-core machine the server, not the client, is what saturates. It
speaks HTTP/1.1 with keep-alive, as identity providers do; a server that answers
``Connection: close`` (gunicorn's sync workers) makes it reconnect after each response,
and a plan can send that header itself to measure a client that reconnects.

Latency percentiles come from wrk's sampled histogram (exact enough over thousands of
requests; coarse for a scenario that completes only a few dozen).
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LUA = Path(__file__).with_name("wrk_plan.lua")
REQUEST_TIMEOUT_S = 30


def require_wrk() -> str:
    """Return the path of wrk; raise SystemExit with a one-line hint when it is missing."""
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("error: wrk not found on PATH (Debian: apt-get install -y wrk)")
    return found


@dataclass
class Plan:
    """What wrk sends: see ``wrk_plan.lua`` for how paths, values and ``{n}`` combine."""

    method: str
    paths: Sequence[str]
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    values: Sequence[str] = ()
    offset: int = 0
    limit: int = 0
    idle_path: str = "/"

    @property
    def capacity(self) -> int:
        """Distinct (path, value) pairs before the plan repeats itself."""
        return len(self.paths) * max(1, len(self.values))

    def write(self, path: Path) -> None:
        lines = [f"method {self.method}"]
        lines += [f"header {k}: {v}" for k, v in self.headers.items()]
        if self.body is not None:
            if "\n" in self.body:
                raise ValueError("a plan body must be one line")
            lines.append(f"body {self.body}")
        lines += [f"path {p}" for p in self.paths]
        lines += [f"value {v}" for v in self.values]
        if self.offset:
            lines.append(f"offset {self.offset}")
        if self.limit:
            lines += [f"limit {self.limit}", f"idle {self.idle_path}"]
        path.write_text("\n".join(lines) + "\n")


@dataclass
class Result:
    """One wrk run, as reported by ``done()`` in ``wrk_plan.lua``.

    ``limited``: the run stopped at its plan's ``limit`` before its duration was up.
    """

    requests: int
    duration_s: float
    errors: dict[str, int]
    latency_us: dict[str, float]
    limited: bool = False

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def ms(self, stat: str) -> float:
        return self.latency_us[stat] / 1000.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "duration_s": round(self.duration_s, 3),
            "rps": round(self.rps, 1),
            "errors": self.errors,
            "latency_ms": {k: round(v / 1000.0, 3) for k, v in self.latency_us.items()},
        }


def run(base_url: str, plan: Plan, *, duration_s: float, connections: int) -> Result:
    """Run one plan against ``base_url`` (scheme, host and port) and return its figures.

    Raises RuntimeError when wrk fails or reports nothing.
    """
    wrk = require_wrk()
    with tempfile.TemporaryDirectory(prefix="kubescim-wrk-") as tmp:
        plan_file = Path(tmp) / "plan"
        plan.write(plan_file)
        argv = [
            wrk,
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(duration_s))}s",
            f"--timeout={REQUEST_TIMEOUT_S}s",
            "-s",
            str(LUA),
            base_url,
            "--",
            str(plan_file),
        ]
        lines: list[str] = []
        with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
            try:
                assert proc.stdout is not None
                for line in proc.stdout:
                    lines.append(line)
                    if line.startswith("WRKLIMIT"):
                        proc.send_signal(signal.SIGINT)  # ends wrk's sleep: see wrk_plan.lua
            except BaseException:
                proc.kill()
                raise
    for line in lines:
        if line.startswith("WRKJSON "):
            raw = json.loads(line.removeprefix("WRKJSON "))
            return Result(
                requests=raw["requests"],
                duration_s=raw["duration_us"] / 1e6,
                errors=raw["errors"],
                latency_us=raw["latency_us"],
                limited=any(line.startswith("WRKLIMIT") for line in lines),
            )
    output = "".join(lines).strip()
    raise RuntimeError(f"wrk failed ({proc.returncode}): {output}")
