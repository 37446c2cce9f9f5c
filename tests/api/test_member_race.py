"""16 writers add 1,000 distinct members to one group at once, through a two-process
gunicorn server on SQLite and PostgreSQL (ConfigMaps: tests/kube/test_member_race.py)."""

from __future__ import annotations

import pytest

from scim_server.storage import open_storage
from tests.support.live_server import live_server
from tests.support.member_race import assert_no_member_lost


@pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)
def test_sixteen_writers_add_a_thousand_members_and_none_is_lost(storage_url: str) -> None:
    with live_server(storage_url, workers=2) as server:
        assert_no_member_lost(server, open_storage(storage_url, pool_size=8))
