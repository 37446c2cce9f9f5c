"""Fixtures shared by every tier: storage backends (SQLite and a real PostgreSQL), and the
markers that say what a test starts (``postgres``, ``server``, ``kube``), applied here from
the fixtures and helpers a test uses, so a new test cannot forget them."""

from __future__ import annotations

import itertools
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from scim_server.storage import Storage, open_storage
from tests.support.controlplane import ControlPlane
from tests.support.live_server import live_server
from tests.support.operator_runner import running_operator
from tests.support.postgres import PostgresServer, running_postgres

pytest_plugins = ["tests.support.kube_fixtures"]

BACKENDS = ["sqlite", "postgres"]
_names = itertools.count()

# -- markers: what a test starts ------------------------------------------------------------

STARTED_BY_FIXTURE = {"postgres_server": "postgres", "control_plane": "kube"}
"""Session fixtures that start something; every fixture built on them inherits the marker."""
STARTED_BY_HELPER: dict[object, str] = {
    running_postgres: "postgres",
    live_server: "server",
    running_operator: "server",
    ControlPlane: "kube",
}
"""What a test, or a fixture it uses, starts by calling one of these by name."""
_HELPER_IDS = {id(helper): marker for helper, marker in STARTED_BY_HELPER.items()}
STARTS_SOMETHING = "slow"
"""Added to every test with one of the markers above: ``-m "not slow"`` is the fast loop too."""


def _code_names(code: types.CodeType) -> Iterator[str]:
    """The global names a function's code (nested functions included) refers to."""
    yield from code.co_names
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_names(const)


def _helpers_called(function: Callable[..., Any]) -> set[str]:
    code, scope = getattr(function, "__code__", None), getattr(function, "__globals__", {})
    if code is None:
        return set()
    used = {id(scope.get(name)) for name in _code_names(code)}
    return {_HELPER_IDS[ref] for ref in used & _HELPER_IDS.keys()}


def markers_for(item: pytest.Item) -> set[str]:
    """The markers of what ``item`` starts, from its fixtures, parameters and code."""
    if not isinstance(item, pytest.Function):
        return set()
    wanted = {STARTED_BY_FIXTURE[name] for name in item.fixturenames if name in STARTED_BY_FIXTURE}
    callspec = getattr(item, "callspec", None)
    if callspec is not None and callspec.params.get("backend") == "postgres":
        wanted.add("postgres")  # ``storage`` & co. request PostgreSQL by getfixturevalue
    functions = [item.function]
    for definitions in item._fixtureinfo.name2fixturedefs.values():
        functions.append(definitions[-1].func)
    for function in functions:
        wanted |= _helpers_called(function)
    return wanted


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        wanted = markers_for(item)
        for name in sorted(wanted - {m.name for m in item.iter_markers()}):
            item.add_marker(name)
        if wanted and item.get_closest_marker(STARTS_SOMETHING) is None:
            item.add_marker(STARTS_SOMETHING)


class StartGuard:
    """Fails a test that starts PostgreSQL or the control plane without the marker for it
    (one that asked for it in a way collection cannot see, e.g. ``getfixturevalue``).

    It reports at teardown rather than refusing the fixture: a session fixture's error is
    cached and would fail every later test that uses it. A plugin rather than conftest
    hooks: a session fixture is set up through the session's hooks, which leave out
    conftests below the root."""

    name = "kubescim-start-guard"

    def __init__(self) -> None:
        self.item: pytest.Item | None = None
        self.unmarked: list[str] = []

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        self.item, self.unmarked = item, []

    def pytest_fixture_setup(self, fixturedef: pytest.FixtureDef[Any]) -> None:
        marker = STARTED_BY_FIXTURE.get(fixturedef.argname)
        if marker and self.item is not None and self.item.get_closest_marker(marker) is None:
            self.unmarked.append(f"{fixturedef.argname} without the marker {marker!r}")

    @pytest.hookimpl(trylast=True)  # after the fixtures' own teardown
    def pytest_runtest_teardown(self, item: pytest.Item) -> None:
        unmarked, self.unmarked = self.unmarked, []
        if unmarked:
            pytest.fail(
                f"{item.nodeid} started {', '.join(unmarked)}: request the fixture as an "
                "argument (tests/conftest.py marks by fixture) or mark the test",
                pytrace=False,
            )


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin(StartGuard.name):
        config.pluginmanager.register(StartGuard(), StartGuard.name)


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
