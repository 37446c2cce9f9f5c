"""Request parsing and SCIM responses for Flask."""

from __future__ import annotations

import json
from typing import Any

from flask import Request, Response

from ..scim.errors import InvalidSyntax, PayloadTooLarge, ScimError, UnsupportedMediaType

SCIM_JSON = "application/scim+json"
_ACCEPTED = frozenset({"application/scim+json", "application/json"})


def scim_response(
    status: int, body: dict[str, Any] | None, headers: dict[str, str] | None = None
) -> Response:
    data = b"" if body is None else json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    response = Response(data, status=status, content_type=SCIM_JSON if body is not None else None)
    if headers:
        response.headers.update(headers)
    return response


def error_response(error: ScimError, headers: dict[str, str] | None = None) -> Response:
    return scim_response(error.status, error.to_body(), headers)


def json_body(request: Request, max_bytes: int) -> Any:
    """The request's JSON body. Raises UnsupportedMediaType, PayloadTooLarge, InvalidSyntax."""
    mimetype = request.mimetype
    if mimetype not in _ACCEPTED:
        got = mimetype or "no Content-Type"
        raise UnsupportedMediaType(f"send application/scim+json or application/json, not {got}")
    length = request.content_length
    if length is not None and length > max_bytes:
        raise PayloadTooLarge(f"request body exceeds {max_bytes} bytes")
    data = request.stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"request body exceeds {max_bytes} bytes")
    if not data.strip():
        raise InvalidSyntax("the request body is empty")
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidSyntax(f"the request body is not valid JSON: {exc}") from None
