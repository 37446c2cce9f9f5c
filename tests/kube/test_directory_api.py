"""The directory API's read tests (``tests/api/test_directory_api.py``), unchanged, on
ConfigMaps and Secrets of the real control plane: keyset pages, a group's users and a
user's groups, lookup by id and organization isolation answered from the cache.

The events tests there number events 1, 2, ... as the SQL outbox does; the ConfigMap
log has its own (``test_configmap_events.py``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from scim_server.storage import Storage, open_storage
from tests.api.conftest import app, client, scim, settings, tokens  # noqa: F401  (fixtures)
from tests.api.test_directory_api import (  # noqa: F401  (collected here again)
    acme,
    organizations,
    test_a_groups_users_and_a_users_groups,
    test_a_user_reads_as_a_directory_user,
    test_bad_parameters_are_named,
    test_the_directory_reports_counts_and_last_sync,
    test_users_page_by_cursor_in_both_orders,
)


@pytest.fixture(params=["configmaps", "secrets"])
def storage(request: pytest.FixtureRequest, namespace: str) -> Iterator[Storage]:
    store = open_storage(f"{request.param}://{namespace}", write_rate=200.0)
    yield store
    store.close()
