"""Many writers adding members to one group at once, through the HTTP API of a live server."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import requests

from scim_server.scim.schemas import PATCH_SCHEMA
from scim_server.storage import Storage
from tests.support.live_server import LiveServer
from tests.support.waiting import eventually


@dataclass(frozen=True)
class RaceResult:
    group: str
    statuses: dict[int, int]
    """How many answers had each status (a 429 retried after its Retry-After is counted too)."""


def seed_users(storage: Storage, directory: str, count: int, threads: int = 8) -> list[str]:
    """``count`` users created straight through the backend (the race is about the group)."""

    def create(i: int) -> str:
        return str(storage.create(directory, "User", {"userName": f"member{i:05d}", "active": True})["id"])

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(create, range(count)))


def add_members_concurrently(server: LiveServer, users: list[str], writers: int = 16) -> RaceResult:
    """``writers`` clients each PATCH-add their share of ``users`` to one new group, one
    member per request; a 429 is retried after its ``Retry-After``, as IdPs do."""
    headers = {"Authorization": server.auth_header, "Content-Type": "application/scim+json"}
    created = requests.post(
        f"{server.endpoint}/Groups", json={"displayName": "crowd"}, headers=headers, timeout=30
    )
    created.raise_for_status()
    group = created.json()["id"]
    statuses: dict[int, int] = {}

    def writer(share: list[str]) -> list[int]:
        seen: list[int] = []
        with requests.Session() as session:
            for user in share:
                body = {
                    "schemas": [PATCH_SCHEMA],
                    "Operations": [{"op": "add", "path": "members", "value": [{"value": user}]}],
                }
                while True:
                    answer = session.patch(
                        f"{server.endpoint}/Groups/{group}", json=body, headers=headers, timeout=60
                    )
                    seen.append(answer.status_code)
                    if answer.status_code != 429:
                        break
                    time.sleep(float(answer.headers.get("Retry-After", "1")))
        return seen

    with ThreadPoolExecutor(writers) as pool:
        for seen in pool.map(writer, [users[i::writers] for i in range(writers)]):
            for status in seen:
                statuses[status] = statuses.get(status, 0) + 1
    return RaceResult(group, statuses)


def members_of(server: LiveServer, group: str) -> set[str]:
    """The group's members as the server answers a GET (any worker)."""
    answer = requests.get(
        f"{server.endpoint}/Groups/{group}", headers={"Authorization": server.auth_header}, timeout=60
    )
    answer.raise_for_status()
    return {m["value"] for m in answer.json().get("members", [])}


def assert_no_member_lost(server: LiveServer, storage: Storage, members: int = 1000) -> None:
    """Seed ``members`` users through ``storage``, race 16 writers adding them to one group
    through ``server``; assert no answer was 5xx (or other than 204 and 429) and, once the
    server's workers agree, every member is present."""
    try:
        users = seed_users(storage, server.directory, members)
    finally:
        storage.close()
    race = add_members_concurrently(server, users)
    assert not {s: n for s, n in race.statuses.items() if s >= 500}, race.statuses
    assert set(race.statuses) <= {204, 429}, race.statuses
    eventually(lambda: members_of(server, race.group) == set(users), what="all members present")
