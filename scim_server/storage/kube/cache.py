"""The per-process cache of a namespace's stored resources: list, then watch.

A paginated LIST (following ``continue``) fills it; a WATCH from the list's
resourceVersion (with bookmarks) keeps it current, and a 410 Gone lists again. The
store applies each of its own successful writes at once (read-your-writes); an event
older than what the cache holds is ignored, so a late event never undoes a newer write.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ...crd.client import describe
from ..base import Kind, Resource
from ..rows import group_entry, group_resource, member_entry, user_resource
from .objectapi import Gone, ObjectApi
from .objects import RESOURCE_SELECTOR, Entry, Flavour, parse_object

log = logging.getLogger("kubescim.storage.kube")


def _newer(candidate: str, current: str) -> bool:
    """Whether resourceVersion ``candidate`` is later than ``current`` (etcd's are integers;
    anything else is taken as newer, as a plain informer would)."""
    try:
        return int(candidate) > int(current)
    except ValueError:
        return True


@dataclass(slots=True)
class DirectoryIndex:
    """One directory's resources, by id, by unique key, and who is a member of what."""

    users: dict[str, Entry] = field(default_factory=dict)
    groups: dict[str, Entry] = field(default_factory=dict)
    keys: dict[Kind, dict[str, str]] = field(default_factory=lambda: {"User": {}, "Group": {}})
    member_of: dict[str, set[str]] = field(default_factory=dict)

    def table(self, kind: Kind) -> dict[str, Entry]:
        return self.users if kind == "User" else self.groups

    def add(self, entry: Entry) -> None:
        self.table(entry.kind)[entry.id] = entry
        self.keys[entry.kind][entry.key] = entry.id
        for member in entry.members:
            self.member_of.setdefault(member, set()).add(entry.id)

    def replace(self, old: Entry, new: Entry) -> None:
        """``old`` becomes ``new`` (the same resource): memberships change by the difference
        only, so a member added to a large group costs O(1) index updates, not O(members)."""
        if self.keys[old.kind].get(old.key) == old.id:
            del self.keys[old.kind][old.key]
        self.table(new.kind)[new.id] = new
        self.keys[new.kind][new.key] = new.id
        if old.members != new.members:
            was, now = set(old.members), set(new.members)
            for member in was - now:
                groups = self.member_of.get(member)
                if groups is not None:
                    groups.discard(old.id)
                    if not groups:
                        del self.member_of[member]
            for member in now - was:
                self.member_of.setdefault(member, set()).add(new.id)

    def discard(self, entry: Entry) -> None:
        self.table(entry.kind).pop(entry.id, None)
        if self.keys[entry.kind].get(entry.key) == entry.id:
            del self.keys[entry.kind][entry.key]
        for member in entry.members:
            groups = self.member_of.get(member)
            if groups is not None:
                groups.discard(entry.id)
                if not groups:
                    del self.member_of[member]


def render(index: DirectoryIndex, entry: Entry, related: bool) -> Resource:
    """``entry`` as a SCIM resource; ``related``: a User's groups, a Group's members."""
    if entry.kind == "User":
        groups = None
        if related:
            found = [index.groups[g] for g in index.member_of.get(entry.id, ()) if g in index.groups]
            found.sort(key=lambda g: (g.created, g.id))
            groups = [group_entry(g.id, g.data.get("displayName")) for g in found]
        return user_resource(entry.id, entry.data, entry.created, entry.modified, entry.version, groups)
    members = None
    if related:
        members = [member_entry(m, "Group" if m in index.groups else "User") for m in entry.members]
    return group_resource(entry.id, entry.data, entry.created, entry.modified, entry.version, members)


class WatchObserver(Protocol):
    """What sees the namespace's changes exactly as the API server ordered them."""

    def listed(self, entries: list[Entry], version: str) -> None:
        """A full list taken at ``version`` (the first, or again after the watch broke)."""

    def watched(self, name: str, entry: Entry | None, version: str) -> None:
        """The object ``name`` is now ``entry`` (None: deleted), at ``version``."""


class ResourceCache:
    """Every user and group object of one namespace, in memory, kept current by a watch."""

    def __init__(
        self,
        objects: ObjectApi,
        flavour: Flavour,
        watch_seconds: int = 30,
        observer: WatchObserver | None = None,
    ) -> None:
        self.objects, self.flavour, self.watch_seconds = objects, flavour, watch_seconds
        self.observer = observer
        self.lock = threading.RLock()
        self.ready = threading.Event()
        self._entries: dict[str, Entry] = {}
        self._deleted: dict[str, str] = {}
        self._dirs: dict[str, DirectoryIndex] = {}
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kubescim-storage-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """End the watch thread: its request is interrupted or, for a list, awaited (bounded),
        so no request is in flight when the interpreter exits (which can abort it)."""
        self._stopped.set()
        self.objects.interrupt()
        if self._thread.is_alive():
            self._thread.join(timeout)

    # -- reads (callers hold no lock; each returns a consistent snapshot) ---------------------
    def directory(self, directory: str) -> DirectoryIndex:
        """The live index of ``directory``; read it under ``lock``."""
        with self.lock:
            return self._dirs.setdefault(directory, DirectoryIndex())

    def entries(self) -> list[Entry]:
        """Every resource held, as a list (a snapshot)."""
        with self.lock:
            return list(self._entries.values())

    def lookup(self, directory: str, kind: Kind, id: str) -> Entry | None:
        with self.lock:
            index = self._dirs.get(directory)
            return index.table(kind).get(id) if index else None

    def locate(self, kind: Kind, id: str) -> str | None:
        """The directory holding resource ``id`` (ids are unique across directories)."""
        with self.lock:
            return next((d for d, index in self._dirs.items() if id in index.table(kind)), None)

    # -- updates ----------------------------------------------------------------------------
    def put(self, entry: Entry) -> None:
        """Hold ``entry`` unless the cache already has a later version of its object."""
        with self.lock:
            current = self._entries.get(entry.name)
            if current is not None and not _newer(entry.resource_version, current.resource_version):
                return
            gone = self._deleted.get(entry.name)
            if gone is not None and not _newer(entry.resource_version, gone):
                return
            self._deleted.pop(entry.name, None)
            self._entries[entry.name] = entry
            if current is not None and current.directory == entry.directory:
                self._dirs[current.directory].replace(current, entry)
                return
            if current is not None:
                self._dirs[current.directory].discard(current)
            self._dirs.setdefault(entry.directory, DirectoryIndex()).add(entry)

    def remove(self, name: str, resource_version: str) -> None:
        """Forget the object ``name``, deleted at ``resource_version``."""
        with self.lock:
            current = self._entries.pop(name, None)
            if current is not None:
                self._dirs[current.directory].discard(current)
            self._deleted[name] = resource_version

    def forget_directory(self, directory: str) -> None:
        with self.lock:
            index = self._dirs.pop(directory, None)
            if index is None:
                return
            for entry in (*index.users.values(), *index.groups.values()):
                self._entries.pop(entry.name, None)
                self._deleted[entry.name] = entry.resource_version

    def _replace_all(self, items: Iterable[dict[str, Any]], version: str) -> None:
        """Load a full list taken at ``version``, keeping own writes made after it."""
        listed = {e.name: e for e in (parse_object(self.flavour, o) for o in items) if e is not None}
        self._notify(lambda o: o.listed(list(listed.values()), version))
        with self.lock:
            for name, entry in self._entries.items():
                if _newer(entry.resource_version, version) and (
                    name not in listed or _newer(entry.resource_version, listed[name].resource_version)
                ):
                    listed[name] = entry
            for name, gone in self._deleted.items():
                if name in listed and not _newer(listed[name].resource_version, gone):
                    del listed[name]
            self._deleted = {n: v for n, v in self._deleted.items() if _newer(v, version)}
            self._entries = {}
            self._dirs = {}
            for entry in listed.values():
                self._entries[entry.name] = entry
                self._dirs.setdefault(entry.directory, DirectoryIndex()).add(entry)

    def _apply(self, kind: str, obj: dict[str, Any]) -> None:
        version = (obj.get("metadata") or {}).get("resourceVersion", "")
        if kind == "DELETED":
            self._notify(lambda o: o.watched(obj["metadata"]["name"], None, version))
            self.remove(obj["metadata"]["name"], version)
            return
        entry = parse_object(self.flavour, obj)
        if entry is not None:
            self._notify(lambda o: o.watched(entry.name, entry, version))
            self.put(entry)

    def _notify(self, call: Callable[[WatchObserver], None]) -> None:
        """Tell the observer; its failure never stops the cache."""
        if self.observer is None:
            return
        try:
            call(self.observer)
        except Exception:
            log.exception("storage watch observer failed")

    # -- the watch thread --------------------------------------------------------------------
    def _run(self) -> None:
        backoff = 0.5
        while not self._stopped.is_set():
            try:
                items, version = self.objects.list_all(RESOURCE_SELECTOR)
                self._replace_all(items, version)
                self.ready.set()
                backoff = 0.5
                self._watch(version)
            except Gone:
                log.info("storage watch expired; listing again")
                continue
            except Exception as exc:
                if self._stopped.is_set():
                    return
                log.warning("storage watch failed (%s); listing again in %.1fs", describe(exc), backoff)
                self._stopped.wait(backoff)
                backoff = min(backoff * 2, 10.0)

    def _watch(self, version: str) -> None:
        while not self._stopped.is_set():
            for event in self.objects.watch(RESOURCE_SELECTOR, version, self.watch_seconds):
                if self._stopped.is_set():
                    return
                obj = event.get("object") or {}
                version = (obj.get("metadata") or {}).get("resourceVersion") or version
                if event.get("type") in ("ADDED", "MODIFIED", "DELETED"):
                    self._apply(event["type"], obj)
                elif event.get("type") == "BOOKMARK":
                    self._prune(version)

    def _prune(self, version: str) -> None:
        """Forget deletions the watch has passed: no event older than them can come now."""
        with self.lock:
            self._deleted = {n: v for n, v in self._deleted.items() if _newer(v, version)}
