"""Operational endpoints: liveness (no I/O), readiness (a cheap storage read), metrics."""

from __future__ import annotations

import logging

from flask import Blueprint, Response

from .. import metrics
from .state import ServerState, server_state

bp = Blueprint("ops", __name__)
log = logging.getLogger("kubescim.ops")


@bp.route("/healthz", methods=["GET"])
def healthz() -> Response:
    return Response("ok\n", content_type="text/plain")


def _token_readiness(state: ServerState) -> tuple[bool, str]:
    """Whether the token registry can serve, and one line about it (how fresh it is, for
    a registry that watches a source: see kube_tokens)."""
    readiness = getattr(state.tokens, "readiness", None)
    if readiness is None:
        return True, f"tokens: {state.settings.token_source}"
    ready, detail = readiness()
    return bool(ready), str(detail)


@bp.route("/readyz", methods=["GET"])
def readyz() -> Response:
    state = server_state()
    ready, tokens = _token_readiness(state)
    if not ready:
        return Response(f"{tokens}\n", status=503, content_type="text/plain")
    try:
        state.storage.ping()
    except Exception as exc:
        log.warning("storage not ready: %s", type(exc).__name__)
        return Response(f"storage unavailable\n{tokens}\n", status=503, content_type="text/plain")
    return Response(f"ok\n{tokens}\n", content_type="text/plain")


@bp.route("/metrics", methods=["GET"])
def metrics_endpoint() -> Response:
    body, content_type = metrics.render()
    return Response(body, content_type=content_type)
