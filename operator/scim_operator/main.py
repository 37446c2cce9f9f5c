"""``kubescim-operator``: run the operator; with several replicas, one reconciles (a Lease)."""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import logging
import signal
import socket
import sys
import threading
import uuid
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

import kopf
from kubernetes import client

from scim_server.crd.client import api_client
from scim_server.tokens.redaction import install_redaction

from . import constants as c
from .election import LeaderElector
from .handlers import build_settings, make_reconciler, register
from .settings import OperatorSettings

log = logging.getLogger("kubescim.operator")


class CliError(Exception):
    """A one-line error for stderr; exit code 1."""


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname or not parts.port:
        raise CliError(f"invalid --liveness {url!r}: expected http://HOST:PORT/PATH")
    return parts.hostname, parts.port


class _StandbyProbe(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"standby\n")

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _listen(url: str | None) -> ThreadingHTTPServer | None:
    """Bind the liveness address now: a standby answers probes, and a port already in use
    is a clear error before anything else starts."""
    if not url:
        return None
    host, port = _address(url)
    try:
        server = ThreadingHTTPServer((host, port), _StandbyProbe)
    except OSError as exc:
        raise CliError(f"cannot listen on {host}:{port} for --liveness: {exc.strerror}") from None
    threading.Thread(target=server.serve_forever, name="standby-probe", daemon=True).start()
    return server


def _close(server: ThreadingHTTPServer | None) -> None:
    if server is not None:
        server.shutdown()
        server.server_close()


def _identity() -> str:
    return f"{socket.gethostname()}-{uuid.uuid4().hex[:6]}"


class Stopper:
    """One way to stop, whatever asks: SIGTERM/SIGINT before kopf handles signals itself, a
    lost Lease, or kopf's own shutdown.

    kopf waits for its stop flag on a thread of the event loop's default executor, which
    the loop joins when it closes: the flag must be raised on every way out, so the
    cleanup handler raises it too. A signal that arrives before kopf has installed its own
    handlers (while waiting as a standby, or just after taking the Lease) stops the
    operator as soon as it starts, instead of killing the process with the Lease held.
    """

    def __init__(self) -> None:
        self.flag: concurrent.futures.Future[None] = concurrent.futures.Future()
        self.requested = threading.Event()

    def stop(self) -> None:
        self.requested.set()
        with contextlib.suppress(concurrent.futures.InvalidStateError):
            self.flag.set_result(None)

    def on_signals(self) -> None:
        """Until kopf replaces them, SIGTERM and SIGINT ask to stop."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._signalled)

    def _signalled(self, _signum: int, _frame: FrameType | None) -> None:
        self.stop()

    def cleanup(self, **_: Any) -> None:
        """kopf's cleanup handler: release the flag's waiter so the loop can close."""
        self.stop()


def run(args: argparse.Namespace, op: OperatorSettings, probe: ThreadingHTTPServer | None) -> int:
    """Run the operator: at once with ``--standalone``, else once it holds the Lease."""
    stopper = Stopper()
    stopper.on_signals()
    api = api_client(pool_size=op.max_workers + 8)
    registry = kopf.OperatorRegistry()
    register(registry, op)
    kopf.on.cleanup(registry=registry)(stopper.cleanup)

    def operate() -> None:
        _close(probe)
        kopf.run(
            registry=registry,
            settings=build_settings(op, args.namespace),
            memo=kopf.Memo(reconciler=make_reconciler(op, api)),
            standalone=True,
            clusterwide=not args.namespace,
            namespaces=args.namespace,
            liveness_endpoint=args.liveness or None,
            stop_flag=stopper.flag,
        )

    if args.standalone:
        operate()
        return 0
    elector = LeaderElector(client.CoordinationV1Api(api), op.lease(_identity()))
    if not elector.acquire(stopper.requested):
        _close(probe)
        return 0
    # The Lease is renewed until kopf has stopped reconciling (a shutdown can take seconds),
    # then released; a lost Lease stops kopf.
    lost, stopped = threading.Event(), threading.Event()
    keeper = threading.Thread(
        target=elector.keep, args=(stopped, lost, stopper.stop), name="lease", daemon=True
    )
    keeper.start()
    try:
        operate()
    finally:
        stopper.stop()
        stopped.set()
        keeper.join()
        if not lost.is_set():
            elector.release()
    return 1 if lost.is_set() else 0


def build_parser(op: OperatorSettings) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kubescim-operator",
        description="Reconcile kubescim Organizations and ScimDirectories. With several replicas, "
        f"the one holding the Lease {c.LEASE_NAME!r} reconciles; the others wait as standbys.",
    )
    parser.add_argument("--namespace", "-n", action="append", default=[], help="watch only these namespaces")
    parser.add_argument(
        "--standalone", action="store_true", help="no Lease: reconcile at once (single replica, development)"
    )
    parser.add_argument(
        "--liveness",
        default=op.liveness,
        help="liveness probe URL ('' to disable; default %(default)s; env KUBESCIM_OPERATOR_LIVENESS)",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="log every handler run")
    parser.add_argument("--log-format", choices=["plain", "full", "json"], default="full")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    op = OperatorSettings()
    args = build_parser(op).parse_args(argv)
    try:
        probe = _listen(args.liveness)  # first: a port in use is reported before anything starts
    except CliError as exc:
        print(f"kubescim-operator: {exc}", file=sys.stderr)
        return 1
    kopf.configure(verbose=args.verbose, log_format=kopf.LogFormat[args.log_format.upper()])
    install_redaction()
    return run(args, op, probe)


if __name__ == "__main__":
    sys.exit(main())
