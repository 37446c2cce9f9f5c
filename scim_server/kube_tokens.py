"""The Kubernetes token registry: bearer tokens read from the operator's Secrets.

A background thread lists, then watches, Secrets labelled by the operator (see
``secret_format``) and keeps, per directory id, the SHA-256 of the current token, the
rotated-out token's hash until its grace period ends, and whether the directory is
suspended. Requests never wait for the API server. On a watch error the thread
re-lists with backoff, so a missed event cannot leave a revoked token valid for long.
"""

from __future__ import annotations

import base64
import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException

from . import secret_format as fmt
from .auth import _Entry, _matches, token_hash

log = logging.getLogger("kubescim.tokens")


def api_client() -> client.ApiClient:
    """A client from the in-cluster service account, else from ``$KUBECONFIG``."""
    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()
    return client.ApiClient()


@dataclass(frozen=True, slots=True)
class _Directory:
    entries: list[_Entry]
    suspended: bool


def _decode(data: dict[str, str] | None, key: str) -> str | None:
    value = (data or {}).get(key)
    return base64.b64decode(value).decode() if value else None


def directory_from_secret(secret: Any) -> tuple[str, _Directory] | None:
    """Read one token Secret (a client model); None when it is not a usable token Secret."""
    meta = secret.metadata
    dir_id = (meta.labels or {}).get(fmt.LABEL_DIRECTORY_ID)
    token = _decode(secret.data, fmt.TOKEN_KEY)
    if not dir_id or not token:
        return None
    entries = [_Entry(token_hash(token), "", None)]
    previous = _decode(secret.data, fmt.PREVIOUS_SHA256_KEY)
    expires = _decode(secret.data, fmt.PREVIOUS_EXPIRES_KEY)
    if previous and expires:
        entries.append(_Entry(previous, "", expires))
    suspended = (meta.annotations or {}).get(fmt.ANNOTATION_SUSPENDED) == "true"
    return dir_id, _Directory(entries, suspended)


class KubernetesTokenRegistry:
    """Tokens from Secrets in ``namespace`` (all namespaces when None)."""

    def __init__(self, api: client.ApiClient, namespace: str | None = None) -> None:
        self.core = client.CoreV1Api(api)
        self.namespace = namespace
        self._by_secret: dict[tuple[str, str], tuple[str, _Directory]] = {}
        self._directories: dict[str, _Directory] = {}
        self._lock = threading.Lock()
        self._synced = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kubescim-token-watch", daemon=True)

    def start(self) -> KubernetesTokenRegistry:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()

    def wait_synced(self, timeout: float) -> bool:
        return self._synced.wait(timeout)

    @property
    def synced(self) -> bool:
        return self._synced.is_set()

    # -- TokenRegistry ------------------------------------------------------------------
    def verify(self, directory: str, token: str) -> bool:
        entry = self._directories.get(directory)
        if entry is None or not token:
            return False
        return _matches(entry.entries, token_hash(token), datetime.now(UTC))

    def suspended(self, directory: str) -> bool:
        entry = self._directories.get(directory)
        return entry is not None and entry.suspended

    def directories(self) -> list[str]:
        return sorted(self._directories)

    # -- watch loop -----------------------------------------------------------------------
    def _list_call(self) -> tuple[Any, tuple[Any, ...]]:
        """The list function and its arguments (the watch reads the return type from it)."""
        if self.namespace:
            return self.core.list_namespaced_secret, (self.namespace,)
        return self.core.list_secret_for_all_namespaces, ()

    def _apply(self, kind: str, secret: Any) -> None:
        key = (secret.metadata.namespace, secret.metadata.name)
        with self._lock:
            if kind == "DELETED":
                self._by_secret.pop(key, None)
            else:
                parsed = directory_from_secret(secret)
                if parsed is None:
                    self._by_secret.pop(key, None)
                else:
                    self._by_secret[key] = parsed
            self._directories = dict(self._by_secret.values())

    def _run(self) -> None:
        backoff = 0.5
        while not self._stopped.is_set():
            try:
                fn, args = self._list_call()
                listing = fn(*args, label_selector=fmt.SELECTOR)
                with self._lock:
                    self._by_secret = {}
                for secret in listing.items:
                    self._apply("ADDED", secret)
                self._synced.set()
                backoff = 0.5
                stream = watch.Watch()
                for event in stream.stream(
                    fn,
                    *args,
                    label_selector=fmt.SELECTOR,
                    resource_version=listing.metadata.resource_version,
                    timeout_seconds=300,
                    allow_watch_bookmarks=True,
                ):
                    if self._stopped.is_set():
                        stream.stop()
                        break
                    if event["type"] in ("ADDED", "MODIFIED", "DELETED"):
                        self._apply(event["type"], event["object"])
            except ApiException as exc:
                log.warning("token watch failed (HTTP %s); re-listing", exc.status)
            except Exception as exc:
                log.warning(
                    "token watch failed (%s); re-listing",
                    type(exc).__name__,
                    exc_info=log.isEnabledFor(logging.DEBUG),
                )
            if self._stopped.wait(backoff):
                return
            backoff = min(backoff * 2, 10.0)
