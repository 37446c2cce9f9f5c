"""Directory state in ConfigMaps (or Secrets) of one namespace: the ``Storage`` contract.

Reads come from the process's cache (``cache``); writes go to the API server as
conditional writes (``resourceVersion``), re-read and re-applied on a conflict (bounded,
with jitter), and enter the cache as soon as they succeed. One object per resource
(``objects``), a claim object per unique name (``claims``), members inside the group
object. See docs/storage-configmaps.md for the capacity this gives.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Final

from kubernetes import client

from ...crd.client import api_client, describe
from ...events.model import StoredEvent
from ...scim.casefold import fold
from ...scim.errors import InvalidValue, NotFound, ServiceUnavailable, Uniqueness
from ...scim.evaluate import matcher
from ...scim.filter import Compare
from ...scim.patch import MemberChange
from ...scim.query import ListQuery
from ...scim.schemas import group_type
from ..base import DirectoryStats, Kind, Mutator, Page, ReplaceByPatch, Resource, RestoreByBatch
from ..exported import exported
from ..reads import Keyset, keyset_slice
from ..rows import (
    check_version,
    iso,
    now,
    parse_time,
)
from .cache import ResourceCache, render
from .claims import GRACE, Claims
from .eventlog import WatchedEventLog
from .memquery import run_query
from .objectapi import AlreadyExists, ObjectApi, Stale
from .objects import (
    LABEL_DIRECTORY,
    MANAGED_BY,
    MANAGER,
    Entry,
    Flavour,
    build_object,
    check_id,
    object_name,
    parse_object,
    unique_value,
)
from .ratelimit import TooManyWrites, WriteLimiter

log = logging.getLogger("kubescim.storage.kube")

#: Conditional-write attempts of one change before it is answered 429 (see ``_contended``).
MAX_ATTEMPTS: Final = 12
#: How long a request waits for the first list before answering 503.
READY_WAIT: Final = 30.0
_LOCK_STRIPES: Final = 64
_UNIQUE_FILTER: Final[dict[Kind, str]] = {"User": "username", "Group": "displayname"}


def _contended(kind: str, id: str) -> TooManyWrites:
    """Every attempt lost to other processes' writes: 429 with Retry-After, which IdPs
    retry (a 409 they take for a uniqueness or version error, and drop the change)."""
    return TooManyWrites(f"{kind} {id!r} is being changed concurrently; retry the request", retry_after=1)


class KubeStorage(ReplaceByPatch, RestoreByBatch):
    """Users and groups of every directory, one object each, in ``namespace``.

    ``flavour`` is ``ConfigMap`` or ``Secret`` (same code path). ``write_rate`` bounds
    this process's writes per second; ``max_group_members`` and ``max_object_bytes``
    are refused with a clear error before anything is sent. Events are a bounded log
    in memory (``eventlog``: ``event_buffer`` per directory, none older than
    ``event_retention_days``). ``configuration`` is the Kubernetes client's (default:
    in-cluster, else ``$KUBECONFIG``).
    """

    def __init__(
        self,
        namespace: str,
        flavour: Flavour = "ConfigMap",
        *,
        write_rate: float = 20.0,
        max_group_members: int = 5000,
        max_object_bytes: int = 256 * 1024,
        pool_size: int = 4,
        watch_seconds: int = 30,
        claim_grace: timedelta = GRACE,
        event_buffer: int = 10_000,
        event_retention_days: int = 30,
        configuration: client.Configuration | None = None,
    ) -> None:
        self.namespace, self.flavour = namespace, flavour
        self.max_group_members, self.max_object_bytes = max_group_members, max_object_bytes
        limiter = WriteLimiter(write_rate, burst=max(1, int(write_rate)))
        self._api = _client(configuration, pool_size + 1)
        self._watch_api = _client(configuration, 1)
        self.objects = ObjectApi(self._api, namespace, flavour, limiter)
        self.event_log = WatchedEventLog(event_buffer, timedelta(days=event_retention_days))
        self.cache = ResourceCache(
            ObjectApi(self._watch_api, namespace, flavour, limiter), flavour, watch_seconds, self.event_log
        )
        self.claims = Claims(self.objects, self.cache, claim_grace)
        self._locks = [threading.Lock() for _ in range(_LOCK_STRIPES)]
        self.cache.start()
        self._closed = threading.Event()
        self._sweeper = threading.Thread(
            target=self._sweep_when_ready, name="kubescim-claim-sweep", daemon=True
        )
        self._sweeper.start()

    # -- lifecycle ------------------------------------------------------------------------------
    def ping(self) -> None:
        """Raises ServiceUnavailable until the first list of the namespace is complete."""
        if not self.cache.ready.is_set():
            raise ServiceUnavailable("storage is still listing its objects", 1)

    def close(self) -> None:
        self._closed.set()
        self.cache.stop()
        if self._sweeper.is_alive():
            self._sweeper.join(5.0)
        for api in (self._api, self._watch_api):
            api.close()

    def _ready(self) -> None:
        if not self.cache.ready.wait(READY_WAIT):
            raise ServiceUnavailable("storage is still listing its objects", 5)

    def _sweep_when_ready(self) -> None:
        deadline = time.monotonic() + 300
        while not self.cache.ready.wait(0.5):
            if self._closed.is_set() or time.monotonic() > deadline:
                return
        if self._closed.is_set():
            return
        try:
            removed, restored = self.claims.sweep()
            if removed or restored:
                log.info("name claims: %d stale removed, %d restored", removed, restored)
        except Exception as exc:
            log.warning("name claim sweep failed (%s)", describe(exc))

    def _lock(self, name: str) -> threading.Lock:
        """One writer per object per process: this process's writers queue instead of
        conflicting; other processes' writes are caught by the resourceVersion."""
        return self._locks[int(hashlib.sha1(name.encode()).hexdigest()[:8], 16) % _LOCK_STRIPES]  # noqa: S324

    # -- rendering ------------------------------------------------------------------------------
    def _fetch(self, directory: str, kind: Kind, id: str) -> Entry | None:
        """The resource as the API server has it now (and the cache then too)."""
        obj = self.objects.get(object_name(directory, kind, id))
        entry = parse_object(self.flavour, obj) if obj is not None else None
        if entry is not None and entry.directory == directory:
            self.cache.put(entry)
            return entry
        return None

    def _entry(self, directory: str, kind: Kind, id: str) -> Entry:
        """From the cache, else from the API server (written by another process just now)."""
        entry = self.cache.lookup(directory, kind, id) or self._fetch(directory, kind, id)
        if entry is None:
            raise NotFound(f"{kind} {id!r} not found")
        return entry

    # -- reads ----------------------------------------------------------------------------------
    def get(self, directory: str, kind: Kind, id: str, *, members: bool = True) -> Resource:
        self._ready()
        entry = self._entry(directory, kind, id)
        with self.cache.lock:
            return render(self.cache.directory(directory), entry, members)

    def query(self, directory: str, kind: Kind, query: ListQuery) -> Page:
        self._ready()
        related = query.projection.wants(None, "groups" if kind == "User" else "members")
        node = query.filter
        with self.cache.lock:
            index = self.cache.directory(directory)
            table = index.table(kind)
            if (
                isinstance(node, Compare)
                and node.op == "eq"
                and isinstance(node.value, str)
                and node.path.uri is None
                and node.path.sub_attr is None
                and node.path.attr.lower() == _UNIQUE_FILTER[kind]
                and query.sort_by is None
            ):
                found = index.keys[kind].get(fold(node.value))
                entries = [table[found]] if found in table else []
                query = replace(query, filter=None)
            else:
                entries = sorted(table.values(), key=lambda e: (e.created, e.id))
            resources = [render(index, e, related) for e in entries]
        return run_query(kind, resources, query)

    def stats(self, directory: str) -> DirectoryStats:
        self._ready()
        with self.cache.lock:
            index = self.cache.directory(directory)
            stamps = [e.modified for e in (*index.users.values(), *index.groups.values())]
            return DirectoryStats(
                len(index.users), len(index.groups), parse_time(max(stamps)) if stamps else None
            )

    # -- directory API reads (DirectoryReads) ----------------------------------------------------
    def page(self, directory: str, kind: Kind, keyset: Keyset) -> tuple[list[Resource], bool]:
        self._ready()
        with self.cache.lock:
            index = self.cache.directory(directory)
            ordered = sorted(index.table(kind).values(), key=lambda e: (e.created, e.id))
            cursor = index.table(kind).get(keyset.cursor) if keyset.cursor is not None else None
            if keyset.cursor is not None and cursor is None:
                return [], False
            position = (cursor.created, cursor.id) if cursor is not None else None
            keys = [(e.created, e.id) for e in ordered]
            chosen, more = keyset_slice(ordered, keys, position, keyset)
            return [render(index, e, kind == "User") for e in chosen], more

    def members_page(self, directory: str, group: str, keyset: Keyset) -> tuple[list[Resource], bool]:
        self._ready()
        with self.cache.lock:
            index = self.cache.directory(directory)
            entry = index.groups.get(group)
            ids = sorted(m for m in (entry.members if entry else ()) if m in index.users)
            chosen, more = keyset_slice(ids, ids, keyset.cursor, keyset)
            return [render(index, index.users[m], True) for m in chosen], more

    def groups_of_page(self, directory: str, user: str, keyset: Keyset) -> tuple[list[Resource], bool]:
        self._ready()
        with self.cache.lock:
            index = self.cache.directory(directory)
            ids = sorted(g for g in index.member_of.get(user, ()) if g in index.groups)
            chosen, more = keyset_slice(ids, ids, keyset.cursor, keyset)
            return [render(index, index.groups[g], False) for g in chosen], more

    def locate(self, kind: Kind, id: str) -> str | None:
        self._ready()
        return self.cache.locate(kind, id)

    # -- events (EventLog): the bounded log the watch feeds -------------------------------------
    def events(
        self, directory: str, *, after: int = 0, limit: int = 100, types: Collection[str] | None = None
    ) -> list[StoredEvent]:
        self._ready()
        return self.event_log.events(directory, after=after, limit=limit, types=types)

    def last_event(self, directory: str) -> int:
        self._ready()
        return self.event_log.last_event(directory)

    def activate_directory(self, directory: str) -> bool:
        """Not offered: no process can tell a directory's first appearance from its own start."""
        return False

    def deactivate_directory(self, directory: str) -> bool:
        """Not offered (see ``activate_directory``)."""
        return False

    def prune_events(self, before: datetime) -> int:
        return self.event_log.prune_events(before)

    # -- create ---------------------------------------------------------------------------------
    def create(self, directory: str, kind: Kind, doc: dict[str, Any]) -> Resource:
        ts = iso(now())
        return self._insert(directory, kind, str(uuid.uuid4()), doc, ts, ts)

    def restore_many(self, directory: str, kind: Kind, docs: Sequence[dict[str, Any]]) -> None:
        """Insert resources exactly as exported (ids, timestamps, version numbers, members).

        There is no transaction across objects: a refused resource undoes the ones this
        call wrote before raising, so none of ``docs`` stays stored.
        """
        items = [exported(kind, doc) for doc in docs]
        self._ready()
        batch = frozenset(item.id for item in items)
        written: list[str] = []
        try:
            for item in items:
                id = check_id(item.id)
                if self.cache.lookup(directory, kind, id) or self._fetch(directory, kind, id):
                    raise Uniqueness(f"a resource with id {id!r} already exists")
                self._insert(
                    directory,
                    kind,
                    id,
                    item.data | ({"members": [{"value": m} for m in item.members]} if item.members else {}),
                    iso(item.created),
                    iso(item.last_modified),
                    version=item.version or 1,
                    batch=batch,
                )
                written.append(id)
        except BaseException:
            for id in reversed(written):
                self.delete(directory, kind, id, if_match=None)
            raise

    def _insert(
        self,
        directory: str,
        kind: Kind,
        id: str,
        doc: dict[str, Any],
        created: str,
        modified: str,
        *,
        version: int = 1,
        batch: frozenset[str] = frozenset(),
    ) -> Resource:
        self._ready()
        members = tuple(dict.fromkeys(m["value"] for m in doc.get("members") or []))
        data = {k: v for k, v in doc.items() if k != "members"}
        self._check_members(directory, members, tuple(batch))
        name = object_name(directory, kind, id)
        entry = Entry(directory, kind, id, data, created, modified, version, members, name=name)
        body = build_object(self.flavour, entry, self.max_object_bytes)  # size refused before any write
        value = unique_value(kind, data)
        self.claims.take(directory, kind, value, id)
        try:
            stored = self.objects.create(body)
        except BaseException as exc:
            self.claims.release(directory, kind, value)
            if isinstance(exc, AlreadyExists):
                raise Uniqueness("a resource with this id already exists") from None
            raise
        saved = parse_object(self.flavour, stored)
        assert saved is not None
        self.cache.put(saved)
        self.claims.own(directory, saved, value)
        with self.cache.lock:
            return render(self.cache.directory(directory), saved, True)

    def _check_members(self, directory: str, members: tuple[str, ...], before: tuple[str, ...]) -> None:
        """Refuse too many members, or a new one that is not a User or Group here."""
        if len(members) > self.max_group_members:
            raise InvalidValue(
                f"a group may hold at most {self.max_group_members} members in ConfigMap storage "
                f"(this change makes {len(members)}); store this directory in PostgreSQL"
            )
        known = set(before)
        missing = []
        for member in members:
            if member in known:
                continue
            if self.cache.lookup(directory, "User", member) or self.cache.lookup(directory, "Group", member):
                continue
            if self._fetch(directory, "User", member) or self._fetch(directory, "Group", member):
                continue
            missing.append(member)
        if missing:
            raise InvalidValue(f"members not found in this directory: {', '.join(missing[:10])}")

    # -- update ---------------------------------------------------------------------------------
    def patch(
        self,
        directory: str,
        kind: Kind,
        id: str,
        mutate: Mutator | None,
        changes: list[MemberChange],
        *,
        if_match: str | None,
        members: bool,
    ) -> Resource:
        def compute(entry: Entry) -> tuple[dict[str, Any], tuple[str, ...]]:
            data = mutate(dict(entry.data)) if mutate is not None else entry.data
            return data, _apply_changes(entry.members, changes, self._type_of(directory))

        self._ready()
        entry = self._update(directory, kind, id, compute, if_match)
        with self.cache.lock:
            return render(self.cache.directory(directory), entry, members)

    def _update(
        self,
        directory: str,
        kind: Kind,
        id: str,
        compute: Callable[[Entry], tuple[dict[str, Any], tuple[str, ...]]],
        if_match: str | None,
    ) -> Entry:
        """Apply ``compute`` as one conditional write, re-applied on a conflict.

        Raises NotFound, PreconditionFailed, Uniqueness, InvalidValue, TooManyWrites (429).
        """
        name = object_name(directory, kind, id)
        with self._lock(name):
            entry = self._entry(directory, kind, id)
            claimed: str | None = None
            try:
                for attempt in range(MAX_ATTEMPTS):
                    check_version(if_match, entry.version)
                    data, members = compute(entry)
                    if data == entry.data and members == entry.members:
                        return entry
                    self._check_members(directory, members, entry.members)
                    value = unique_value(kind, data)
                    if fold(value) != entry.key and (claimed is None or fold(claimed) != fold(value)):
                        if claimed is not None:
                            self.claims.release(directory, kind, claimed)
                            claimed = None
                        self.claims.take(directory, kind, value, id)
                        claimed = value
                    changed = replace(
                        entry, data=data, members=members, modified=iso(now()), version=entry.version + 1
                    )
                    try:
                        stored = self.objects.replace(
                            build_object(self.flavour, changed, self.max_object_bytes)
                        )
                    except Stale:
                        time.sleep(random.uniform(0, 0.01 * 2 ** min(attempt, 5)))
                        fresh = self._fetch(directory, kind, id)
                        if fresh is None:
                            raise NotFound(f"{kind} {id!r} not found") from None
                        entry = fresh
                        continue
                    saved = parse_object(self.flavour, stored)
                    assert saved is not None
                    self.cache.put(saved)
                    if claimed is not None:
                        self.claims.own(directory, saved, claimed)
                        self.claims.release(directory, kind, unique_value(kind, entry.data))
                        claimed = None
                    return saved
                raise _contended(kind, id)
            finally:
                if claimed is not None:
                    self.claims.release(directory, kind, claimed)

    def _type_of(self, directory: str) -> Callable[[str], str]:
        def member_type(id: str) -> str:
            return "Group" if self.cache.lookup(directory, "Group", id) is not None else "User"

        return member_type

    # -- delete ---------------------------------------------------------------------------------
    def delete(self, directory: str, kind: Kind, id: str, *, if_match: str | None) -> None:
        self._ready()
        name = object_name(directory, kind, id)
        with self._lock(name):
            entry = self._entry(directory, kind, id)
            for _ in range(MAX_ATTEMPTS):
                check_version(if_match, entry.version)
                try:
                    gone = self.objects.delete(name, resource_version=entry.resource_version)
                except Stale:
                    fresh = self._fetch(directory, kind, id)
                    if fresh is None:
                        raise NotFound(f"{kind} {id!r} not found") from None
                    entry = fresh
                    continue
                if not gone:
                    raise NotFound(f"{kind} {id!r} not found")
                break
            else:
                raise _contended(kind, id)
            self.cache.remove(name, entry.resource_version)
        self.claims.release(directory, kind, unique_value(kind, entry.data))
        self._drop_memberships(directory, id)

    def _drop_memberships(self, directory: str, member: str) -> None:
        """Remove a deleted resource from every group that lists it."""
        with self.cache.lock:
            groups = sorted(self.cache.directory(directory).member_of.get(member, ()))
        change = [MemberChange("remove", (member,))]
        for group in groups:
            try:
                self._update(
                    directory,
                    "Group",
                    group,
                    lambda e: (e.data, _apply_changes(e.members, change, self._type_of(directory))),
                    None,
                )
            except NotFound:
                continue

    def delete_directory(self, directory: str) -> None:
        self._ready()
        self.objects.delete_collection(f"{MANAGED_BY}={MANAGER},{LABEL_DIRECTORY}={directory}")
        self.cache.forget_directory(directory)

    def purge_inactive(self, directory: str) -> int:
        self._ready()
        with self.cache.lock:
            users = self.cache.directory(directory).users
            inactive = [u.id for u in users.values() if u.data.get("active") is False]
        purged = 0
        for id in inactive:
            try:
                self.delete(directory, "User", id, if_match=None)
                purged += 1
            except NotFound:
                continue
        return purged


def _client(configuration: client.Configuration | None, pool_size: int) -> client.ApiClient:
    if configuration is None:
        return api_client(pool_size)
    copied = copy.deepcopy(configuration)
    copied.connection_pool_maxsize = pool_size
    return client.ApiClient(copied)


_MEMBERS_ATTR = group_type().schema.attributes["members"]


def _apply_changes(
    current: tuple[str, ...], changes: list[MemberChange], type_of: Callable[[str], str]
) -> tuple[str, ...]:
    """A group's member ids after ``changes`` (order kept, no duplicates)."""
    members = list(current)
    for change in changes:
        if change.kind == "add":
            present = set(members)
            members.extend(m for m in dict.fromkeys(change.ids) if m not in present)
        elif change.kind == "remove":
            gone = set(change.ids)
            members = [m for m in members if m not in gone]
        elif change.kind == "replace":
            members = list(dict.fromkeys(change.ids))
        else:
            assert change.filter is not None
            selected = matcher(_MEMBERS_ATTR, change.filter)
            members = [m for m in members if not selected({"value": m, "type": type_of(m)})]
    return tuple(members)


def open_kube_storage(url: str, **options: Any) -> KubeStorage:
    """``configmaps://NAMESPACE`` or ``secrets://NAMESPACE``; an empty namespace is the
    pod's own (its service account's namespace file), else ``default``."""
    scheme, _, rest = url.partition("://")
    flavour: Flavour = "Secret" if scheme == "secrets" else "ConfigMap"
    namespace = rest.strip("/") or _own_namespace()
    return KubeStorage(namespace, flavour, **options)


def _own_namespace() -> str:
    try:
        with open("/var/run/secrets/kubernetes.io/serviceaccount/namespace") as handle:
            return handle.read().strip() or "default"
    except OSError:
        return "default"
