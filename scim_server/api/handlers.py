"""Resource operations, independent of Flask: the HTTP routes and Bulk both call these.

Each takes a ``Context`` (storage, directory, base URL) and returns a ``Result``
(status, body, headers). Storage returns resources without URLs; ``decorate`` adds
``meta.location`` and ``$ref`` for the URL the client used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..config import Settings
from ..scim.errors import BadRequest, InvalidFilter, InvalidValue, NotFound, ScimError
from ..scim.limits import is_possible_id
from ..scim.listing import list_response
from ..scim.patch import apply_operations, parse_operations, split_group_operations
from ..scim.projection import Projection, parse_projection, project
from ..scim.query import ListQuery, parse_list_query
from ..scim.resource import normalize, with_defaults
from ..scim.schemas import ResourceType, group_type, user_type
from ..storage import Kind, Storage

ENDPOINTS: dict[Kind, str] = {"User": "Users", "Group": "Groups"}


@dataclass(frozen=True, slots=True)
class Context:
    storage: Storage
    directory: str
    base_url: str
    settings: Settings


@dataclass(slots=True)
class Result:
    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


def resource_type(kind: Kind) -> ResourceType:
    return user_type() if kind == "User" else group_type()


def decorate(ctx: Context, kind: Kind, resource: dict[str, Any]) -> dict[str, Any]:
    """Add ``meta.location`` and ``$ref`` values for this request's base URL."""
    base = ctx.base_url
    resource["meta"]["location"] = f"{base}/{ENDPOINTS[kind]}/{resource['id']}"
    for member in resource.get("members") or ():
        member["$ref"] = f"{base}/{'Users' if member.get('type') == 'User' else 'Groups'}/{member['value']}"
    for group in resource.get("groups") or ():
        group["$ref"] = f"{base}/Groups/{group['value']}"
    return resource


def _single(
    ctx: Context, kind: Kind, resource: dict[str, Any], projection: Projection, status: int
) -> Result:
    decorate(ctx, kind, resource)
    headers = {"ETag": resource["meta"]["version"]}
    if status == 201:
        headers["Location"] = resource["meta"]["location"]
    return Result(status, project(resource_type(kind), resource, projection), headers)


def _projection(kind: Kind, params: Mapping[str, Any]) -> Projection:
    p = {k.lower(): v for k, v in params.items()}
    return parse_projection(resource_type(kind), p.get("attributes"), p.get("excludedattributes"))


def _check_id(kind: Kind, id: str) -> None:
    """Ids are short UUIDs: one that cannot exist is not looked up (PostgreSQL refuses NUL)."""
    if not is_possible_id(id):
        raise NotFound(f"{kind} not found: no resource has an id like that")


def get_resource(
    ctx: Context, kind: Kind, id: str, params: Mapping[str, Any], if_none_match: str | None = None
) -> Result:
    _check_id(kind, id)
    projection = _projection(kind, params)
    members = kind == "Group" and projection.wants(None, "members")
    resource = ctx.storage.get(ctx.directory, kind, id, members=members or kind == "User")
    version = resource["meta"]["version"]
    if if_none_match is not None and (if_none_match.strip() == "*" or version in if_none_match):
        return Result(304, None, {"ETag": version})
    return _single(ctx, kind, resource, projection, 200)


def list_resources(ctx: Context, kind: Kind, params: Mapping[str, Any]) -> Result:
    query = parse_list_query(
        resource_type(kind),
        params,
        default_count=ctx.settings.default_page_size,
        max_count=ctx.settings.max_page_size,
    )
    page = ctx.storage.query(ctx.directory, kind, query)
    rt = resource_type(kind)
    resources = [project(rt, decorate(ctx, kind, r), query.projection) for r in page.resources]
    return Result(200, list_response(resources, total=page.total, start_index=query.start_index))


def search_all(ctx: Context, params: Mapping[str, Any]) -> Result:
    """A query against the server root: Users then Groups, paged as one list.

    RFC 7644 3.4.2.1: a filter naming an attribute only one type has matches nothing
    of the other; it is an error only when no type knows it.
    """
    limits = {"default_count": ctx.settings.default_page_size, "max_count": ctx.settings.max_page_size}
    queries: dict[Kind, ListQuery] = {}
    errors: list[ScimError] = []
    for kind in ENDPOINTS:
        try:
            queries[kind] = parse_list_query(resource_type(kind), params, **limits)
            if queries[kind].filter is not None:
                ctx.storage.query(ctx.directory, kind, replace(queries[kind], count=0))
        except (InvalidFilter, InvalidValue) as error:
            queries.pop(kind, None)
            errors.append(error)
    if not queries:
        raise errors[0]
    first = next(iter(queries.values()))
    start, wanted = first.start_index, first.count
    total, resources = 0, list[dict[str, Any]]()
    for kind, query in queries.items():
        offset = max(1, start - total)
        page = ctx.storage.query(
            ctx.directory, kind, replace(query, start_index=offset, count=max(0, wanted - len(resources)))
        )
        rt = resource_type(kind)
        resources += [project(rt, decorate(ctx, kind, r), query.projection) for r in page.resources]
        total += page.total
    return Result(200, list_response(resources, total=total, start_index=start))


def create_resource(ctx: Context, kind: Kind, body: Any, params: Mapping[str, Any]) -> Result:
    rt = resource_type(kind)
    doc = with_defaults(rt, normalize(rt, body))
    if kind == "Group":
        doc = _with_members(body, doc)
    resource = ctx.storage.create(ctx.directory, kind, doc)
    return _single(ctx, kind, resource, _projection(kind, params), 201)


def replace_resource(
    ctx: Context, kind: Kind, id: str, body: Any, params: Mapping[str, Any], if_match: str | None
) -> Result:
    _check_id(kind, id)
    rt = resource_type(kind)
    doc = with_defaults(rt, normalize(rt, body))
    if kind == "Group":
        doc = _with_members(body, doc)
    resource = ctx.storage.replace(ctx.directory, kind, id, doc, if_match=if_match)
    return _single(ctx, kind, resource, _projection(kind, params), 200)


def patch_resource(
    ctx: Context, kind: Kind, id: str, body: Any, params: Mapping[str, Any], if_match: str | None
) -> Result:
    """PATCH: Users answer 200 with the resource; Groups 204 unless attributes are asked for."""
    _check_id(kind, id)
    rt = resource_type(kind)
    ops = parse_operations(body, ctx.settings.max_patch_operations)
    if kind == "User":
        resource = ctx.storage.patch(
            ctx.directory,
            kind,
            id,
            lambda doc: apply_operations(rt, doc, ops),
            [],
            if_match=if_match,
            members=True,
        )
        return _single(ctx, kind, resource, _projection(kind, params), 200)
    attr_ops, changes = split_group_operations(rt, ops)
    mutate = (lambda doc: apply_operations(rt, doc, attr_ops)) if attr_ops else None
    wants_body = any(k.lower() in ("attributes", "excludedattributes") for k in params)
    projection = _projection(kind, params)
    resource = ctx.storage.patch(
        ctx.directory,
        kind,
        id,
        mutate,
        changes,
        if_match=if_match,
        members=wants_body and projection.wants(None, "members"),
    )
    if not wants_body:
        return Result(204, None, {"ETag": resource["meta"]["version"]})
    return _single(ctx, kind, resource, projection, 200)


def delete_resource(ctx: Context, kind: Kind, id: str, if_match: str | None) -> Result:
    _check_id(kind, id)
    ctx.storage.delete(ctx.directory, kind, id, if_match=if_match)
    return Result(204)


def _with_members(body: Any, doc: dict[str, Any]) -> dict[str, Any]:
    """Members of a POST/PUT Group body, validated (each needs a string ``value``)."""
    raw = next((v for k, v in body.items() if k.lower() == "members"), None)
    if raw is None:
        return doc
    if not isinstance(raw, list):
        raise BadRequest("'members' must be a list")
    members = []
    for item in raw:
        value = item.get("value") if isinstance(item, dict) else item
        if not isinstance(value, str) or not value:
            raise InvalidValue("each member needs a string 'value' (the member's id)")
        members.append({"value": value})
    return {**doc, "members": members}


__all__ = [
    "Context",
    "Result",
    "create_resource",
    "delete_resource",
    "get_resource",
    "list_resources",
    "patch_resource",
    "replace_resource",
    "search_all",
]
