"""Calling the Kubernetes API safely: responses always read, errors named without bodies.

The kubernetes client's ``_preload_content=False`` skips decoding a response we do not
need, but returns the raw urllib3 response: releasing it unread puts a connection with
leftover bytes back in the pool, and the next request on it reads them as its status
line (``BadStatusLine``), possibly a Secret. ``write`` always drains before releasing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kubernetes.client.exceptions import ApiException

from .timing import TIMINGS


class NamespaceTerminating(Exception):
    """The namespace is being deleted: nothing more can be created in it."""


def write(call: Callable[..., Any], *args: Any) -> None:
    """Send a create/replace/patch whose response body is not needed, and drain it.

    Raises ApiException for non-2xx answers; NamespaceTerminating for a namespace
    that is being deleted.
    """
    with TIMINGS.timed("api_write"):
        try:
            response = call(*args, _preload_content=False)
        except ApiException as exc:
            if terminating(exc):
                raise NamespaceTerminating(str(args[0]) if args else "") from None
            raise
        try:
            response.drain_conn()
        finally:
            response.release_conn()


def read(call: Callable[..., Any], *args: Any) -> Any | None:
    """The object ``call(*args)`` returns, or None when it does not exist (404)."""
    try:
        with TIMINGS.timed("api_read"):
            return call(*args)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def terminating(exc: ApiException) -> bool:
    """Whether ``exc`` is the API server refusing to create in a terminating namespace."""
    body = exc.body if isinstance(exc.body, str | bytes) else b""
    text = body.decode(errors="replace") if isinstance(body, bytes) else body
    return exc.status == 403 and "because it is being terminated" in text
