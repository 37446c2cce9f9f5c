"""The Flask application factory."""

from __future__ import annotations

import logging
import os
import re
import time
import uuid
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from . import logs, metrics
from .api.http import error_response
from .api.ops import bp as ops_bp
from .api.scim_routes import bp as scim_bp
from .api.state import EXTENSION, ServerState
from .api.v1 import bp as v1_bp
from .config import Settings
from .scim.errors import InternalError, MethodNotAllowed, NotFound, ScimError, ServiceUnavailable
from .storage import Backend, open_storage
from .tokens.factory import open_organization_registry, open_token_registry
from .tokens.organizations import OrganizationRegistry
from .tokens.registry import TokenRegistry

log = logging.getLogger("kubescim.http")
_WWW_AUTHENTICATE = 'Bearer realm="kubescim"'
_REQUEST_ID = re.compile(r"[\w.:/+=-]{1,64}\Z", re.ASCII)


class _CollapseSlashes:
    """``/scim/v2/acme//Users`` (a base URL pasted with a trailing slash) routes normally."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if "//" in path:
            while "//" in path:
                path = path.replace("//", "/")
            environ["PATH_INFO"] = path
        return self.app(environ, start_response)


def create_app(
    settings: Settings | None = None,
    *,
    storage: Backend | None = None,
    tokens: TokenRegistry | None = None,
    organizations: OrganizationRegistry | None = None,
) -> Flask:
    """Build the app. Storage and tokens default to what ``settings`` describe."""
    settings = settings or Settings()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    logs.configure(settings.log_format, settings.log_level)
    if storage is None:
        storage = open_storage(
            settings.effective_database_url,
            pool_size=settings.pool_size,
            write_rate=settings.storage_write_rate,
            event_buffer=settings.event_buffer,
            event_retention_days=settings.event_retention_days,
        )
    if tokens is None:
        tokens = open_token_registry(settings)
    if organizations is None:
        organizations = open_organization_registry(settings)
    app.extensions[EXTENSION] = ServerState(settings, storage, tokens, organizations)
    app.register_blueprint(scim_bp)
    app.register_blueprint(v1_bp)
    app.register_blueprint(ops_bp)
    _install_hooks(app, settings)
    wsgi: Any = _CollapseSlashes(app.wsgi_app)
    if settings.trust_forwarded:
        wsgi = ProxyFix(wsgi, x_for=1, x_proto=1, x_host=1, x_port=1, x_prefix=1)
    app.wsgi_app = wsgi  # type: ignore[method-assign]
    return app


def _install_hooks(app: Flask, settings: Settings) -> None:
    access_log = settings.access_log

    @app.before_request
    def _start() -> None:
        g.started = time.perf_counter()
        given = request.headers.get("X-Request-Id", "")
        # Echoed in a response header and in logs: only a plain token is kept.
        g.request_id = given if _REQUEST_ID.match(given) else os.urandom(12).hex()

    @app.after_request
    def _finish(response: Response) -> Response:
        directory = g.get("directory")
        response.headers["X-Request-Id"] = g.request_id
        if directory is None:
            return response
        elapsed = time.perf_counter() - g.started
        metrics.observe(directory, request.method, response.status_code, elapsed)
        if access_log:
            log.info(
                "request",
                extra={
                    "request_id": g.request_id,
                    "directory": directory,
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )
        return response

    @app.errorhandler(ScimError)
    def _scim_error(error: ScimError) -> Response:
        headers = {"WWW-Authenticate": _WWW_AUTHENTICATE} if error.status == 401 else None
        if isinstance(error, ServiceUnavailable):
            headers = error.headers  # 503 and 429 say when to retry
        return error_response(error, headers)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        code = error.code or 500
        if code == 404:
            return error_response(NotFound(f"no endpoint {request.path}"))
        if code == 405:
            allowed = sorted(getattr(error, "valid_methods", None) or ())
            detail = f"{request.method} is not allowed on {request.path}"
            if allowed:
                detail += f"; allowed: {', '.join(allowed)}"
            headers = {"Allow": ", ".join(allowed)} if allowed else None
            return error_response(MethodNotAllowed(detail), headers)
        if code == 413:
            from .scim.errors import PayloadTooLarge

            return error_response(PayloadTooLarge(f"request body exceeds {settings.max_body_bytes} bytes"))
        generic = ScimError(error.description or error.name)
        generic.status = code  # type: ignore[misc]
        return error_response(generic)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        correlation = g.get("request_id") or uuid.uuid4().hex
        log.exception("unhandled error", extra={"request_id": correlation, "directory": g.get("directory")})
        return error_response(InternalError(f"internal error; correlation id {correlation}"))
