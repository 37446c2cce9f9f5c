"""Starting and stopping the servers under test, and waiting for them.

Every target runs under gunicorn with the same settings (``gunicorn_settings``): the
worker model ``kubescim serve`` uses, no access log, bound to a free loopback port. Each
server is started in its own session so that stopping it also reaps its workers; only
processes this module started are ever signalled, by their own process id.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent


def gunicorn_settings(workers: int, threads: int) -> list[str]:
    """The gunicorn options every target runs with: kubescim serve's worker model."""
    if threads > 1:
        return ["--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads)]
    return ["--workers", str(workers), "--worker-class", "sync"]


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a server: ours, with the repository importable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env.update(extra or {})
    return env


class Server:
    """One server process (a gunicorn master and its workers)."""

    def __init__(self, name: str, argv: Sequence[str], env: Mapping[str, str], log: Path) -> None:
        self.name = name
        self.argv = list(argv)
        self.log = log
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                self.argv,
                cwd=REPO,
                env=dict(env),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def wait_http(self, url: str, headers: Mapping[str, str] | None = None, timeout_s: float = 180) -> None:
        """Wait until ``url`` answers below 500.

        Raises RuntimeError when the process exits or the time runs out.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if requests.get(url, headers=dict(headers or {}), timeout=5).status_code < 500:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                tail = self.log_tail()
                raise RuntimeError(f"{self.name} not ready after {timeout_s:.0f} s:\n{tail}")
            time.sleep(0.2)

    def stop(self) -> None:
        """Stop gracefully (SIGTERM to the master), then kill the server's own session."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=15)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # the session this module created
        self.proc.wait()


def gunicorn(
    name: str,
    app: str,
    port: int,
    workers: int,
    threads: int,
    env: Mapping[str, str],
    log: Path,
    extra: Sequence[str] = (),
) -> Server:
    """Start ``app`` (``module:attribute``) under gunicorn with the shared settings."""
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        *gunicorn_settings(workers, threads),
        "--bind",
        f"127.0.0.1:{port}",
        *extra,
        app,
    ]
    return Server(name, argv, child_env(env), log)
