"""Operational endpoints: liveness (no I/O), readiness (a cheap storage read), metrics."""

from __future__ import annotations

import logging

from flask import Blueprint, Response

from .. import metrics
from .state import server_state

bp = Blueprint("ops", __name__)
log = logging.getLogger("kubescim.ops")


@bp.route("/healthz", methods=["GET"])
def healthz() -> Response:
    return Response("ok\n", content_type="text/plain")


@bp.route("/readyz", methods=["GET"])
def readyz() -> Response:
    state = server_state()
    if not getattr(state.tokens, "synced", True):
        return Response("token registry not synced yet\n", status=503, content_type="text/plain")
    try:
        state.storage.ping()
    except Exception as exc:
        log.warning("storage not ready: %s", type(exc).__name__)
        return Response("storage unavailable\n", status=503, content_type="text/plain")
    return Response("ok\n", content_type="text/plain")


@bp.route("/metrics", methods=["GET"])
def metrics_endpoint() -> Response:
    body, content_type = metrics.render()
    return Response(body, content_type=content_type)
