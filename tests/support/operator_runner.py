"""Run the real operator (kopf, production handlers and settings) in a background thread.

Only the timing differs from production: a short resync interval and backoff, so tests
see drift corrections and stats refreshes in seconds.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import kopf
from kubernetes import client

from scim_operator.handlers import Reconciler, build_settings, register
from scim_operator.settings import OperatorSettings
from scim_server.storage import Storage


@contextmanager
def running_operator(
    api: client.ApiClient, storage: Storage | None, *, resync_seconds: float = 2.0
) -> Iterator[Reconciler]:
    """Start the operator; yield its reconciler; stop it and wait for it to exit."""
    op = OperatorSettings(
        resync_seconds=resync_seconds,
        backoff_seconds=1.0,
        default_host="scim.test.example",
        server_namespace="kubescim-system",
    )
    registry = kopf.OperatorRegistry()
    register(registry, op)
    from scim_operator.directory import Clients

    reconciler = Reconciler(Clients(api), op.route(), storage)
    settings = build_settings(op)
    settings.watching.server_timeout = 30
    stop, ready = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            kopf.run(
                registry=registry,
                settings=settings,
                memo=kopf.Memo(reconciler=reconciler),
                standalone=True,
                clusterwide=True,
                stop_flag=stop,
                ready_flag=ready,
            )
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, name="kubescim-operator", daemon=True)
    thread.start()
    if not ready.wait(30):
        stop.set()
        raise RuntimeError(f"operator did not start: {errors!r}")
    try:
        yield reconciler
    finally:
        stop.set()
        thread.join(30)
