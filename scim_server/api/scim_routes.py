"""The SCIM endpoints of one directory: ``/scim/v2/<directory>/...``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, g, request

from ..crd.spec import DIRECTORY_ID
from ..scim.errors import Forbidden, NotFound, ServiceUnavailable, Unauthorized
from ..scim.listing import list_response
from ..scim.query import search_params
from ..scim.schemas import all_schemas, resource_types
from ..storage import Kind
from ..tokens.credentials import bearer_token
from . import discovery, handlers
from .bulk import process_bulk
from .handlers import Context, Result
from .http import error_response, json_body, scim_response
from .state import server_state

bp = Blueprint("scim", __name__, url_prefix="/scim/v2/<directory>")


@bp.url_value_preprocessor
def _pull_directory(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    g.directory = (values or {}).pop("directory", "")


@bp.before_request
def _authenticate() -> Response | None:
    """401 without a valid token, 403 when the directory refuses it, 503 when the registry
    cannot tell (not 401: identity providers take 401 for a bad credential)."""
    directory = g.directory
    token = bearer_token(request.headers.get("Authorization"))
    if token is None:
        raise Unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
    tokens = server_state().tokens
    try:
        valid = DIRECTORY_ID.match(directory) is not None and tokens.verify(directory, token)
    except ServiceUnavailable as error:
        return error_response(error, error.headers)
    if not valid:
        raise Unauthorized("invalid bearer token for this directory")
    refusal = tokens.refusal(directory)
    if refusal is not None:
        raise Forbidden(refusal)
    return None


def _context() -> Context:
    state = server_state()
    settings = state.settings
    if settings.public_url:
        root = settings.public_url.rstrip("/")
    else:
        root = f"{request.scheme}://{request.host}{request.script_root}"
    return Context(state.storage, g.directory, f"{root}/scim/v2/{g.directory}", settings)


def _respond(result: Result) -> Response:
    return scim_response(result.status, result.body, result.headers)


def _params() -> dict[str, Any]:
    return request.args.to_dict()


def _body() -> Any:
    return json_body(request, server_state().settings.max_body_bytes)


def _register(kind: Kind, endpoint: str) -> None:
    def list_or_create() -> Response:
        if request.method == "GET":
            return _respond(handlers.list_resources(_context(), kind, _params()))
        return _respond(handlers.create_resource(_context(), kind, _body(), _params()))

    def search() -> Response:
        return _respond(handlers.list_resources(_context(), kind, search_params(_body())))

    def one(id: str) -> Response:
        ctx = _context()
        method = request.method
        if method == "GET":
            return _respond(
                handlers.get_resource(ctx, kind, id, _params(), request.headers.get("If-None-Match"))
            )
        if_match = request.headers.get("If-Match")
        if method == "DELETE":
            return _respond(handlers.delete_resource(ctx, kind, id, if_match))
        if method == "PUT":
            return _respond(handlers.replace_resource(ctx, kind, id, _body(), _params(), if_match))
        return _respond(handlers.patch_resource(ctx, kind, id, _body(), _params(), if_match))

    bp.add_url_rule(f"/{endpoint}", f"{kind}_collection", list_or_create, methods=["GET", "POST"])
    bp.add_url_rule(f"/{endpoint}/.search", f"{kind}_search", search, methods=["POST"])
    bp.add_url_rule(f"/{endpoint}/<id>", f"{kind}_one", one, methods=["GET", "PUT", "PATCH", "DELETE"])


_register("User", "Users")
_register("Group", "Groups")


@bp.route("/.search", methods=["POST"])
def search_root() -> Response:
    return _respond(handlers.search_all(_context(), search_params(_body())))


@bp.route("/", methods=["GET"])
def list_root() -> Response:
    return _respond(handlers.search_all(_context(), _params()))


@bp.route("/Bulk", methods=["POST"])
def bulk() -> Response:
    status, body = process_bulk(_context(), _body())
    return scim_response(status, body)


@bp.route("/ServiceProviderConfig", methods=["GET"])
def service_provider_config() -> Response:
    ctx = _context()
    return scim_response(200, discovery.service_provider_config(ctx.settings, ctx.base_url))


@bp.route("/ResourceTypes", methods=["GET"])
def list_resource_types() -> Response:
    base = _context().base_url
    return scim_response(
        200, list_response([discovery.resource_type_doc(rt, base) for rt in resource_types()])
    )


@bp.route("/ResourceTypes/<name>", methods=["GET"])
def get_resource_type(name: str) -> Response:
    rt = discovery.find_resource_type(name)
    if rt is None:
        raise NotFound(f"no resource type {name!r}")
    return scim_response(200, discovery.resource_type_doc(rt, _context().base_url))


@bp.route("/Schemas", methods=["GET"])
def list_schemas() -> Response:
    base = _context().base_url
    return scim_response(200, list_response([discovery.schema_doc(s, base) for s in all_schemas()]))


@bp.route("/Schemas/<path:urn>", methods=["GET"])
def get_schema(urn: str) -> Response:
    schema = discovery.find_schema(urn)
    if schema is None:
        raise NotFound(f"no schema {urn!r}")
    return scim_response(200, discovery.schema_doc(schema, _context().base_url))


__all__ = ["bp", "current_app"]
