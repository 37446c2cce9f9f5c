"""What the ConfigMap backend promises beyond the storage contract, on the real control
plane: what an object looks like, name claims, reads across processes, its guards, the
RBAC it needs, and restore."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from kubernetes import client as k8s

from scim_server.scim.errors import InvalidValue, NotFound, ServiceUnavailable, Uniqueness
from scim_server.scim.filter import parse_filter
from scim_server.scim.patch import MemberChange
from scim_server.scim.query import ListQuery
from scim_server.storage.kube.objects import claim_name, object_name
from scim_server.storage.kube.store import KubeStorage
from tests.support.waiting import eventually

DIR = "acme"


@pytest.fixture
def store(namespace: str) -> Iterator[KubeStorage]:
    storage = KubeStorage(namespace, write_rate=200.0)
    yield storage
    storage.close()


def config_map(kube_api: k8s.ApiClient, namespace: str, name: str) -> k8s.V1ConfigMap:
    return k8s.CoreV1Api(kube_api).read_namespaced_config_map(name, namespace)


def test_a_user_is_one_readable_config_map_labelled_without_personal_data(
    store: KubeStorage, kube_api: k8s.ApiClient, namespace: str
) -> None:
    created = store.create(DIR, "User", {"userName": "Bjensen@Example.com", "title": "Guide"})
    obj = config_map(kube_api, namespace, object_name(DIR, "User", created["id"]))
    assert obj.metadata.labels == {
        "app.kubernetes.io/managed-by": "kubescim",
        "storage.kubescim.io/directory": DIR,
        "storage.kubescim.io/type": "user",
    }
    stored = json.loads(obj.data["resource"])
    assert stored["userName"] == "Bjensen@Example.com"
    assert stored["meta"]["version"] == 1
    claim = config_map(kube_api, namespace, claim_name(DIR, "User", "bjensen@example.COM"))
    assert json.loads(json.dumps(claim.data)) == {"kind": "User", "id": created["id"]}
    assert [ref.uid for ref in claim.metadata.owner_references] == [obj.metadata.uid]


def test_passwords_are_never_stored(store: KubeStorage, kube_api: k8s.ApiClient, namespace: str) -> None:
    created = store.create(DIR, "User", {"userName": "u", "password": "hunter2-secret"})
    obj = config_map(kube_api, namespace, object_name(DIR, "User", created["id"]))
    assert "hunter2" not in json.dumps(obj.data)


def test_the_secret_flavour_keeps_resources_in_secrets(namespace: str, kube_api: k8s.ApiClient) -> None:
    storage = KubeStorage(namespace, "Secret", write_rate=200.0)
    try:
        created = storage.create(DIR, "User", {"userName": "s"})
    finally:
        storage.close()
    core = k8s.CoreV1Api(kube_api)
    secret = core.read_namespaced_secret(object_name(DIR, "User", created["id"]), namespace)
    assert secret.type == "Opaque"
    assert not core.list_namespaced_config_map(namespace, label_selector="storage.kubescim.io/type").items


def test_a_renamed_user_moves_its_claim(store: KubeStorage, kube_api: k8s.ApiClient, namespace: str) -> None:
    created = store.create(DIR, "User", {"userName": "old"})
    store.replace(DIR, "User", created["id"], {"userName": "new"}, if_match=None)
    names = {
        cm.metadata.name
        for cm in k8s.CoreV1Api(kube_api)
        .list_namespaced_config_map(namespace, label_selector="storage.kubescim.io/type=claim")
        .items
    }
    assert names == {claim_name(DIR, "User", "new")}
    store.create(DIR, "User", {"userName": "OLD"})  # the old name is free again


def test_deleting_frees_the_name_at_once(store: KubeStorage) -> None:
    created = store.create(DIR, "Group", {"displayName": "Admins"})
    store.delete(DIR, "Group", created["id"], if_match=None)
    store.create(DIR, "Group", {"displayName": "admins"})


def leftover_claim(kube_api: k8s.ApiClient, namespace: str, value: str) -> None:
    """A claim as a process that crashed between the claim and the resource leaves it."""
    body = {
        "metadata": {
            "name": claim_name(DIR, "User", value),
            "labels": {
                "app.kubernetes.io/managed-by": "kubescim",
                "storage.kubescim.io/directory": DIR,
                "storage.kubescim.io/type": "claim",
            },
        },
        "data": {"kind": "User", "id": "never-created"},
    }
    k8s.CoreV1Api(kube_api).create_namespaced_config_map(namespace, body)


def test_a_fresh_claim_without_its_resource_still_holds_the_name(
    store: KubeStorage, kube_api: k8s.ApiClient, namespace: str
) -> None:
    leftover_claim(kube_api, namespace, "racing")  # a create in flight elsewhere looks the same
    with pytest.raises(Uniqueness):
        store.create(DIR, "User", {"userName": "racing"})


def test_a_stale_claim_is_swept_and_no_longer_blocks_its_name(
    kube_api: k8s.ApiClient, namespace: str
) -> None:
    leftover_claim(kube_api, namespace, "crashed")
    leftover_claim(kube_api, namespace, "swept")
    storage = KubeStorage(namespace, write_rate=200.0, claim_grace=timedelta(0))
    try:
        storage.create(DIR, "User", {"userName": "crashed"})  # the stale claim is taken over

        def swept() -> bool:
            core = k8s.CoreV1Api(kube_api)
            names = {c.metadata.name for c in core.list_namespaced_config_map(namespace).items}
            return claim_name(DIR, "User", "swept") not in names

        eventually(swept, what="the start-up sweep removing the leftover claim")
    finally:
        storage.close()


def test_another_process_reads_a_new_resource_at_once_and_lists_it_soon(namespace: str) -> None:
    writer = KubeStorage(namespace, write_rate=200.0)
    reader = KubeStorage(namespace, write_rate=200.0)
    try:
        assert reader.cache.ready.wait(30), "the reader never listed"
        user = writer.create(DIR, "User", {"userName": "fresh"})
        assert reader.get(DIR, "User", user["id"])["userName"] == "fresh"  # read from the API
        group = writer.create(DIR, "Group", {"displayName": "g"})
        add = [MemberChange("add", (user["id"],))]
        reader.patch(DIR, "Group", group["id"], None, add, if_match=None, members=True)
        eventually(
            lambda: (
                reader.query(DIR, "User", ListQuery(filter=parse_filter('userName eq "FRESH"'))).total == 1
            ),
            what="the watch delivering the new user",
        )
        eventually(
            lambda: (
                writer.get(DIR, "Group", group["id"]).get("members")
                == [{"value": user["id"], "type": "User"}]
            ),
            what="the watch delivering the other process's member add",
        )
        writer.delete(DIR, "User", user["id"], if_match=None)
        eventually(lambda: reader.stats(DIR).users == 0, what="the watch delivering the deletion")
        with pytest.raises(NotFound):
            reader.get(DIR, "User", user["id"])
    finally:
        writer.close()
        reader.close()


def test_an_object_over_the_byte_cap_is_refused_before_it_is_sent(namespace: str) -> None:
    storage = KubeStorage(namespace, write_rate=200.0, max_object_bytes=2048)
    try:
        with pytest.raises(InvalidValue, match="PostgreSQL"):
            storage.create(DIR, "User", {"userName": "big", "title": "x" * 4096})
        storage.create(DIR, "User", {"userName": "big"})  # nothing (not even its claim) was kept
        assert storage.stats(DIR).users == 1
    finally:
        storage.close()


def test_a_group_beyond_the_member_limit_is_refused_with_a_clear_error(namespace: str) -> None:
    storage = KubeStorage(namespace, write_rate=200.0, max_group_members=2)
    try:
        users = [storage.create(DIR, "User", {"userName": f"u{i}"})["id"] for i in range(3)]
        group = storage.create(
            DIR, "Group", {"displayName": "g", "members": [{"value": u} for u in users[:2]]}
        )
        with pytest.raises(InvalidValue, match="at most 2 members"):
            storage.patch(
                DIR,
                "Group",
                group["id"],
                None,
                [MemberChange("add", (users[2],))],
                if_match=None,
                members=False,
            )
        assert len(storage.get(DIR, "Group", group["id"])["members"]) == 2
    finally:
        storage.close()


def test_restore_keeps_id_timestamps_and_members(store: KubeStorage) -> None:
    meta = {"created": "2024-01-02T03:04:05.000006Z", "lastModified": "2024-02-03T04:05:06.000007Z"}
    user = store.restore(DIR, "User", {"id": "0b0e-u", "userName": "restored", "meta": meta})
    group = store.restore(
        DIR, "Group", {"id": "0b0e-g", "displayName": "team", "members": [{"value": "0b0e-u"}], "meta": meta}
    )
    assert (user["id"], user["meta"]["created"], user["meta"]["lastModified"]) == (
        "0b0e-u",
        meta["created"],
        meta["lastModified"],
    )
    assert store.get(DIR, "Group", group["id"])["members"] == [{"value": "0b0e-u", "type": "User"}]
    with pytest.raises(Uniqueness):
        store.restore(DIR, "User", {"id": "0b0e-u", "userName": "other", "meta": meta})
    with pytest.raises(Uniqueness):
        store.restore(DIR, "User", {"id": "another", "userName": "RESTORED", "meta": meta})


STORAGE_RULES = [
    k8s.V1PolicyRule(
        api_groups=[""],
        resources=["configmaps"],
        verbs=["get", "list", "watch", "create", "update", "patch", "delete"],
    )
]


def service_account(
    kube_api: k8s.ApiClient, namespace: str, name: str, rules: list[k8s.V1PolicyRule]
) -> None:
    core, rbac = k8s.CoreV1Api(kube_api), k8s.RbacAuthorizationV1Api(kube_api)
    core.create_namespaced_service_account(
        namespace, k8s.V1ServiceAccount(metadata=k8s.V1ObjectMeta(name=name))
    )
    if not rules:
        return
    rbac.create_namespaced_role(namespace, k8s.V1Role(metadata=k8s.V1ObjectMeta(name=name), rules=rules))
    rbac.create_namespaced_role_binding(
        namespace,
        k8s.V1RoleBinding(
            metadata=k8s.V1ObjectMeta(name=name),
            role_ref=k8s.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="Role", name=name),
            subjects=[k8s.RbacV1Subject(kind="ServiceAccount", name=name, namespace=namespace)],
        ),
    )


def test_the_documented_namespaced_role_is_enough(
    kube_api: k8s.ApiClient, namespace: str, kube_api_as: Callable[[str, str], k8s.ApiClient]
) -> None:
    service_account(kube_api, namespace, "kubescim-server", STORAGE_RULES)
    api = kube_api_as(namespace, "kubescim-server")
    storage = KubeStorage(namespace, write_rate=200.0, configuration=api.configuration)
    try:
        user = storage.create(DIR, "User", {"userName": "rbac"})
        group = storage.create(DIR, "Group", {"displayName": "g", "members": [{"value": user["id"]}]})
        storage.replace(DIR, "User", user["id"], {"userName": "renamed"}, if_match=None)
        storage.delete(DIR, "Group", group["id"], if_match=None)
        storage.delete_directory(DIR)  # no deletecollection: one delete per object
        assert (storage.stats(DIR).users, storage.stats(DIR).groups) == (0, 0)
        core = k8s.CoreV1Api(kube_api)
        assert not core.list_namespaced_config_map(
            namespace, label_selector="storage.kubescim.io/directory"
        ).items
    finally:
        storage.close()


def test_storage_is_not_ready_until_it_could_list(
    kube_api: k8s.ApiClient, namespace: str, kube_api_as: Callable[[str, str], k8s.ApiClient]
) -> None:
    service_account(kube_api, namespace, "no-rights", [])
    api = kube_api_as(namespace, "no-rights")
    storage = KubeStorage(namespace, configuration=api.configuration)
    try:
        with pytest.raises(ServiceUnavailable):
            storage.ping()
        assert not storage.cache.ready.wait(1.0)
    finally:
        storage.close()


def test_a_lost_claim_is_restored_at_start_up(
    store: KubeStorage, kube_api: k8s.ApiClient, namespace: str
) -> None:
    """Objects restored from a backup lose their claims (the owner uids changed, so the
    garbage collector removes them): the next process to start claims the names again."""
    store.create(DIR, "User", {"userName": "kept"})
    k8s.CoreV1Api(kube_api).delete_namespaced_config_map(claim_name(DIR, "User", "kept"), namespace)
    restarted = KubeStorage(namespace, write_rate=200.0)
    try:
        eventually(
            lambda: config_map(kube_api, namespace, claim_name(DIR, "User", "kept")),
            what="the start-up sweep claiming the name again",
        )
        with pytest.raises(Uniqueness):
            restarted.create(DIR, "User", {"userName": "KEPT"})
    finally:
        restarted.close()


def test_closing_stops_every_thread_so_a_cli_process_exits_cleanly(
    store: KubeStorage, namespace: str, tmp_path: Path
) -> None:
    """A short-lived process (the CLI) must not die at exit with the watch still reading."""
    store.create(DIR, "User", {"userName": "exported"})
    env = {
        **os.environ,
        "KUBESCIM_DATABASE_URL": f"configmaps://{namespace}",
        "KUBESCIM_STATE_DIR": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-m", "scim_server.cli", "directories", "export", DIR],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    header, *resources = (json.loads(line) for line in done.stdout.splitlines())
    assert header["counts"] == {"users": 1, "groups": 0}
    assert [r["userName"] for r in resources] == ["exported"]


def test_a_process_that_closes_the_store_at_once_exits_cleanly(namespace: str) -> None:
    """A short CLI command closes the store while its first list may still be in flight:
    the watch thread must be done before the interpreter exits (else it aborts, -6)."""
    code = f"from scim_server.storage import open_storage; open_storage('configmaps://{namespace}').close()"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBESCIM_")}
    for _ in range(3):
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr[-2000:]
