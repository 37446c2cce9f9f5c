"""The directory API (``/api/v1``): what the application reads, with an organization's API key.

Every object is looked up within the directories of the key's organization; anything
else answers 404, exactly as an id that does not exist.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from pydantic import BaseModel
from werkzeug.exceptions import HTTPException

from ..events.objects import directory_group, directory_user, event_object
from ..scim.errors import ScimError, ServiceUnavailable
from ..storage import Kind
from ..storage.events import EventsExpired
from ..storage.reads import Keyset, keyset_slice
from ..storage.rows import iso
from ..tokens.credentials import bearer_token
from ..tokens.organizations import Organization
from . import v1_models as m
from . import v1_params as p
from .openapi import document
from .state import server_state

bp = Blueprint("api_v1", __name__, url_prefix="/api/v1")
log = logging.getLogger("kubescim.http")


class ApiError(Exception):
    """An error answered as ``{"code", "message"}`` with ``status``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")


@bp.errorhandler(ApiError)
def _api_error(error: ApiError) -> Response:
    response = jsonify({"code": error.code, "message": error.message})
    response.status_code = error.status
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="kubescim-api"'
    return response


@bp.errorhandler(p.BadParameter)
def _bad_parameter(error: p.BadParameter) -> Response:
    return _api_error(ApiError(400, "invalid_request", str(error)))


@bp.errorhandler(ScimError)
def _scim_error(error: ScimError) -> Response:
    return _api_error(ApiError(error.status, "unavailable" if error.status == 503 else "error", str(error)))


@bp.errorhandler(Exception)
def _unexpected(error: Exception) -> Response:
    if isinstance(error, HTTPException):  # (Flask prefers this handler to the app's for those too)
        return _api_error(ApiError(error.code or 500, "http_error", error.name))
    correlation = g.get("request_id") or os.urandom(12).hex()
    log.exception("unhandled error", extra={"request_id": correlation})
    return _api_error(ApiError(500, "internal_error", f"internal error; correlation id {correlation}"))


@bp.before_request
def _authenticate() -> None:
    if request.endpoint == "api_v1.openapi":
        return
    key = bearer_token(request.headers.get("Authorization"))
    if key is None:
        raise ApiError(401, "unauthorized", "missing API key: send 'Authorization: Bearer <key>'")
    try:
        org = server_state().organizations.authenticate(key)
    except ServiceUnavailable as error:
        raise ApiError(503, "unavailable", str(error)) from None
    if org is None:
        raise ApiError(401, "unauthorized", "invalid API key")
    g.organization = org


def _org() -> Organization:
    org: Organization = g.organization
    return org


def _ok(model: type[BaseModel], body: dict[str, Any]) -> Response:
    """``body`` checked against its documented model, as JSON."""
    return jsonify(model.model_validate(body).model_dump(mode="json"))


def _directory(directory: str | None) -> str:
    if directory is None or not p.is_id(directory) or directory not in _org().directories:
        raise _not_found("directory")
    return directory


def _locate(kind: Kind, id: str | None) -> str:
    """The organization's directory holding ``id``; 404 when none does."""
    if id is None:
        raise _not_found(kind.lower())
    directory = server_state().storage.locate(kind, id)
    if directory is None or directory not in _org().directories:
        raise _not_found("user" if kind == "User" else "group")
    return str(directory)


def _user(directory: str, resource: dict[str, Any]) -> dict[str, Any]:
    orgs = server_state().organizations
    return directory_user(resource, directory, _org().id, orgs.policy(directory))


def _group(directory: str, resource: dict[str, Any]) -> dict[str, Any]:
    return directory_group(resource, directory, _org().id)


def _listing(items: list[dict[str, Any]], more: bool, keyset: Keyset) -> dict[str, Any]:
    first, last = (items[0]["id"], items[-1]["id"]) if items else (None, None)
    if keyset.before:
        before, after = (first if more else None), last
    else:
        before, after = (first if keyset.cursor else None), (last if more else None)
    return {"object": "list", "data": items, "list_metadata": {"before": before, "after": after}}


# -- directories -------------------------------------------------------------------------------


def _directory_object(directory: str) -> dict[str, Any]:
    state = server_state()
    stats = state.storage.stats(directory)
    return {
        "object": "directory",
        "id": directory,
        "organization_id": _org().id,
        "name": directory,
        "state": "inactive" if state.tokens.refusal(directory) else "active",
        "user_count": stats.users,
        "group_count": stats.groups,
        "last_sync_at": iso(stats.last_change) if stats.last_change else None,
    }


@bp.get("/directories")
def list_directories() -> Response:
    keyset = p.keyset(request.args)
    names = sorted(_org().directories)
    page, more = keyset_slice(names, names, keyset.cursor, keyset)
    return _ok(m.DirectoryList, _listing([_directory_object(n) for n in page], more, keyset))


@bp.get("/directories/<id>")
def get_directory(id: str) -> Response:
    return _ok(m.Directory, _directory_object(_directory(id)))


# -- users and groups --------------------------------------------------------------------------


def _list(
    kind: Kind, by: str, render: Callable[[str, dict[str, Any]], dict[str, Any]], model: type[BaseModel]
) -> Response:
    storage = server_state().storage
    keyset = p.keyset(request.args)
    directory_arg, related = p.object_id(request.args, "directory"), p.object_id(request.args, by)
    if (directory_arg is None) == (related is None):
        raise p.BadParameter(f"give exactly one of directory and {by}")
    if related is not None:
        related_kind: Kind = "Group" if kind == "User" else "User"
        directory = _locate(related_kind, related)
        read = storage.members_page if kind == "User" else storage.groups_of_page
        items, more = read(directory, related, keyset)
    else:
        directory = _directory(directory_arg)
        items, more = storage.page(directory, kind, keyset)
    return _ok(model, _listing([render(directory, r) for r in items], more, keyset))


@bp.get("/directory_users")
def list_users() -> Response:
    return _list("User", "group", _user, m.UserList)


@bp.get("/directory_users/<id>")
def get_user(id: str) -> Response:
    directory = _locate("User", id if p.is_id(id) else None)
    return _ok(m.DirectoryUser, _user(directory, server_state().storage.get(directory, "User", id)))


@bp.get("/directory_groups")
def list_groups() -> Response:
    return _list("Group", "user", _group, m.GroupList)


@bp.get("/directory_groups/<id>")
def get_group(id: str) -> Response:
    directory = _locate("Group", id if p.is_id(id) else None)
    resource = server_state().storage.get(directory, "Group", id, members=False)
    return _ok(m.DirectoryGroup, _group(directory, resource))


# -- events ------------------------------------------------------------------------------------


@bp.get("/events")
def list_events() -> Response:
    """Events of the organization's directories, oldest first, each directory in order."""
    query = p.event_query(request.args, request.args.getlist("events"))
    directories = [_directory(query.directory)] if query.directory else sorted(_org().directories)
    state = server_state()
    positions = dict(query.positions)
    try:
        streams = [
            state.storage.events(d, after=positions.get(d, 0), limit=query.limit, types=query.types or None)
            for d in directories
        ]
    except EventsExpired as error:
        raise ApiError(410, "events_expired", str(error)) from None
    # a merge keeps each directory's order, whatever the clocks said
    merged = heapq.merge(*streams, key=lambda e: (e.occurred_at, e.directory))
    page = list(itertools.islice(merged, query.limit))
    for event in page:
        positions[event.directory] = event.seq
    orgs = state.organizations
    data = [event_object(e, _org().id, orgs.policy(e.directory)) for e in page]
    cursor = p.encode_positions(positions) if positions else None
    return _ok(m.EventList, {"object": "list", "data": data, "list_metadata": {"after": cursor}})


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(document())
