"""Prometheus metrics, correct across gunicorn workers.

When ``PROMETHEUS_MULTIPROC_DIR`` is set (``kubescim serve`` sets it before the
workers start), each worker writes its samples to files there and ``/metrics``
aggregates all of them; otherwise the process-local registry is served.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter(
    "kubescim_http_requests_total",
    "SCIM HTTP requests",
    ["directory", "method", "status"],
)
LATENCY = Histogram(
    "kubescim_http_request_duration_seconds",
    "SCIM HTTP request latency",
    ["directory", "method", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)

# The token registry (scim_server.tokens.kubernetes). Every gunicorn worker runs its own watches,
# so gauges take the worst live worker, and the counter adds up what each worker saw.
TOKEN_REJECTIONS = Counter(
    "kubescim_token_secrets_rejected_total",
    "Secrets claiming a directory id whose token was refused, once per Secret version and reason "
    "(counted by every server process)",
    ["reason"],
)
TOKEN_REJECTED_SECRETS = Gauge(
    "kubescim_token_rejected_secrets",
    "Secrets that currently claim a directory id and are refused",
    ["reason"],
    multiprocess_mode="livemax",
)
TOKEN_WATCH_STALENESS = Gauge(
    "kubescim_token_watch_staleness_seconds",
    "Seconds since the token registry last heard from the Kubernetes API server on both watches",
    multiprocess_mode="livemax",
)


_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def observe(directory: str, method: str, status: int, seconds: float) -> None:
    """Count one request; the labelled children are cached (``labels()`` costs a lock)."""
    key = (directory, method, status)
    child = _children.get(key)
    if child is None:
        labels = (directory, method, str(status))
        child = _children[key] = (REQUESTS.labels(*labels), LATENCY.labels(*labels))
    child[0].inc()
    child[1].observe(seconds)


def render() -> tuple[bytes, str]:
    """The exposition text for ``/metrics`` and its content type."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
