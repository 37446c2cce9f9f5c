"""The Kubernetes token registry: bearer tokens from the operator's Secrets, trusted only
as ``trust`` decides.

Background threads list, then watch, Secrets and ScimDirectories (``watch``) and feed a
``TrustIndex``. Requests never wait for the API server; how stale the registry may be
before refusing requests (503) is ``max_staleness``.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from .. import metrics
from ..crd import names as n
from ..crd.client import describe
from ..crd.secret import TokenSecret, read_token_secret
from ..scim.errors import ServiceUnavailable
from .credentials import matches, token_hash
from .trust import DirectoryRecord, Key, Rejection, TrustIndex, directory_record
from .watch import ListCall, Watch, WatchTiming

log = logging.getLogger("kubescim.tokens")

EVENT_REASON: Final = "TokenSecretRejected"
COMPONENT: Final = "kubescim-server"


class EventPoster:
    """Warning Events on the directory whose id a refused Secret claims.

    Best-effort, from a thread of its own, so neither the watches nor requests wait. The
    Event's name is derived from the Secret's version, so several server processes
    reporting the same Secret create one Event (the others get 409).
    """

    def __init__(self, base: client.Configuration, timing: WatchTiming, stopped: threading.Event) -> None:
        self._base, self._timing, self._stopped = base, timing, stopped
        self._queue: queue.Queue[Rejection] = queue.Queue(maxsize=256)
        self.thread = threading.Thread(target=self._run, name="kubescim-token-events", daemon=True)

    def post(self, rejection: Rejection) -> None:
        try:
            self._queue.put_nowait(rejection)
        except queue.Full:
            log.warning("too many Events queued; not posting one for %s", rejection.message)

    def _run(self) -> None:
        with client.ApiClient(self._timing.configuration(self._base)) as api:
            core = client.CoreV1Api(api)
            while not self._stopped.is_set():
                try:
                    rejection = self._queue.get(timeout=0.5)
                except queue.Empty:
                    continue
                self._create(core, rejection)

    def _create(self, core: client.CoreV1Api, rejection: Rejection) -> None:
        holder = rejection.holder
        assert holder is not None
        try:
            core.create_namespaced_event(
                holder.namespace, warning_event(rejection, holder), _request_timeout=(5.0, 10.0)
            )
        except Exception as exc:
            if not (isinstance(exc, ApiException) and exc.status == 409):  # 409: already posted
                log.warning(
                    "could not post an Event on %s/%s (%s)", holder.namespace, holder.name, describe(exc)
                )


def warning_event(rejection: Rejection, holder: DirectoryRecord) -> client.CoreV1Event:
    """The Warning Event that tells ``holder``'s owners a Secret claimed their id."""
    now = datetime.now(UTC)
    version = f"{rejection.uid}/{rejection.resource_version}/{rejection.reason}"
    name = f"{holder.name[:200]}.{hashlib.sha256(version.encode()).hexdigest()[:16]}"
    return client.CoreV1Event(
        metadata=client.V1ObjectMeta(name=name, namespace=holder.namespace),
        involved_object=client.V1ObjectReference(
            api_version=f"{n.GROUP}/{n.VERSION}",
            kind=n.DIRECTORY_KIND,
            name=holder.name,
            namespace=holder.namespace,
            uid=holder.uid,
        ),
        type="Warning",
        reason=EVENT_REASON,
        message=rejection.message,
        first_timestamp=now,
        last_timestamp=now,
        count=1,
        source=client.V1EventSource(component=COMPONENT),
        reporting_component=COMPONENT,
        reporting_instance=socket.gethostname(),
    )


# -- the registry -----------------------------------------------------------------------------


class KubernetesTokenRegistry:
    """Tokens from the operator's Secrets in ``namespace`` (all namespaces when None).

    ``api`` only lends its configuration: the registry opens connections of its own (with
    TCP keepalive and read timeouts). ``max_staleness`` None keeps serving cached tokens
    while the API server is unreachable; a number refuses requests (503) once nothing was
    heard from it for that many seconds. Implements ``auth.TokenRegistry``.
    """

    def __init__(
        self,
        api: client.ApiClient | client.Configuration,
        namespace: str | None = None,
        *,
        watch_seconds: int = 30,
        max_staleness: float | None = None,
        pending_grace: float = 60.0,
    ) -> None:
        base = api.configuration if isinstance(api, client.ApiClient) else api
        self.namespace = namespace
        self.timing = WatchTiming(watch_seconds)
        if max_staleness is not None and max_staleness < self.timing.revocation_bound:
            raise ValueError(f"max_staleness must be at least {self.timing.revocation_bound:.0f}s")
        self.max_staleness = max_staleness
        self.pending_grace = pending_grace
        self._index = TrustIndex()
        self._lock = threading.Lock()
        self._listed: set[str] = set()
        self._rejected_counts: dict[str, int] = {}
        self._stale_warned = False
        self._stopped = threading.Event()
        self._synced = threading.Event()
        self._started = time.monotonic()
        self._events = EventPoster(base, self.timing, self._stopped)
        self._secrets = Watch(
            "secrets",
            base,
            self.timing,
            self._secret_call,
            self._secrets_listed,
            self._secret_changed,
            self._stopped,
        )
        self._directories = Watch(
            n.DIRECTORIES,
            base,
            self.timing,
            self._directory_call,
            self._directories_listed,
            self._directory_changed,
            self._stopped,
        )
        self._monitor = threading.Thread(
            target=self._monitor_loop, name="kubescim-token-monitor", daemon=True
        )

    def _threads(self) -> tuple[threading.Thread, ...]:
        return (self._secrets.thread, self._directories.thread, self._events.thread, self._monitor)

    def start(self) -> KubernetesTokenRegistry:
        for thread in self._threads():
            thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the threads (waiting up to ``timeout`` for them)."""
        self._stopped.set()
        self._secrets.interrupt()
        self._directories.interrupt()
        deadline = time.monotonic() + timeout
        for thread in self._threads():
            if thread.is_alive():
                thread.join(max(0.0, deadline - time.monotonic()))

    def wait_synced(self, timeout: float) -> bool:
        return self._synced.wait(timeout)

    @property
    def synced(self) -> bool:
        return self._synced.is_set()

    # -- TokenRegistry ------------------------------------------------------------------
    def verify(self, directory: str, token: str) -> bool:
        """Whether ``token`` is valid for ``directory``.

        Raises ServiceUnavailable before the first sync, and when ``max_staleness`` is set
        and exceeded.
        """
        self._require_fresh()
        access = self._index.access.get(directory)
        if access is None or not token:
            return False
        return matches(access.entries, token_hash(token), datetime.now(UTC))

    def refusal(self, directory: str) -> str | None:
        access = self._index.access.get(directory)
        return access.refusal if access is not None else None

    def suspended(self, directory: str) -> bool:
        access = self._index.access.get(directory)
        return access is not None and access.suspended

    def directories(self) -> list[str]:
        return sorted(self._index.access)

    # -- freshness ----------------------------------------------------------------------
    def staleness(self) -> float:
        """Seconds since both watches last heard from the API server (since start if never)."""
        contacts = (self._secrets.last_contact, self._directories.last_contact)
        oldest = min(c if c is not None else self._started for c in contacts)
        return max(0.0, time.monotonic() - oldest)

    def readiness(self) -> tuple[bool, str]:
        """Whether the registry can serve, and a line saying how fresh it is."""
        if not self.synced:
            return False, "tokens: kubernetes, not loaded yet"
        stale = self.staleness()
        detail = f"tokens: kubernetes, last contact {stale:.0f}s ago"
        if self.max_staleness is not None and stale > self.max_staleness:
            return False, f"{detail}, more than the {self.max_staleness:.0f}s allowed"
        return True, detail

    def _require_fresh(self) -> None:
        retry = self.timing.watch_seconds
        if not self._synced.is_set():
            raise ServiceUnavailable("bearer tokens are not loaded from the Kubernetes API yet", retry)
        if self.max_staleness is not None:
            stale = self.staleness()
            if stale > self.max_staleness:
                raise ServiceUnavailable(
                    f"bearer tokens cannot be checked: no contact with the Kubernetes API for {stale:.0f}s",
                    retry,
                )

    def _monitor_loop(self) -> None:
        while not self._stopped.wait(min(1.0, self.timing.watch_seconds / 3)):
            try:
                self._tick()
            except Exception:
                log.exception("token registry monitor failed")

    def _tick(self) -> None:
        stale = self.staleness()
        metrics.TOKEN_WATCH_STALENESS.set(stale)
        bound = self.timing.revocation_bound
        if stale > bound and not self._stale_warned:
            action = "serving cached tokens" if self.max_staleness is None else "SCIM requests may get 503"
            log.warning(
                "no contact with the Kubernetes API server for %.0fs (bound %.0fs); %s", stale, bound, action
            )
        elif stale <= bound and self._stale_warned:
            log.info("contact with the Kubernetes API server restored")
        self._stale_warned = stale > bound
        directories_age = time.monotonic() - (self._directories.last_contact or self._started)
        if self.synced and directories_age <= bound:
            self._change(lambda now: self._index.expire_pending(self.pending_grace, now))

    # -- feeding the index --------------------------------------------------------------
    def _secret_call(self, api: client.ApiClient) -> ListCall:
        core = client.CoreV1Api(api)
        selector = {"label_selector": n.SELECTOR}
        if self.namespace:
            return core.list_namespaced_secret, (self.namespace,), selector
        return core.list_secret_for_all_namespaces, (), selector

    def _directory_call(self, api: client.ApiClient) -> ListCall:
        custom = client.CustomObjectsApi(api)
        if self.namespace:
            args = (n.GROUP, n.VERSION, self.namespace, n.DIRECTORIES)
            return custom.list_namespaced_custom_object, args, {}
        return custom.list_custom_object_for_all_namespaces, (n.GROUP, n.VERSION, n.DIRECTORIES), {}

    def _secrets_listed(self, api: client.ApiClient, listing: Any) -> str:
        items: dict[Key, TokenSecret] = {}
        for item in listing.items:
            secret = _parse(read_token_secret, api.sanitize_for_serialization(item))
            if secret is not None:
                items[(secret.namespace, secret.name)] = secret
        self._change(lambda now: self._index.replace_secrets(items, now), listed="secrets")
        return str(listing.metadata.resource_version)

    def _directories_listed(self, _api: client.ApiClient, listing: dict[str, Any]) -> str:
        items: dict[Key, DirectoryRecord] = {}
        for item in listing.get("items") or []:
            record = _parse(directory_record, item)
            if record is not None:
                items[(record.namespace, record.name)] = record
        self._change(lambda now: self._index.replace_directories(items, now), listed=n.DIRECTORIES)
        return str(listing["metadata"]["resourceVersion"])

    def _secret_changed(self, kind: str, obj: dict[str, Any]) -> None:
        meta = obj.get("metadata") or {}
        key = (meta.get("namespace", ""), meta.get("name", ""))
        secret = None if kind == "DELETED" else _parse(read_token_secret, obj)
        self._change(lambda now: self._index.put_secret(key, secret, now))

    def _directory_changed(self, kind: str, obj: dict[str, Any]) -> None:
        meta = obj.get("metadata") or {}
        key = (meta.get("namespace", ""), meta.get("name", ""))
        record = None if kind == "DELETED" else _parse(directory_record, obj)
        self._change(lambda now: self._index.put_directory(key, record, now))

    def _change(self, change: Callable[[float], list[Rejection]], listed: str | None = None) -> None:
        """Apply one change under the lock; report what it rejected after releasing it."""
        started = False
        with self._lock:
            now = time.monotonic()
            reports = change(now)
            if listed is not None:
                self._listed.add(listed)
                started = not self._index.ready and len(self._listed) == 2
                if started:
                    reports += self._index.start(now)
            self._publish_rejected()
        for rejection in reports:
            self._report(rejection)
        if started:
            self._synced.set()

    def _publish_rejected(self) -> None:
        counts = self._index.rejected_counts
        if counts != self._rejected_counts:
            self._rejected_counts = dict(counts)
            for reason, count in counts.items():
                metrics.TOKEN_REJECTED_SECRETS.labels(reason).set(count)

    def _report(self, rejection: Rejection) -> None:
        metrics.TOKEN_REJECTIONS.labels(rejection.reason).inc()
        if rejection.holder is not None:
            self._events.post(rejection)
        log.warning("%s (reason %s)", rejection.message, rejection.reason)


def _parse(read: Callable[[dict[str, Any]], Any], obj: dict[str, Any]) -> Any:
    """``read(obj)``, or None (logged) when the object is malformed."""
    try:
        return read(obj)
    except Exception as exc:
        meta = obj.get("metadata") or {}
        log.warning(
            "ignoring malformed object %s/%s (%s)",
            meta.get("namespace"),
            meta.get("name"),
            type(exc).__name__,
        )
        return None
