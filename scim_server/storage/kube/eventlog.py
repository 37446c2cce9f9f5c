"""The ConfigMap backend's event log: bounded, in memory, derived from the watch.

Every change the watch delivers is diffed against the state last seen *through the
watch* (not the read cache, which takes this process's own writes early) into the same
``dsync.*`` events the SQL backends write in their transactions. Events are numbered
from etcd's revision (``resourceVersion * EVENTS_PER_REVISION + i``): monotonic, and the
same number in every server process watching the namespace, so a cursor taken from one
replica is valid on another.

What is lost is said, never skipped silently: each directory keeps at most ``capacity``
events (and none older than ``max_age``), and nothing from before this process's list
of the namespace. A reader whose position is older than what is kept gets
``EventsExpired``; reading from position 0 starts at the oldest event kept, and the
events kept never span a gap (a relist drops those before it).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from ...events.model import Change, StoredEvent, membership_change, resource_change
from ..events import EventsExpired
from ..rows import now
from .cache import DirectoryIndex, render
from .objects import Entry

log = logging.getLogger("kubescim.storage.kube")

#: Room for the events of one object change (a group's whole member set replaced).
EVENTS_PER_REVISION: Final = 100_000


@dataclass(slots=True)
class _Stream:
    """One directory's kept events and the position up to which some may be missing."""

    events: deque[StoredEvent] = field(default_factory=deque)
    floor: int = 0

    def lose_through(self, position: int) -> None:
        """Events up to ``position`` may be missing: keep only what follows it."""
        self.floor = max(self.floor, position)
        while self.events and self.events[0].seq <= self.floor:
            self.events.popleft()


def _changes(index: DirectoryIndex, old: Entry | None, new: Entry | None) -> list[Change]:
    """The events of one object going from ``old`` to ``new`` (applied to ``index`` here)."""
    if new is None:
        assert old is not None
        gone = render(index, old, old.kind == "User")
        index.discard(old)
        return [resource_change(old.kind, "deleted", gone)]
    if old is not None:
        before = render(index, old, old.kind == "User")
        index.replace(old, new)
    else:
        index.add(new)
    after = render(index, new, new.kind == "User")
    if old is None:
        out = [resource_change(new.kind, "created", after)]
    else:
        out = [resource_change(new.kind, "updated", after, before)] if new.data != old.data else []
    if new.kind == "Group" and (old is None or old.members != new.members):
        was = set(old.members) if old is not None else set()
        now_in = set(new.members)
        removed = [m for m in (old.members if old else ()) if m not in now_in and m in index.users]
        added = [m for m in new.members if m not in was and m in index.users]
        out += [membership_change(False, render(index, index.users[m], True), after) for m in removed]
        out += [membership_change(True, render(index, index.users[m], True), after) for m in added]
    return out


class WatchedEventLog:
    """``EventLog`` reads over the events the watch produced in this process.

    A ``WatchObserver`` of the storage cache: it gets the namespace's list and every
    watch event, in the API server's order, on the watch thread.
    """

    def __init__(
        self,
        capacity: int = 10_000,
        max_age: timedelta | None = None,
        clock: Callable[[], datetime] = now,
    ) -> None:
        self.capacity, self.max_age, self.clock = capacity, max_age, clock
        self._lock = threading.Lock()
        self._seen: dict[str, Entry] = {}
        self._dirs: dict[str, DirectoryIndex] = {}
        self._streams: dict[str, _Stream] = {}
        self._start = 0  # positions up to here predate what this process saw

    # -- WatchObserver ------------------------------------------------------------------------
    def listed(self, entries: list[Entry], version: str) -> None:
        """Start over from a full list: what happened before it is not known here."""
        with self._lock:
            self._lose_through(int(version))
            self._seen, self._dirs = {}, {}
            for entry in entries:
                self._seen[entry.name] = entry
                self._dirs.setdefault(entry.directory, DirectoryIndex()).add(entry)

    def watched(self, name: str, entry: Entry | None, version: str) -> None:
        with self._lock:
            revision = int(version)
            try:
                old = self._seen.pop(name, None)
                if entry is not None:
                    self._seen[name] = entry
                current = entry or old
                if current is None:
                    return
                index = self._dirs.setdefault(current.directory, DirectoryIndex())
                self._append(current.directory, revision, _changes(index, old, entry))
            except Exception:
                self._lose_through(revision)  # whatever this change meant is not in the log: say so
                raise

    def _lose_through(self, revision: int) -> None:
        """Changes up to ``revision`` may be missing: no reader may read across that gap."""
        self._start = max(self._start, (revision + 1) * EVENTS_PER_REVISION - 1)
        for stream in self._streams.values():
            stream.lose_through(self._start)

    def _append(self, directory: str, revision: int, changes: list[Change]) -> None:
        if not changes:
            return
        stream = self._streams.setdefault(directory, _Stream(floor=self._start))
        base = revision * EVENTS_PER_REVISION
        if len(changes) >= EVENTS_PER_REVISION:  # never in practice: say so rather than renumber
            log.warning("change at revision %d made %d events: not kept", revision, len(changes))
            stream.lose_through(base + EVENTS_PER_REVISION - 1)
            return
        at = self.clock()
        for i, change in enumerate(changes, start=1):
            stream.events.append(StoredEvent(directory, base + i, change.type, at, change.data))
        self._trim(stream, at - self.max_age if self.max_age is not None else None)

    def _trim(self, stream: _Stream, before: datetime | None) -> int:
        dropped = 0
        events = stream.events
        while events and (
            len(events) > self.capacity or (before is not None and events[0].occurred_at < before)
        ):
            stream.floor = max(stream.floor, events.popleft().seq)
            dropped += 1
        return dropped

    # -- EventLog reads -------------------------------------------------------------------------
    def events(
        self, directory: str, *, after: int = 0, limit: int = 100, types: Collection[str] | None = None
    ) -> list[StoredEvent]:
        with self._lock:
            stream = self._streams.get(directory)
            floor = stream.floor if stream is not None else self._start
            if 0 < after < floor:
                raise EventsExpired(
                    f"events of directory {directory!r} after this cursor are no longer kept: this "
                    "server keeps a bounded log in memory on ConfigMap storage (KUBESCIM_EVENT_BUFFER, "
                    "lost on restart); re-read the directory, then list events without 'after'"
                )
            out: list[StoredEvent] = []
            for event in stream.events if stream is not None else ():
                if event.seq > after and (not types or event.type in types):
                    out.append(event)
                    if len(out) >= limit:
                        break
            return out

    def last_event(self, directory: str) -> int:
        with self._lock:
            stream = self._streams.get(directory)
            return stream.events[-1].seq if stream is not None and stream.events else 0

    def prune_events(self, before: datetime) -> int:
        with self._lock:
            return sum(self._trim(stream, before) for stream in self._streams.values())
