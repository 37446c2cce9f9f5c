"""Export from every backend, import into every backend: each resource comes back whole.

The matrix is ``TRANSFER_BACKENDS`` squared (ConfigMaps on the real control plane). A
backend joins it with one parameter and one branch in ``open_store`` (which must give two
independent stores of the same backend for the two ``slot`` names: two databases, two
namespaces).
"""

from __future__ import annotations

import io
import itertools
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s

from scim_server.scim.patch import MemberChange
from scim_server.storage import Storage, open_storage
from scim_server.transfer.runner import export_directory, import_plan, read_export

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
POSTGRES = [pytest.mark.postgres, pytest.mark.slow]  # started through getfixturevalue

KUBE = [pytest.mark.kube, pytest.mark.slow]  # the real control plane, through getfixturevalue

TRANSFER_BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", marks=POSTGRES, id="postgres"),
    pytest.param("configmaps", marks=KUBE, id="configmaps"),
]
#: Backends that number versions themselves, and so keep an exported ``meta.version``.
KEEP_VERSIONS = {"sqlite", "postgres", "configmaps"}
_databases = itertools.count()

OpenStore = Callable[[str, str], Storage]


def kube_namespace(request: pytest.FixtureRequest, slot: str) -> str:
    """A fresh namespace of the session's control plane, deleted after the test."""
    api = request.getfixturevalue("kube_api")
    core = k8s.CoreV1Api(api)
    name = f"transfer-{slot}-{uuid.uuid4().hex[:8]}"
    core.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=name)))
    request.addfinalizer(lambda: core.delete_namespace(name))
    return name


@pytest.fixture
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenStore]:
    """Open an empty store of a backend; ``slot`` keeps two stores of one backend apart."""
    opened: list[Storage] = []

    def open_(backend: str, slot: str) -> Storage:
        if backend == "sqlite":
            url = f"sqlite:///{tmp_path / slot}.db"
        elif backend == "postgres":
            server = request.getfixturevalue("postgres_server")
            url = server.create_database(f"transfer_{slot}_{next(_databases)}")
        elif backend == "configmaps":
            url = f"configmaps://{kube_namespace(request, slot)}"
        else:
            raise AssertionError(f"no store for backend {backend!r}")
        store = open_storage(url, pool_size=2)
        opened.append(store)
        return store

    yield open_
    for store in opened:
        store.close()


def populate(storage: Storage, directory: str) -> None:
    """A directory with every feature an export must carry."""
    users = [
        storage.create(
            directory,
            "User",
            {
                "userName": f"user{i}@example.com",
                "externalId": f"ext-{i}",
                "active": i % 3 != 0,
                "name": {"givenName": f"Given{i}", "familyName": "Family"},
                "emails": [{"value": f"user{i}@example.com", "type": "work", "primary": True}],
                ENTERPRISE: {"employeeNumber": str(1000 + i), "manager": {"value": "boss"}},
            },
        )
        for i in range(30)
    ]
    ids = [u["id"] for u in users]
    # Versions and lastModified past their first values.
    storage.patch(
        directory, "User", ids[0], lambda d: {**d, "title": "Changed"}, [], if_match=None, members=False
    )
    storage.create(directory, "User", {"userName": "zoë@exämple.com", "displayName": "Zoë 山田 \U0001f600"})
    inner = storage.create(directory, "Group", {"displayName": "inner", "externalId": "g-inner"})
    outer = storage.create(directory, "Group", {"displayName": "outer", "members": [{"value": inner["id"]}]})
    storage.patch(
        directory,
        "Group",
        inner["id"],
        None,
        [MemberChange("add", tuple(ids[:5]))],
        if_match=None,
        members=False,
    )
    a = storage.create(directory, "Group", {"displayName": "cycle-a", "members": [{"value": ids[5]}]})
    b = storage.create(directory, "Group", {"displayName": "cycle-b", "members": [{"value": a["id"]}]})
    storage.patch(
        directory, "Group", a["id"], None, [MemberChange("add", (b["id"],))], if_match=None, members=False
    )
    storage.create(directory, "Group", {"displayName": "everyone", "members": [{"value": i} for i in ids]})
    storage.create(directory, "Group", {"displayName": "empty"})
    assert outer["id"]


def export_text(storage: Storage, directory: str) -> str:
    out = io.StringIO()
    export_directory(storage, directory, out.write, generator="test")
    return out.getvalue()


def everything(storage: Storage, directory: str) -> dict[str, dict[str, Any]]:
    """Every resource as ``get`` returns it (a User's derived ``groups`` included)."""
    text = export_text(storage, directory)
    plan = read_export(text.splitlines())
    found = {}
    for kind, batch in [("User", plan.users), ("Group", [g.text for g in plan.groups])]:
        for line in batch:
            id = line.split('"id":"', 1)[1].split('"', 1)[0]
            found[id] = storage.get(directory, kind, id)  # type: ignore[arg-type]
    return found


def comparable(resource: dict[str, Any], keep_version: bool) -> dict[str, Any]:
    out = {**resource, "meta": dict(resource["meta"])}
    for key in ("members", "groups"):
        if key in out:
            out[key] = sorted(out[key], key=lambda m: m["value"])
    if not keep_version:
        assert out["meta"].pop("version").startswith('W/"')
    return out


@pytest.mark.parametrize("target", TRANSFER_BACKENDS)
@pytest.mark.parametrize("source", TRANSFER_BACKENDS)
def test_a_directory_moves_between_backends_whole(open_store: OpenStore, source: str, target: str) -> None:
    origin, destination = open_store(source, "source"), open_store(target, "target")
    populate(origin, "acme")
    before = everything(origin, "acme")
    exported = export_text(origin, "acme")

    written = import_plan(destination, "moved", read_export(exported.splitlines()))

    assert written == len(before) == 31 + 6
    after = everything(destination, "moved")
    keep = source in KEEP_VERSIONS and target in KEEP_VERSIONS
    assert {id: comparable(r, keep) for id, r in after.items()} == {
        id: comparable(r, keep) for id, r in before.items()
    }
    # The same text again, header aside: nothing was lost or reordered.
    assert export_text(destination, "moved").splitlines()[1:] == exported.splitlines()[1:]
    stats = destination.stats("moved")
    assert (stats.users, stats.groups) == (31, 6)
