"""16 writers add 1,000 distinct members to one group at once, through a two-process
gunicorn server on ConfigMaps: every process has its own cache and write lock, so the
processes' writes meet only at the API server's resourceVersion check."""

from __future__ import annotations

from scim_server.storage import open_storage
from tests.support.live_server import live_server
from tests.support.member_race import assert_no_member_lost


def test_sixteen_writers_add_a_thousand_members_to_a_config_map_group(namespace: str) -> None:
    url = f"configmaps://{namespace}"
    # The write limit is raised: this test is about lost updates, not about throttling.
    with live_server(url, workers=2, env={"KUBESCIM_STORAGE_WRITE_RATE": "200"}) as server:
        assert_no_member_lost(server, open_storage(url, write_rate=500.0, pool_size=8))
