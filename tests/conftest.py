"""Fixtures shared by every tier: storage backends (SQLite and a real PostgreSQL)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from scim_server.storage import Storage, open_storage
from tests.support.postgres import PostgresServer, running_postgres

pytest_plugins = ["tests.support.kube_fixtures"]

BACKENDS = ["sqlite", "postgres"]
_names = itertools.count()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server for the whole session, started from the binaries."""
    with running_postgres() as server:
        yield server


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """A database for the storage and API suites, migrated on first open."""
    return postgres_server.create_database("kubescim_tests")


@pytest.fixture(scope="session")
def postgres_storage(postgres_url: str) -> Iterator[Storage]:
    storage = open_storage(postgres_url, pool_size=4)
    yield storage
    storage.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def storage_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'kubescim.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def storage(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Storage]:
    """A backend under test; on PostgreSQL every test works in a directory of its own."""
    if backend == "postgres":
        yield request.getfixturevalue("postgres_storage")
        return
    store = open_storage(f"sqlite:///{tmp_path / 'kubescim.db'}")
    yield store
    store.close()


@pytest.fixture
def directory() -> str:
    """A directory name no other test uses (backends are shared across tests)."""
    return f"dir-{next(_names)}"
