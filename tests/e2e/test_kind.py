"""The kind end-to-end run (``hack/e2e/run.sh``) and its skip path.

The run needs Docker, kind, kubectl and helm; where any is missing the script exits 77
with a line saying what, and the test is reported as skipped with that reason (never as
passed). The skip path itself is tested everywhere, with PATHs that lack the tools.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.idp_sequence import Idp, run
from tests.support.live_server import live_server

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "hack" / "e2e" / "run.sh"
SKIPPED = 77
BASH = shutil.which("bash") or "/bin/bash"


def run_script(path: str | None = None, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        [BASH, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def tool_dir(tmp_path: Path, fakes: dict[str, str]) -> str:
    """A PATH of only ``dirname`` and the given fake tools (shell bodies)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    dirname = shutil.which("dirname")
    assert dirname is not None
    (bin_dir / "dirname").symlink_to(dirname)
    for name, body in fakes.items():
        fake = bin_dir / name
        fake.write_text(f"#!/bin/sh\n{body}\n")
        fake.chmod(0o755)
    return str(bin_dir)


def test_missing_tools_skip_with_their_names_before_touching_anything(tmp_path: Path) -> None:
    done = run_script(tool_dir(tmp_path, {"kubectl": "exit 0"}), timeout=30)
    assert done.returncode == SKIPPED, done.stderr
    assert done.stdout.startswith("SKIP: not installed: docker kind helm python3")
    assert done.stderr == ""


def test_a_stopped_docker_daemon_skips_with_that_reason(tmp_path: Path) -> None:
    created = tmp_path / "created"
    fakes = {tool: "exit 0" for tool in ("kubectl", "helm", "python3")}
    fakes["docker"] = "exit 1"  # `docker info` fails as without a daemon
    fakes["kind"] = f"touch {created}; exit 0"
    done = run_script(tool_dir(tmp_path, fakes), timeout=30)
    assert done.returncode == SKIPPED, done.stderr
    assert done.stdout.strip() == "SKIP: the Docker daemon is not reachable (docker info failed)"
    assert not created.exists(), "no kind cluster may be created before the checks pass"


@pytest.mark.slow
def test_install_on_kind_and_provision_through_the_ingress() -> None:
    done = run_script()
    if done.returncode == SKIPPED:
        pytest.skip(done.stdout.strip().removeprefix("SKIP: "))
    assert done.returncode == 0, f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    assert "e2e: passed" in done.stdout


def test_the_identity_provider_sequence_passes_against_a_real_server(tmp_path: Path) -> None:
    """The e2e run's request sequence, against ``kubescim serve`` here (no Ingress), so its
    expectations are proven even where kind cannot run."""
    with live_server(f"sqlite:///{tmp_path / 'kubescim.db'}", directory="acme") as server:
        run(Idp(server.endpoint, server.token))
