"""Request parsing and SCIM responses for Flask."""

from __future__ import annotations

import json
from typing import Any

from flask import Request, Response

from ..scim.errors import InvalidSyntax, PayloadTooLarge, ScimError, UnsupportedMediaType
from ..scim.limits import parse_json

SCIM_JSON = "application/scim+json"
_ACCEPTED = frozenset({"application/scim+json", "application/json"})


def scim_response(
    status: int, body: dict[str, Any] | None, headers: dict[str, str] | None = None
) -> Response:
    data = b"" if body is None else _encode(body)
    response = Response(data, status=status, content_type=SCIM_JSON if body is not None else None)
    if headers:
        response.headers.update(headers)
    return response


def error_response(error: ScimError, headers: dict[str, str] | None = None) -> Response:
    return scim_response(error.status, error.to_body(), headers)


def _encode(body: dict[str, Any]) -> bytes:
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    try:
        return text.encode()
    except UnicodeEncodeError:
        # Only text that bypassed the input policy can get here; escaped, it is still JSON.
        return json.dumps(body, separators=(",", ":")).encode()


def read_body(request: Request, max_bytes: int) -> bytes:
    """The request body, read up to ``max_bytes``. Raises PayloadTooLarge beyond that.

    The limit is enforced on the bytes actually received, so a chunked body (no
    Content-Length) over the limit is refused like any other, never cut short.
    """
    length = request.content_length
    if length is not None:
        if length > max_bytes:
            raise PayloadTooLarge(f"request body exceeds {max_bytes} bytes")
        stream = request.stream
    elif request.environ.get("wsgi.input_terminated"):
        # The server de-chunks and ends the stream; werkzeug's own wrapper would stop
        # silently at the limit, so read the server's stream and count.
        stream = request.environ["wsgi.input"]
    else:
        return b""
    chunks: list[bytes] = []
    received = 0
    while True:
        chunk = stream.read(min(65536, max_bytes + 1 - received))
        if not chunk:
            break
        chunks.append(chunk)
        received += len(chunk)
        if received > max_bytes:
            raise PayloadTooLarge(f"request body exceeds {max_bytes} bytes")
    return b"".join(chunks)


def json_body(request: Request, max_bytes: int) -> Any:
    """The request's JSON body, under the input policy (``scim.limits``).

    Raises UnsupportedMediaType, PayloadTooLarge, InvalidSyntax, InvalidValue.
    """
    mimetype = request.mimetype
    if mimetype not in _ACCEPTED:
        got = mimetype or "no Content-Type"
        raise UnsupportedMediaType(f"send application/scim+json or application/json, not {got}")
    data = read_body(request, max_bytes)
    if not data.strip():
        raise InvalidSyntax("the request body is empty")
    return parse_json(data)
