"""A real ``kubescim serve`` (gunicorn) on a free loopback port, for black-box tools.

The compliance tools (scim2-tester, scim-sanity) speak HTTP only, so they need the
server exactly as it is deployed: the CLI, gunicorn, its workers and a real database.
The server runs in a session of its own with its own state directory; stopping it
signals that session by the master's process id, never anything else.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.support.postgres import free_port

REPO = Path(__file__).resolve().parent.parent.parent


class LiveServerError(RuntimeError):
    """The server did not start or become ready; the message carries its stderr."""


@dataclass(frozen=True)
class LiveServer:
    """A running server and one directory on it."""

    base_url: str
    """``http://127.0.0.1:PORT``, without a trailing slash."""
    directory: str
    token: str
    endpoint: str
    """The directory's SCIM base URL, ``{base_url}/scim/v2/{directory}``."""
    stderr: Path
    """Where the server writes its stderr (gunicorn's and our error log)."""

    def log_tail(self, lines: int = 40) -> str:
        """The end of the server's stderr, to explain a failed check."""
        return _tail(self.stderr, lines)

    @property
    def auth_header(self) -> str:
        """The ``Authorization`` header value, as a CLI tool takes it."""
        return f"Bearer {self.token}"


def _environment(root: Path, database_url: str, extra: Mapping[str, str]) -> dict[str, str]:
    """Ours without any ``KUBESCIM_*``, so only what this server is given configures it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBESCIM_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    # The workers' metrics files go with the rest of this server's files.
    metrics = root / "metrics"
    metrics.mkdir()
    env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics)
    env["KUBESCIM_STATE_DIR"] = str(root / "state")
    env["KUBESCIM_DATABASE_URL"] = database_url
    env["KUBESCIM_ACCESS_LOG"] = "false"
    env.update(extra)
    return env


def _cli(*args: str, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scim_server.cli", *args],
        cwd=REPO,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _wait_ready(proc: subprocess.Popen[bytes], url: str, stderr: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        if proc.poll() is not None:
            code, tail = proc.returncode, _tail(stderr)
            raise LiveServerError(f"kubescim serve exited with {code} before {url} answered:\n{tail}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=2).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise LiveServerError(f"{url} not ready after {timeout_s:.0f} s:\n{_tail(stderr)}")
        time.sleep(0.1)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the gunicorn master, then SIGKILL the session it leads (its workers)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=15)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


@contextlib.contextmanager
def live_server(
    database_url: str,
    *,
    directory: str = "compliance",
    workers: int = 2,
    env: Mapping[str, str] | None = None,
    ready_timeout_s: float = 60,
) -> Iterator[LiveServer]:
    """Serve ``database_url`` with one directory and a fresh token; stop on exit.

    Raises LiveServerError (with the server's stderr) when creating the directory
    fails or the server does not answer ``/readyz`` with 200 in time.
    """
    with tempfile.TemporaryDirectory(prefix="kubescim-live-") as tmp:
        root = Path(tmp)
        child_env = _environment(root, database_url, env or {})
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        created = _cli(
            "directories", "create", directory, "-o", "json", "--base-url", base_url, env=child_env
        )
        if created.returncode != 0:
            raise LiveServerError(
                f"kubescim directories create failed (exit {created.returncode}):\n"
                f"{created.stderr}{created.stdout}"
            )
        info = json.loads(created.stdout)
        stderr = root / "serve.stderr"
        with open(stderr, "wb") as err:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "scim_server.cli",
                    "serve",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    str(workers),
                ],
                cwd=REPO,
                env=child_env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,
            )
        try:
            _wait_ready(proc, f"{base_url}/readyz", stderr, ready_timeout_s)
            yield LiveServer(
                base_url=base_url,
                directory=info["name"],
                token=info["token"],
                endpoint=info["endpoint"],
                stderr=stderr,
            )
            if proc.poll() is not None:
                raise LiveServerError(
                    f"kubescim serve exited with {proc.returncode} while in use:\n{_tail(stderr)}"
                )
        finally:
            _stop(proc)
