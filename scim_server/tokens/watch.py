"""Watching one kind of object so that silence is noticed.

Every request has a client-side read timeout longer than the watch's server-side
timeout, so a connection that goes silent is abandoned and the objects re-listed over a
new one: a change arrives within ``WatchTiming.revocation_bound`` while the API server is
reachable.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from ..crd.client import describe

log = logging.getLogger("kubescim.tokens")


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


ListCall = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class Watch:
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
                    describe(exc),
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
