"""Run the real operator the way a Deployment does: its own process, production handlers.

Only the timing differs from production: a short resync interval, backoff and Lease
timing, so tests see drift corrections, stats refreshes and failovers in seconds.

Every run's log is checked when the operator stops: an HTTP protocol error (a response
read from a connection that held another one's leftovers) or a token, plain or
base64-encoded as in a Secret, fails the test that ran it.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from tests.support.postgres import free_port

TEST_HOST = "scim.test.example"
SERVER_NAMESPACE = "kubescim-system"
# Lease timing for tests: a standby takes over at most LEASE_SECONDS + 1 s after the
# holder stops renewing (production: 15 s + 2 s).
LEASE_SECONDS = 4
PROTOCOL_ERRORS = re.compile(
    r"BadStatusLine|ResponseNotReady|RemoteDisconnected|IncompleteRead|Connection pool is full"
)
SHUTDOWN_SECONDS = 10
TOKENS = re.compile(r"kscim_[A-Za-z0-9_-]{20,}|a3NjaW1f[A-Za-z0-9+/]{20,}")


@dataclass
class OperatorProcess:
    """A running operator: its PID and log, for tests that kill it or read it."""

    process: subprocess.Popen[bytes]
    log_path: Path

    def kill(self) -> None:
        """SIGKILL, as a node failure would: no cleanup, no Lease release."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def check_log(text: str) -> None:
    """Raise AssertionError naming the lines with a protocol error or a token (redacted)."""
    bad = [line for line in text.splitlines() if PROTOCOL_ERRORS.search(line) or TOKENS.search(line)]
    if bad:
        shown = "\n".join(TOKENS.sub("<TOKEN>", line)[:300] for line in bad[:20])
        raise AssertionError(f"{len(bad)} operator log line(s) with a protocol error or a token:\n{shown}")


@contextmanager
def running_operator(
    kubeconfig: Path,
    database_url: str,
    *,
    resync_seconds: float = 2.0,
    standalone: bool = True,
    lease_namespace: str | None = None,
    env: Mapping[str, str] | None = None,
    args: Sequence[str] = (),
) -> Iterator[OperatorProcess]:
    """Start ``python -m scim_operator.main``; stop it (SIGTERM, by PID) afterwards, then
    check its log (``check_log``).

    Without ``standalone`` it waits for the Lease in ``lease_namespace``. ``env`` is added
    last (it wins over the test timing above) and ``args`` go on its command line, e.g. a
    Deployment's. Raises RuntimeError with the operator's log when it does not become live.
    """
    port = free_port()
    overrides = env
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("KUBESCIM_")},
        "KUBECONFIG": str(kubeconfig),
        "PYTHONUNBUFFERED": "1",  # the log file shows each line when it is written
        "KUBESCIM_DATABASE_URL": database_url,
        "KUBESCIM_OPERATOR_RESYNC_SECONDS": str(resync_seconds),
        "KUBESCIM_OPERATOR_BACKOFF_SECONDS": "1",
        "KUBESCIM_OPERATOR_DEFAULT_HOST": TEST_HOST,
        "KUBESCIM_OPERATOR_SERVER_NAMESPACE": SERVER_NAMESPACE,
        "KUBESCIM_OPERATOR_LEASE_DURATION_SECONDS": str(LEASE_SECONDS),
        "KUBESCIM_OPERATOR_LEASE_RENEW_DEADLINE_SECONDS": str(LEASE_SECONDS - 1),
        "KUBESCIM_OPERATOR_LEASE_RETRY_SECONDS": "1",
    }
    if lease_namespace is not None:
        env["KUBESCIM_OPERATOR_LEASE_NAMESPACE"] = lease_namespace
    env.update(overrides or {})
    fd, log_path = tempfile.mkstemp(prefix="kubescim-operator-", suffix=".log")
    try:
        with os.fdopen(fd, "wb") as log, _spawn(env, port, log, standalone, args) as process:
            running = OperatorProcess(process, Path(log_path))
            _wait_live(process, port, running.log_path)
            yield running
        check_log(Path(log_path).read_text(errors="replace"))
    finally:
        os.unlink(log_path)


@contextmanager
def _spawn(
    env: dict[str, str], port: int, log: IO[bytes], standalone: bool, args: Sequence[str]
) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-X",
            "faulthandler",  # SIGABRT dumps every thread's stack: see why a shutdown hangs
            "-m",
            "scim_operator.main",
            *(["--standalone"] if standalone else []),
            "--liveness",
            f"http://127.0.0.1:{port}/healthz",
            *args,
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
                process.wait(SHUTDOWN_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                raise AssertionError(
                    f"the operator did not exit within {SHUTDOWN_SECONDS} s of SIGTERM"
                ) from None


def _wait_live(process: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
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
