"""Run the real operator the way a Deployment does: its own process, production handlers.

Only the timing differs from production: a short resync interval and backoff, so tests
see drift corrections and stats refreshes in seconds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from tests.support.postgres import free_port

TEST_HOST = "scim.test.example"
SERVER_NAMESPACE = "kubescim-system"


@contextmanager
def running_operator(
    kubeconfig: Path, database_url: str, *, resync_seconds: float = 2.0, standalone: bool = True
) -> Iterator[None]:
    """Start ``python -m scim_operator.main``; stop it (SIGTERM, by PID) afterwards.

    Raises RuntimeError with the operator's log when it does not become live.
    """
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("KUBESCIM_")},
        "KUBECONFIG": str(kubeconfig),
        "KUBESCIM_DATABASE_URL": database_url,
        "KUBESCIM_OPERATOR_RESYNC_SECONDS": str(resync_seconds),
        "KUBESCIM_OPERATOR_BACKOFF_SECONDS": "1",
        "KUBESCIM_OPERATOR_DEFAULT_HOST": TEST_HOST,
        "KUBESCIM_OPERATOR_SERVER_NAMESPACE": SERVER_NAMESPACE,
    }
    fd, log_path = tempfile.mkstemp(prefix="kubescim-operator-", suffix=".log")
    try:
        with os.fdopen(fd, "wb") as log, _spawn(env, port, log, standalone) as process:
            yield from _wait_live(process, port, Path(log_path))
    finally:
        os.unlink(log_path)


@contextmanager
def _spawn(
    env: dict[str, str], port: int, log: IO[bytes], standalone: bool
) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scim_operator.main",
            *(["--standalone"] if standalone else []),
            "--liveness",
            f"http://127.0.0.1:{port}/healthz",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _wait_live(process: subprocess.Popen[bytes], port: int, log_path: Path) -> Iterator[None]:
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"operator did not start:\n{log_path.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.1)
    yield
