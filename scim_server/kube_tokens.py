"""The Kubernetes token registry: bearer tokens read from the operator's Secrets.

A label is a claim, not a proof: anyone who may create a Secret can label it. A token is
accepted for directory id D only from the Secret that the one live ScimDirectory whose
``status.directoryId`` is D names in ``status.tokenSecretRef``, in that directory's
namespace, controlled by that directory (ownerReference with its UID) and labelled D.
Status is written through the status subresource, which tenants cannot write; every other
Secret claiming an id is refused and reported (log line, metric, Warning Event). See
docs/security.md, "Token trust model".

Background threads list, then watch, Secrets and ScimDirectories. Every request has a
client-side read timeout longer than the watch's server-side timeout, so a connection
that goes silent is abandoned and the objects re-listed over a new one: a change reaches
the registry within ``WatchTiming.revocation_bound`` while the API server is reachable.
Requests never wait for the API server; how stale the registry may be before refusing
requests (503) is ``max_staleness``.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import logging
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import ReadTimeoutError

from . import metrics
from . import secret_format as fmt
from .auth import _Entry, _matches, token_hash
from .scim.errors import ServiceUnavailable

log = logging.getLogger("kubescim.tokens")

VERSION: Final = "v1alpha1"
DIRECTORIES: Final = "scimdirectories"
DIRECTORY_KIND: Final = "ScimDirectory"
ORGANIZATION_READY: Final = "OrganizationReady"
EVENT_REASON: Final = "TokenSecretRejected"
COMPONENT: Final = "kubescim-server"

Key = tuple[str, str]  # (namespace, name)

# Why a Secret that claims a directory id is refused (the metric's ``reason`` label).
WRONG_NAMESPACE: Final = "wrong-namespace"
NOT_OWNED: Final = "not-owned"
WRONG_OWNER: Final = "wrong-owner"
NOT_TOKEN_SECRET_REF: Final = "not-token-secret-ref"
UNKNOWN_ID: Final = "unknown-directory-id"
AMBIGUOUS_ID: Final = "ambiguous-directory-id"
OWNER_UNRESOLVED: Final = "owner-unresolved"
EXPLANATIONS: Final = {
    WRONG_NAMESPACE: "the ScimDirectory holding that id lives in another namespace",
    NOT_OWNED: "it is not controlled by a ScimDirectory",
    WRONG_OWNER: "it is not controlled by the ScimDirectory holding that id",
    NOT_TOKEN_SECRET_REF: "it is not the Secret named by that directory's status.tokenSecretRef",
    UNKNOWN_ID: "no ScimDirectory holds that id",
    AMBIGUOUS_ID: "several ScimDirectories hold that id",
    OWNER_UNRESOLVED: "its owner ScimDirectory was not found",
}
ACCEPTED: Final = "accepted"
PENDING: Final = "pending"  # its owner's status has not named it yet (normal while created)
INACTIVE: Final = "inactive"  # the token Secret of a directory being deleted


def kube_configuration() -> client.Configuration:
    """The in-cluster service account's configuration, else ``$KUBECONFIG``'s."""
    configuration = client.Configuration()
    try:
        config.load_incluster_config(client_configuration=configuration)
    except config.ConfigException:
        config.load_kube_config(client_configuration=configuration)
    return configuration


@dataclass(frozen=True, slots=True)
class WatchTiming:
    """Every timeout of the registry, derived from the watch period ``watch_seconds``."""

    watch_seconds: int = 30

    @property
    def read_timeout(self) -> float:
        """No byte for this long ends a request: longer than a healthy watch stays quiet."""
        return 1.5 * self.watch_seconds

    @property
    def request_timeout(self) -> tuple[float, float]:
        return (float(min(10, self.watch_seconds)), self.read_timeout)

    @property
    def revocation_bound(self) -> float:
        """A change reaches the registry within this, even over a silently dead connection."""
        return 2.0 * self.watch_seconds

    @property
    def max_backoff(self) -> float:
        return min(10.0, self.watch_seconds / 2)

    def configuration(self, base: client.Configuration) -> client.Configuration:
        """A copy of ``base`` with TCP keepalive on its sockets (client-go's timings: it keeps
        idle watches alive through middleboxes; the read timeout bounds a silent peer)."""
        copied = copy.deepcopy(base)
        copied.keep_alive = True
        copied.retries = False  # the registry retries itself, within its own timeouts
        return copied


# -- what the cluster says ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Owner:
    """A Secret's controller ownerReference."""

    api_version: str
    kind: str
    name: str
    uid: str

    @property
    def is_directory(self) -> bool:
        return self.kind == DIRECTORY_KIND and self.api_version.split("/")[0] == fmt.GROUP


@dataclass(frozen=True, slots=True)
class TokenSecret:
    """A Secret that claims a directory id, reduced to what trust needs (hashes only)."""

    namespace: str
    name: str
    uid: str
    resource_version: str
    directory_id: str
    owner: Owner | None
    entries: tuple[_Entry, ...]
    suspended: bool


@dataclass(frozen=True, slots=True)
class DirectoryRecord:
    """A ScimDirectory, reduced to what trust needs."""

    namespace: str
    name: str
    uid: str
    directory_id: str | None
    token_secret: str | None
    deleting: bool
    suspended: bool
    missing_organization: str | None  # the Organization's name while OrganizationReady is False


def _sha256_of(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return hashlib.sha256(base64.b64decode(value)).hexdigest() if value else None


def _text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return base64.b64decode(value).decode("utf-8", "replace") if value else None


def _previous_entry(data: Mapping[str, Any]) -> _Entry | None:
    digest, expires = _text(data, fmt.PREVIOUS_SHA256_KEY), _text(data, fmt.PREVIOUS_EXPIRES_KEY)
    if not digest or not expires:
        return None
    try:
        valid = datetime.fromisoformat(expires).tzinfo is not None
    except ValueError:
        valid = False
    return _Entry(digest.strip(), "", expires) if valid else None


def _controller(meta: Mapping[str, Any]) -> Owner | None:
    for ref in meta.get("ownerReferences") or []:
        if ref.get("controller"):
            return Owner(
                ref.get("apiVersion", ""), ref.get("kind", ""), ref.get("name", ""), ref.get("uid", "")
            )
    return None


def token_secret(obj: Mapping[str, Any]) -> TokenSecret | None:
    """Read a Secret (as the API serves it); None when it claims no directory id."""
    meta = obj["metadata"]
    dir_id = (meta.get("labels") or {}).get(fmt.LABEL_DIRECTORY_ID)
    if not dir_id:
        return None
    data = obj.get("data") or {}
    current = _sha256_of(data, fmt.TOKEN_KEY)
    previous = _previous_entry(data)
    entries = ([_Entry(current, "", None)] if current else []) + ([previous] if previous else [])
    return TokenSecret(
        namespace=meta["namespace"],
        name=meta["name"],
        uid=meta.get("uid", ""),
        resource_version=meta.get("resourceVersion", ""),
        directory_id=dir_id,
        owner=_controller(meta),
        entries=tuple(entries),
        suspended=(meta.get("annotations") or {}).get(fmt.ANNOTATION_SUSPENDED) == "true",
    )


def directory_record(obj: Mapping[str, Any]) -> DirectoryRecord:
    """Read a ScimDirectory (as the API serves it)."""
    meta, spec, status = obj["metadata"], obj.get("spec") or {}, obj.get("status") or {}
    conditions = status.get("conditions") or []
    org = next((x for x in conditions if x.get("type") == ORGANIZATION_READY), None)
    org_name = (spec.get("organizationRef") or {}).get("name", "")
    return DirectoryRecord(
        namespace=meta["namespace"],
        name=meta["name"],
        uid=meta.get("uid", ""),
        directory_id=status.get("directoryId") or None,
        token_secret=(status.get("tokenSecretRef") or {}).get("name") or None,
        deleting=bool(meta.get("deletionTimestamp")),
        suspended=bool(spec.get("suspended")),
        missing_organization=org_name if org is not None and org.get("status") == "False" else None,
    )


# -- the trust decision -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Access:
    """What a request for one directory id may use: the accepted Secret's tokens."""

    entries: list[_Entry]
    refusal: str | None  # why a valid token still gets 403
    suspended: bool


@dataclass(frozen=True, slots=True)
class Rejection:
    """A Secret refused as the token Secret of the id it claims (never its data)."""

    namespace: str
    name: str
    uid: str
    resource_version: str
    directory_id: str
    reason: str
    holder: DirectoryRecord | None  # the live directory holding the claimed id, if any

    @property
    def message(self) -> str:
        return (
            f"Secret {self.namespace}/{self.name} claims directory id {self.directory_id} but "
            f"{EXPLANATIONS[self.reason]}; its token is refused"
        )


def refusal(holder: DirectoryRecord, secret: TokenSecret) -> str | None:
    """The 403 message for a directory whose token is valid, or None when it is active."""
    dir_id = holder.directory_id
    if holder.suspended or secret.suspended:
        return f"directory {dir_id} is suspended"
    if holder.missing_organization is not None:
        return f"directory {dir_id} is not active: Organization {holder.missing_organization} not found"
    return None


def rejection_reason(secret: TokenSecret, owner: DirectoryRecord | None, live: list[DirectoryRecord]) -> str:
    """Why ``secret`` is not the token Secret of the id it claims (``live`` hold that id)."""
    if len(live) > 1:
        return AMBIGUOUS_ID
    if not live:
        return UNKNOWN_ID
    holder = live[0]
    if secret.namespace != holder.namespace:
        return WRONG_NAMESPACE
    if secret.owner is None or not secret.owner.is_directory:
        return NOT_OWNED
    if owner is None or owner.uid != holder.uid:
        return WRONG_OWNER
    return NOT_TOKEN_SECRET_REF


class TrustIndex:
    """Which Secret each directory id trusts, kept up to date object by object.

    Pure bookkeeping (no I/O, not thread-safe): callers feed it what the watches see and
    act on the rejections it returns, each once per Secret version and reason.
    """

    def __init__(self) -> None:
        self.ready = False  # nothing is decided before both kinds were listed once
        self.secrets: dict[Key, TokenSecret] = {}
        self.directories: dict[Key, DirectoryRecord] = {}
        self.access: dict[str, Access] = {}
        self.rejected: dict[Key, Rejection] = {}
        self.rejected_counts: dict[str, int] = dict.fromkeys(EXPLANATIONS, 0)  # by reason
        self.pending_since: dict[Key, float] = {}
        self._expired: set[Key] = set()
        self._claims: dict[str, set[Key]] = {}
        self._holders: dict[str, set[Key]] = {}
        self._owned: dict[Key, set[Key]] = {}  # owner directory -> Secrets it controls
        self._uids: dict[str, Key] = {}

    # -- feeding --------------------------------------------------------------------------
    def put_secret(self, key: Key, secret: TokenSecret | None, now: float) -> list[Rejection]:
        old = self.secrets.pop(key, None)
        if old is not None:
            _unlink(self._claims, old.directory_id, key)
            if old.owner is not None:
                _unlink(self._owned, (old.namespace, old.owner.name), key)
        if secret is None or old is None or old.uid != secret.uid:
            self.pending_since.pop(key, None)
            self._expired.discard(key)
            self._unreject(key)
        if secret is not None:
            self.secrets[key] = secret
            self._claims.setdefault(secret.directory_id, set()).add(key)
            if secret.owner is not None:
                self._owned.setdefault((secret.namespace, secret.owner.name), set()).add(key)
        return self._evaluate(_ids(old, secret), now)

    def put_directory(self, key: Key, record: DirectoryRecord | None, now: float) -> list[Rejection]:
        old = self.directories.pop(key, None)
        if old is not None:
            self._uids.pop(old.uid, None)
            if old.directory_id:
                _unlink(self._holders, old.directory_id, key)
        if record is not None:
            self.directories[key] = record
            self._uids[record.uid] = key
            if record.directory_id:
                self._holders.setdefault(record.directory_id, set()).add(key)
        ids = {r.directory_id for r in (old, record) if r is not None and r.directory_id}
        ids |= {self.secrets[k].directory_id for k in self._owned.get(key, ())}
        return self._evaluate(ids, now)

    def replace_secrets(self, items: Mapping[Key, TokenSecret], now: float) -> list[Rejection]:
        """Take a fresh listing: what it lacks was deleted meanwhile."""
        return _replace(self.secrets, items, self.put_secret, now)

    def replace_directories(self, items: Mapping[Key, DirectoryRecord], now: float) -> list[Rejection]:
        return _replace(self.directories, items, self.put_directory, now)

    def start(self, now: float) -> list[Rejection]:
        self.ready = True
        return self._evaluate(set(self._claims) | set(self._holders), now)

    def expire_pending(self, grace: float, now: float) -> list[Rejection]:
        """Refuse, as OWNER_UNRESOLVED, Secrets pending for longer than ``grace``."""
        due = {key for key, since in self.pending_since.items() if now - since >= grace}
        self._expired |= due
        return self._evaluate({self.secrets[key].directory_id for key in due}, now)

    # -- deciding -------------------------------------------------------------------------
    def _evaluate(self, ids: Iterable[str], now: float) -> list[Rejection]:
        if not self.ready:
            return []
        reports: list[Rejection] = []
        for dir_id in ids:
            reports.extend(self._evaluate_id(dir_id, now))
        return reports

    def _evaluate_id(self, dir_id: str, now: float) -> list[Rejection]:
        holders = [self.directories[k] for k in self._holders.get(dir_id, ())]
        live = [h for h in holders if not h.deleting]
        accepted: TokenSecret | None = None
        reports: list[Rejection] = []
        for key in sorted(self._claims.get(dir_id, ())):
            secret = self.secrets[key]
            verdict = self._verdict(key, secret, live, now)
            if verdict == ACCEPTED:
                accepted = secret
            report = self._record(key, secret, verdict, live)
            if report is not None:
                reports.append(report)
        if accepted is None:
            self.access.pop(dir_id, None)
        else:
            holder = live[0]
            suspended = holder.suspended or accepted.suspended
            self.access[dir_id] = Access(list(accepted.entries), refusal(holder, accepted), suspended)
        return reports

    def _owner_of(self, secret: TokenSecret) -> DirectoryRecord | None:
        if secret.owner is None or not secret.owner.is_directory:
            return None
        owner = self.directories.get((secret.namespace, secret.owner.name))
        return owner if owner is not None and owner.uid == secret.owner.uid else None

    def _verdict(self, key: Key, secret: TokenSecret, live: list[DirectoryRecord], now: float) -> str:
        owner = self._owner_of(secret)
        if owner is not None and (owner.directory_id, owner.token_secret) == (
            secret.directory_id,
            secret.name,
        ):
            self.pending_since.pop(key, None)
            return ACCEPTED if live == [owner] else INACTIVE
        if self._awaiting_status(secret, owner, live):
            if key not in self._expired:
                self.pending_since.setdefault(key, now)
                return PENDING
            return OWNER_UNRESOLVED
        self.pending_since.pop(key, None)
        return rejection_reason(secret, owner, live)

    def _awaiting_status(
        self, secret: TokenSecret, owner: DirectoryRecord | None, live: list[DirectoryRecord]
    ) -> bool:
        """Whether ``secret`` may be a token Secret its directory's status does not name yet
        (the operator writes the Secret first; the two watches deliver in any order)."""
        if secret.owner is None or not secret.owner.is_directory:
            return False
        if any(h.namespace != secret.namespace for h in live):
            return False  # the id belongs to another namespace: nothing here can earn it
        seen_as = self._uids.get(secret.owner.uid)
        if seen_as is not None and seen_as != (secret.namespace, secret.owner.name):
            return False  # the owner's UID is another object's
        return owner is None or owner.directory_id is None

    def _record(
        self, key: Key, secret: TokenSecret, verdict: str, live: list[DirectoryRecord]
    ) -> Rejection | None:
        if verdict in (ACCEPTED, PENDING, INACTIVE):
            self._unreject(key)
            return None
        holder = live[0] if len(live) == 1 else None
        rejection = Rejection(
            secret.namespace,
            secret.name,
            secret.uid,
            secret.resource_version,
            secret.directory_id,
            verdict,
            holder,
        )
        seen = self._unreject(key)
        self.rejected[key] = rejection
        self.rejected_counts[verdict] += 1
        if seen is not None and (seen.uid, seen.resource_version, seen.reason) == (
            rejection.uid,
            rejection.resource_version,
            rejection.reason,
        ):
            return None
        return rejection

    def _unreject(self, key: Key) -> Rejection | None:
        seen = self.rejected.pop(key, None)
        if seen is not None:
            self.rejected_counts[seen.reason] -= 1
        return seen


def _ids(*objects: TokenSecret | None) -> set[str]:
    return {o.directory_id for o in objects if o is not None}


def _unlink(index: dict[Any, set[Key]], at: Any, key: Key) -> None:
    keys = index.get(at)
    if keys is not None:
        keys.discard(key)
        if not keys:
            del index[at]


def _replace(
    current: Mapping[Key, Any],
    items: Mapping[Key, Any],
    put: Callable[[Key, Any, float], list[Rejection]],
    now: float,
) -> list[Rejection]:
    reports: list[Rejection] = []
    for key in [k for k in current if k not in items]:
        reports.extend(put(key, None, now))
    for key, item in items.items():
        if current.get(key) != item:
            reports.extend(put(key, item, now))
    return reports


# -- watching -------------------------------------------------------------------------------

ListCall = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]


def _describe(exc: BaseException) -> str:
    """An error's kind for a log line (never its text, which may quote a response)."""
    if isinstance(exc, ApiException):
        return f"HTTP {exc.status} {exc.reason or ''}".strip()
    if isinstance(exc, ReadTimeoutError):
        return "no data before the read timeout"
    return type(exc).__name__


class _Watch:
    """List, then watch, one kind of object on a thread of its own.

    A watch that the server ends at its timeout resumes from the last resourceVersion
    (bookmarks included); 410 Gone or any error re-lists over a new connection.
    """

    def __init__(
        self,
        kind: str,
        base: client.Configuration,
        timing: WatchTiming,
        call: Callable[[client.ApiClient], ListCall],
        on_list: Callable[[client.ApiClient, Any], str],
        on_event: Callable[[str, dict[str, Any]], None],
        stopped: threading.Event,
    ) -> None:
        self.kind = kind
        self.last_contact: float | None = None
        self._base, self._timing, self._call = base, timing, call
        self._on_list, self._on_event, self._stopped = on_list, on_event, stopped
        self._stream: watch.Watch | None = None
        self.thread = threading.Thread(target=self._run, name=f"kubescim-watch-{kind}", daemon=True)

    def interrupt(self) -> None:
        """Unblock a running watch (its socket is shut down); the thread then exits."""
        stream = self._stream
        if stream is not None:
            stream.stop()

    def _touch(self) -> None:
        self.last_contact = time.monotonic()

    def _run(self) -> None:
        backoff = 0.5
        while not self._stopped.is_set():
            before = self.last_contact
            try:
                with client.ApiClient(self._timing.configuration(self._base)) as api:
                    self._list_and_watch(api)
            except Exception as exc:
                if self._stopped.is_set():
                    return
                expired = isinstance(exc, ApiException) and exc.status == 410  # history compacted
                log.log(
                    logging.INFO if expired else logging.WARNING,
                    "%s watch failed (%s); re-listing in %.1fs",
                    self.kind,
                    _describe(exc),
                    backoff,
                    exc_info=log.isEnabledFor(logging.DEBUG),
                )
            if self.last_contact != before:
                backoff = 0.5
            if self._stopped.wait(backoff):
                return
            backoff = min(backoff * 2, self._timing.max_backoff)

    def _list_and_watch(self, api: client.ApiClient) -> None:
        fn, args, kwargs = self._call(api)
        timeout = self._timing.request_timeout
        listing = fn(*args, **kwargs, _request_timeout=timeout)
        self._touch()
        version = self._on_list(api, listing)
        stream = self._stream = watch.Watch()
        while not self._stopped.is_set():
            for event in stream.stream(
                fn,
                *args,
                **kwargs,
                resource_version=version,
                timeout_seconds=self._timing.watch_seconds,
                allow_watch_bookmarks=True,
                _request_timeout=timeout,
            ):
                self._touch()
                if event["type"] in ("ADDED", "MODIFIED", "DELETED"):
                    self._on_event(event["type"], event["raw_object"])
            if self._stopped.is_set():
                return
            self._touch()  # the server ended the watch at its timeout: it is alive
            version = stream.resource_version or version


class _EventPoster:
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
                    "could not post an Event on %s/%s (%s)", holder.namespace, holder.name, _describe(exc)
                )


def warning_event(rejection: Rejection, holder: DirectoryRecord) -> client.CoreV1Event:
    """The Warning Event that tells ``holder``'s owners a Secret claimed their id."""
    now = datetime.now(UTC)
    version = f"{rejection.uid}/{rejection.resource_version}/{rejection.reason}"
    name = f"{holder.name[:200]}.{hashlib.sha256(version.encode()).hexdigest()[:16]}"
    return client.CoreV1Event(
        metadata=client.V1ObjectMeta(name=name, namespace=holder.namespace),
        involved_object=client.V1ObjectReference(
            api_version=f"{fmt.GROUP}/{VERSION}",
            kind=DIRECTORY_KIND,
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
        self._events = _EventPoster(base, self.timing, self._stopped)
        self._secrets = _Watch(
            "secrets",
            base,
            self.timing,
            self._secret_call,
            self._secrets_listed,
            self._secret_changed,
            self._stopped,
        )
        self._directories = _Watch(
            DIRECTORIES,
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
        return _matches(access.entries, token_hash(token), datetime.now(UTC))

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
        selector = {"label_selector": fmt.SELECTOR}
        if self.namespace:
            return core.list_namespaced_secret, (self.namespace,), selector
        return core.list_secret_for_all_namespaces, (), selector

    def _directory_call(self, api: client.ApiClient) -> ListCall:
        custom = client.CustomObjectsApi(api)
        if self.namespace:
            return custom.list_namespaced_custom_object, (fmt.GROUP, VERSION, self.namespace, DIRECTORIES), {}
        return custom.list_custom_object_for_all_namespaces, (fmt.GROUP, VERSION, DIRECTORIES), {}

    def _secrets_listed(self, api: client.ApiClient, listing: Any) -> str:
        items: dict[Key, TokenSecret] = {}
        for item in listing.items:
            secret = _parse(token_secret, api.sanitize_for_serialization(item))
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
        self._change(lambda now: self._index.replace_directories(items, now), listed=DIRECTORIES)
        return str(listing["metadata"]["resourceVersion"])

    def _secret_changed(self, kind: str, obj: dict[str, Any]) -> None:
        meta = obj.get("metadata") or {}
        key = (meta.get("namespace", ""), meta.get("name", ""))
        secret = None if kind == "DELETED" else _parse(token_secret, obj)
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
