"""The directory API's OpenAPI 3.1 document, generated from its pydantic models.

Response schemas come from ``v1_models`` (the same models every response is checked
against), parameters from the constants ``v1_params`` validates with, so the document
and the server cannot drift apart.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .. import __version__
from ..events.model import EVENT_TYPES
from . import v1_models as m

_MODELS: list[type[BaseModel]] = [
    m.Directory,
    m.DirectoryList,
    m.DirectoryUser,
    m.UserList,
    m.DirectoryGroup,
    m.GroupList,
    m.Event,
    m.EventList,
    m.Error,
]


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _id_schema() -> dict[str, Any]:
    return {"type": "string", "pattern": m.ID_PATTERN}


def _query(name: str, description: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
        **extra,
    }


_PAGE = [
    _query(
        "limit",
        "objects per page",
        {"type": "integer", "minimum": 1, "maximum": m.MAX_LIMIT, "default": m.DEFAULT_LIMIT},
    ),
    _query("before", "an object id: the page before it", _id_schema()),
    _query("after", "an object id: the page after it", _id_schema()),
    _query(
        "order",
        "creation order (a group's users, a user's groups: by id)",
        {"type": "string", "enum": ["asc", "desc"], "default": "desc"},
    ),
]
_PATH_ID = {"name": "id", "in": "path", "required": True, "schema": _id_schema()}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(m.Error)}}}


def _get(
    summary: str, model: type[BaseModel], parameters: list[dict[str, Any]], *codes: int
) -> dict[str, Any]:
    responses: dict[str, Any] = {
        "200": {"description": summary, "content": {"application/json": {"schema": _ref(model)}}},
        "401": _error("missing or invalid API key"),
    }
    meanings = {
        400: "invalid parameters",
        404: "no such object in this organization",
        410: "the events after this cursor are no longer kept (ConfigMap storage's bounded log): "
        "re-read the directory, then list events without after",
        503: "keys cannot be checked now",
    }
    for code in (*codes, 503):
        responses[str(code)] = _error(meanings[code])
    return {"get": {"summary": summary, "parameters": parameters, "responses": responses}}


def _related_list(what: str, by: str, model: type[BaseModel]) -> dict[str, Any]:
    """A list of a directory's objects, or of the objects related to one ``by``."""
    parameters = [
        _query("directory", "a directory id", _id_schema()),
        _query(by, f"a {by} id", _id_schema()),
        *_PAGE,
    ]
    summary = f"{what} of a directory, or of a {by} (give exactly one of directory and {by})"
    return _get(summary, model, parameters, 400, 404)


def _paths() -> dict[str, Any]:
    return {
        "/directories": _get("The organization's directories", m.DirectoryList, _PAGE, 400),
        "/directories/{id}": _get("One directory", m.Directory, [_PATH_ID], 404),
        "/directory_users": _related_list("Users", "group", m.UserList),
        "/directory_users/{id}": _get("One user", m.DirectoryUser, [_PATH_ID], 404),
        "/directory_groups": _related_list("Groups", "user", m.GroupList),
        "/directory_groups/{id}": _get("One group", m.DirectoryGroup, [_PATH_ID], 404),
        "/events": _get(
            "Change events, oldest first, in order within each directory",
            m.EventList,
            [
                _query(
                    "limit",
                    "events per page",
                    {"type": "integer", "minimum": 1, "maximum": m.MAX_LIMIT, "default": m.DEFAULT_LIMIT},
                ),
                _query(
                    "after",
                    "the list_metadata.after of the previous page",
                    {"type": "string", "pattern": m.EVENTS_CURSOR_PATTERN},
                ),
                _query(
                    "events",
                    "only these event types",
                    {"type": "array", "items": {"type": "string", "enum": list(EVENT_TYPES)}},
                    style="form",
                    explode=True,
                ),
                _query("directory_id", "only this directory's events", _id_schema()),
            ],
            400,
            404,
            410,
        ),
    }


@cache
def document() -> dict[str, Any]:
    """The OpenAPI document served at ``/api/v1/openapi.json``."""
    _, definitions = models_json_schema(
        [(model, "serialization") for model in _MODELS], ref_template="#/components/schemas/{model}"
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "kubescim directory API",
            "version": __version__,
            "description": (
                "Normalized users and groups of an organization's SCIM directories, and their change events."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"apiKey": []}],
        "components": {
            "schemas": definitions.get("$defs", {}),
            "securitySchemes": {
                "apiKey": {"type": "http", "scheme": "bearer", "description": "an organization's API key"}
            },
        },
        "paths": _paths(),
    }
