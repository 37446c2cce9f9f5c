"""The few API calls the backend makes on ConfigMaps (or Secrets) of one namespace.

Bodies go and come as plain JSON (no generated models: a list of thousands of objects
is decoded once). Every write takes a token of the write-rate limit and honours a 429's
``Retry-After`` (bounded); conflicts come back as exceptions the store handles.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from ...crd.client import describe
from ...scim.errors import ServiceUnavailable
from .objects import Flavour
from .ratelimit import WriteLimiter

log = logging.getLogger("kubescim.storage.kube")

#: How often a write answered 429 is retried, and the longest ``Retry-After`` obeyed.
THROTTLE_RETRIES = 5
MAX_RETRY_AFTER = 10.0
REQUEST_TIMEOUT = (10.0, 30.0)


class AlreadyExists(Exception):
    """A create found the name taken."""


class Stale(Exception):
    """A write carried an outdated resourceVersion (or the object is gone)."""


class Refused(Exception):
    """RBAC does not grant the verb (403)."""


class Gone(Exception):
    """A watch's resourceVersion fell out of the API server's history: list again."""


def _retry_after(exc: ApiException) -> float:
    try:
        return min(MAX_RETRY_AFTER, float((exc.headers or {}).get("Retry-After", "1")))
    except ValueError:
        return 1.0


def _json(resp: Any) -> Any:
    """A raw response's JSON body; the connection goes back to the pool fully read."""
    try:
        data = resp.data
    finally:
        resp.release_conn()
    return json.loads(data) if data else {}


def unavailable(exc: BaseException) -> ServiceUnavailable:
    """The SCIM error for an API server that cannot take the request now (no object data)."""
    return ServiceUnavailable(f"the Kubernetes API did not complete the request ({describe(exc)})", 5)


class ObjectApi:
    """ConfigMaps or Secrets of ``namespace`` (raw JSON in and out)."""

    def __init__(
        self, api: client.ApiClient, namespace: str, flavour: Flavour, limiter: WriteLimiter
    ) -> None:
        self.api, self.namespace, self.flavour, self.limiter = api, namespace, flavour, limiter
        self.streaming: Any = None  # the watch response being read, if any
        core = client.CoreV1Api(api)
        suffix = "config_map" if flavour == "ConfigMap" else "secret"
        self._list = getattr(core, f"list_namespaced_{suffix}")
        self._read = getattr(core, f"read_namespaced_{suffix}")
        self._create = getattr(core, f"create_namespaced_{suffix}")
        self._replace = getattr(core, f"replace_namespaced_{suffix}")
        self._patch = getattr(core, f"patch_namespaced_{suffix}")
        self._delete = getattr(core, f"delete_namespaced_{suffix}")
        self._delete_collection = getattr(core, f"delete_collection_namespaced_{suffix}")

    # -- reads ----------------------------------------------------------------------------
    def list_page(
        self, selector: str, limit: int, token: str | None
    ) -> tuple[list[dict[str, Any]], str, str]:
        """One page of a list: its items, the list's resourceVersion and the continue token."""
        kwargs: dict[str, Any] = {"label_selector": selector, "limit": limit}
        if token:
            kwargs["_continue"] = token
        resp = self._list(self.namespace, _preload_content=False, _request_timeout=REQUEST_TIMEOUT, **kwargs)
        body = _json(resp)
        meta = body.get("metadata") or {}
        return body.get("items") or [], meta.get("resourceVersion", ""), meta.get("continue") or ""

    def list_all(self, selector: str, limit: int = 500) -> tuple[list[dict[str, Any]], str]:
        """Every object ``selector`` matches, following ``continue``; and the list's version."""
        items: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page, version, token = self.list_page(selector, limit, token)
            items.extend(page)
            if not token:
                return items, version

    def watch(self, selector: str, version: str, timeout_s: int) -> Iterator[dict[str, Any]]:
        """Events after ``version`` (bookmarks included) until the server ends the watch.

        Raises Gone when ``version`` is too old.
        """
        resp = self._list(
            self.namespace,
            label_selector=selector,
            watch=True,
            resource_version=version,
            allow_watch_bookmarks=True,
            timeout_seconds=timeout_s,
            _preload_content=False,
            _request_timeout=(REQUEST_TIMEOUT[0], timeout_s * 1.5),
        )
        self.streaming = resp
        try:
            buffer = b""
            for chunk in resp.stream(65536, decode_content=False):
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    if line.strip():
                        event = json.loads(line)
                        if event.get("type") == "ERROR":
                            status = event.get("object") or {}
                            if status.get("code") == 410:
                                raise Gone()
                            raise ApiException(status=status.get("code") or 500, reason=status.get("reason"))
                        yield event
        finally:
            self.streaming = None
            resp.release_conn()

    def interrupt(self) -> None:
        """End the watch being read (from another thread), so its reader returns at once."""
        stream = self.streaming
        if stream is not None:
            with contextlib.suppress(OSError):  # the watch closed its socket meanwhile
                stream.shutdown()

    def get(self, name: str) -> dict[str, Any] | None:
        try:
            resp = self._read(name, self.namespace, _preload_content=False, _request_timeout=REQUEST_TIMEOUT)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise unavailable(exc) from None
        result: dict[str, Any] = _json(resp)
        return result

    # -- writes ---------------------------------------------------------------------------
    def _write(
        self, call: Callable[[], Any], conflict: type[Exception], *, refusable: bool = False
    ) -> dict[str, Any]:
        for attempt in range(THROTTLE_RETRIES + 1):
            self.limiter.acquire()
            try:
                resp = call()
            except ApiException as exc:
                if exc.status == 429 and attempt < THROTTLE_RETRIES:
                    time.sleep(_retry_after(exc))
                    continue
                if exc.status == 409:
                    raise conflict() from None
                if exc.status == 404:
                    raise Stale() from None
                if exc.status == 403 and refusable:
                    raise Refused() from None
                if exc.status == 422:
                    raise ServiceUnavailable(
                        f"the API server refused the object ({describe(exc)})", 5
                    ) from None
                raise unavailable(exc) from None
            except OSError as exc:
                raise unavailable(exc) from None
            result: dict[str, Any] = _json(resp)
            return result
        raise AssertionError("unreachable")

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create an object. Raises AlreadyExists."""
        return self._write(
            lambda: self._create(
                self.namespace, body, _preload_content=False, _request_timeout=REQUEST_TIMEOUT
            ),
            AlreadyExists,
        )

    def replace(self, body: dict[str, Any]) -> dict[str, Any]:
        """Replace an object if its resourceVersion is still the one in ``body``. Raises Stale."""
        name = body["metadata"]["name"]
        return self._write(
            lambda: self._replace(
                name, self.namespace, body, _preload_content=False, _request_timeout=REQUEST_TIMEOUT
            ),
            Stale,
        )

    def merge_patch(self, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        """A JSON merge patch (for a claim's ownerReferences). Raises Stale when gone."""
        return self._write(
            lambda: self._patch(
                name,
                self.namespace,
                patch,
                _preload_content=False,
                _request_timeout=REQUEST_TIMEOUT,
                _content_type="application/merge-patch+json",
            ),
            Stale,
        )

    def delete(self, name: str, *, resource_version: str | None = None, uid: str | None = None) -> bool:
        """Delete an object, if still at ``resource_version`` / ``uid``. Returns False when
        it was already gone. Raises Stale when the precondition fails."""
        preconditions: dict[str, str] = {}
        if resource_version:
            preconditions["resourceVersion"] = resource_version
        if uid:
            preconditions["uid"] = uid
        body = {"preconditions": preconditions} if preconditions else {}
        try:
            self._write(
                lambda: self._delete(
                    name, self.namespace, body=body, _preload_content=False, _request_timeout=REQUEST_TIMEOUT
                ),
                Stale,
            )
        except Stale:
            if self.get(name) is None:
                return False
            raise
        return True

    def delete_collection(self, selector: str) -> None:
        """Delete every object ``selector`` matches: one request where RBAC grants
        ``deletecollection``, else one per object."""
        try:
            self._delete_all(selector)
        except Refused:
            objects, _ = self.list_all(selector)
            for obj in objects:
                self.delete(obj["metadata"]["name"])

    def _delete_all(self, selector: str) -> None:
        self._write(
            lambda: self._delete_collection(
                self.namespace,
                label_selector=selector,
                _preload_content=False,
                _request_timeout=REQUEST_TIMEOUT,
            ),
            Stale,
            refusable=True,
        )
