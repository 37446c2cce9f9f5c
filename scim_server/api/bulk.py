"""``POST /Bulk`` (RFC 7644 section 3.7), with ``bulkId`` references.

Operations run in order through the same handlers as single requests; a value
``"bulkId:<id>"`` anywhere in a later operation's path or data is replaced by the id
the earlier POST created. Each operation's failure is reported in its own response
entry; ``failOnErrors`` stops processing after that many errors.
"""

from __future__ import annotations

from typing import Any

from ..scim.errors import InvalidSyntax, InvalidValue, NotFound, PayloadTooLarge, ScimError
from ..scim.schemas import BULK_REQUEST_SCHEMA, BULK_RESPONSE_SCHEMA
from ..storage import Kind
from . import handlers
from .handlers import Context, Result

_KINDS: dict[str, Kind] = {"users": "User", "groups": "Group"}


def _substitute(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str) and value.startswith("bulkId:"):
        ref = value.removeprefix("bulkId:")
        if ref not in ids:
            raise InvalidValue(f"unresolved bulkId reference {value!r}")
        return ids[ref]
    if isinstance(value, dict):
        return {k: _substitute(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, ids) for v in value]
    return value


def _run(ctx: Context, op: dict[str, Any], ids: dict[str, str]) -> tuple[Result, str | None]:
    method = str(op.get("method", "")).upper()
    path = _substitute(op.get("path"), {}) if not isinstance(op.get("path"), str) else op["path"]
    if not isinstance(path, str) or not path.startswith("/"):
        raise InvalidSyntax("each operation needs a 'path' such as /Users or /Users/{id}")
    parts = [_substitute(p, ids) for p in path.strip("/").split("/")]
    kind = _KINDS.get(parts[0].lower()) if parts else None
    if kind is None or len(parts) > 2:
        raise NotFound(f"no resource endpoint {path!r}")
    data = _substitute(op.get("data"), ids)
    version = op.get("version")
    if version is not None and not isinstance(version, str):
        raise InvalidSyntax("an operation's 'version' must be a string (an ETag)")
    if method == "POST" and len(parts) == 1:
        result = handlers.create_resource(ctx, kind, data, {})
        return result, result.body["id"] if result.body else None
    if len(parts) != 2 or method not in ("PUT", "PATCH", "DELETE"):
        raise InvalidSyntax(f"unsupported bulk operation {method} {path}")
    id_ = parts[1]
    if method == "PUT":
        return handlers.replace_resource(ctx, kind, id_, data, {}, version), id_
    if method == "PATCH":
        return handlers.patch_resource(ctx, kind, id_, data, {}, version), id_
    return handlers.delete_resource(ctx, kind, id_, version), id_


def process_bulk(ctx: Context, body: Any) -> tuple[int, dict[str, Any]]:
    """Run a BulkRequest; returns (HTTP status, BulkResponse). Raises for a malformed request."""
    if not isinstance(body, dict):
        raise InvalidSyntax("the request body must be a BulkRequest object")
    schemas = body.get("schemas")
    if schemas is not None and (not isinstance(schemas, list) or BULK_REQUEST_SCHEMA not in schemas):
        raise InvalidSyntax(f"'schemas' must be [{BULK_REQUEST_SCHEMA!r}]")
    operations = body.get("Operations")
    if not isinstance(operations, list):
        raise InvalidSyntax("'Operations' must be a list")
    if len(operations) > ctx.settings.max_bulk_operations:
        # RFC 7644 3.7.4: over maxOperations is 413, and the body names the limit.
        raise PayloadTooLarge(
            f"the bulk request has {len(operations)} operations, more than maxOperations "
            f"({ctx.settings.max_bulk_operations})"
        )
    fail_on_errors = body.get("failOnErrors")
    ids: dict[str, str] = {}
    errors = 0
    results: list[dict[str, Any]] = []
    for op in operations:
        if not isinstance(op, dict):
            raise InvalidSyntax("each bulk operation must be an object")
        bulk_id = op.get("bulkId")
        entry: dict[str, Any] = {"method": str(op.get("method", "")).upper()}
        if bulk_id is not None:
            entry["bulkId"] = bulk_id
        try:
            result, id_ = _run(ctx, op, ids)
        except ScimError as error:
            errors += 1
            entry["status"] = str(error.status)
            entry["response"] = error.to_body()
        else:
            entry["status"] = str(result.status)
            if result.body and "meta" in result.body:
                entry["location"] = result.body["meta"]["location"]
                entry["version"] = result.body["meta"]["version"]
            if bulk_id is not None and id_ is not None and entry["method"] == "POST":
                ids[str(bulk_id)] = id_
        results.append(entry)
        if isinstance(fail_on_errors, int) and fail_on_errors > 0 and errors >= fail_on_errors:
            break
    return 200, {"schemas": [BULK_RESPONSE_SCHEMA], "Operations": results}
