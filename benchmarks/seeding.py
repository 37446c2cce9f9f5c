"""Seeding a SCIM server over HTTP, the way an IdP would, with progress on stderr.

Users whose ids a scenario needs, and groups, are created by a small thread pool of
``requests`` sessions (the response carries the id). Bulk users that are only ever found
by userName are POSTed by wrk in chunks (several times faster than a Python client on a
2-core machine where the client competes with the server for CPU).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from benchmarks.loadgen import Plan, Result
from benchmarks.payloads import (
    SCIM_JSON,
    add_members_body,
    group_body,
    template,
    user_body,
)
from benchmarks.seedplan import GroupSet, UserSet

BULK_CHUNK = 10_000
MEMBER_CHUNK = 1_000
THREADS = 4


class Progress:
    """Prints ``label: done/total (rate/s)`` to stderr at most every two seconds."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.done = label, total, 0
        self.start = self.last = time.monotonic()
        self.lock = threading.Lock()

    def add(self, n: int = 1) -> None:
        with self.lock:
            self.done += n
            now = time.monotonic()
            if now - self.last >= 2 or self.done >= self.total:
                self.last = now
                rate = self.done / max(now - self.start, 1e-9)
                print(
                    f"  seeding {self.label}: {self.done:,}/{self.total:,} ({rate:,.0f}/s)",
                    file=sys.stderr,
                    flush=True,
                )


class HttpSeeder:
    """Stores users and groups in the SCIM server at ``base_url`` + ``prefix``."""

    def __init__(self, base_url: str, prefix: str, token: str) -> None:
        self.base_url, self.prefix, self.token = base_url, prefix, token
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": SCIM_JSON}
        self._local = threading.local()

    def _send(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        url = f"{self.base_url}{self.prefix}{path}"
        response = session.request(method, url, json=body, headers=self.headers, timeout=120)
        if response.status_code not in (200, 201, 204):
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return response.json() if response.content else {}

    def _create_all(self, endpoint: str, bodies: Sequence[dict[str, Any]], label: str) -> list[str]:
        progress = Progress(label, len(bodies))

        def create(body: dict[str, Any]) -> str:
            created = self._send("POST", f"/{endpoint}", body)
            progress.add()
            return str(created["id"])

        with ThreadPoolExecutor(THREADS) as pool:
            return list(pool.map(create, bodies))

    def create_bodies(self, endpoint: str, bodies: Sequence[dict[str, Any]], label: str) -> list[str]:
        """POST the given bodies to ``endpoint`` (``Users``, ``Groups``); return the ids, in order."""
        return self._create_all(endpoint, bodies, label)

    def users(self, users: UserSet) -> list[str]:
        """Create the users of a set and return their ids, in set order."""
        bodies = [user_body(users.suffix(i)) for i in range(users.count)]
        return self._create_all("Users", bodies, f"users {users.name}")

    def bulk_users(self, users: UserSet, run: Callable[..., Result]) -> None:
        """Create the users of a set with wrk (``run`` is ``loadgen.run``); ids are not kept.

        Raises RuntimeError when the server refuses any of them.
        """
        progress = Progress(f"users {users.name}", users.count)
        body = template(user_body(f"{users.prefix}{{n}}"), "{n}")
        for start in range(0, users.count, BULK_CHUNK):
            size = min(BULK_CHUNK, users.count - start)
            plan = Plan(
                "POST",
                [f"{self.prefix}/Users"],
                self.headers,
                body,
                offset=start,
                limit=size,
                idle_path=f"{self.prefix}/ServiceProviderConfig",
            )
            result = run(self.base_url, plan, duration_s=3600, connections=THREADS)
            if result.error_count:
                raise RuntimeError(f"bulk seeding {users.name}: {result.errors}")
            progress.add(size)

    def groups(self, groups: GroupSet, members: list[str]) -> list[str]:
        """Create the groups of a set, each with ``members``; return their ids.

        Groups are created with at most MEMBER_CHUNK members, the rest added by PATCH.
        """
        first, rest = members[:MEMBER_CHUNK], members[MEMBER_CHUNK:]
        bodies = [group_body(groups.suffix(i), first) for i in range(groups.count)]
        ids = self._create_all("Groups", bodies, f"groups {groups.name}")
        chunks = list(_chunks(rest, MEMBER_CHUNK))
        if chunks:
            progress = Progress(f"members of groups {groups.name}", len(ids) * len(rest))

            def fill(group_id: str) -> None:
                for chunk in chunks:
                    self._send("PATCH", f"/Groups/{group_id}", add_members_body(chunk))
                    progress.add(len(chunk))

            with ThreadPoolExecutor(THREADS) as pool:
                list(pool.map(fill, ids))
        return ids


def _chunks(items: Sequence[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield list(items[i : i + size])
