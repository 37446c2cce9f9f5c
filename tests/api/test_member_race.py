"""16 writers add 1,000 distinct members to one group at once, through a two-process
gunicorn server on SQLite and PostgreSQL (ConfigMaps: tests/kube/test_member_race.py)."""

from __future__ import annotations

import pytest

from scim_server.storage import open_storage
from tests.support.live_server import live_server
from tests.support.member_race import add_members_concurrently, members_of, seed_users
from tests.support.waiting import eventually

MEMBERS = 1000


@pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)
def test_sixteen_writers_add_a_thousand_members_and_none_is_lost(storage_url: str) -> None:
    with live_server(storage_url, workers=2) as server:
        storage = open_storage(storage_url, pool_size=8)
        try:
            users = seed_users(storage, server.directory, MEMBERS)
        finally:
            storage.close()
        race = add_members_concurrently(server, users)
        assert not {s: n for s, n in race.statuses.items() if s >= 500}, race.statuses
        assert set(race.statuses) <= {204, 429}, race.statuses
        eventually(lambda: members_of(server, race.group) == set(users), what="all 1,000 members present")
