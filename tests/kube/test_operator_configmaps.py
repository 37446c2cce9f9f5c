"""The operator over ConfigMap storage: status counts, CapacityWarning, deletion cleanup."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kubernetes import client

from scim_operator import constants as c
from scim_server.crd import names as n
from scim_server.storage.kube.store import KubeStorage
from tests.kube.test_operator import Cluster, directory, organization
from tests.support.controlplane import ControlPlane
from tests.support.operator_runner import running_operator
from tests.support.waiting import eventually


@pytest.fixture
def cluster(kube_api: client.ApiClient, namespace: str, control_plane: ControlPlane) -> Iterator[Cluster]:
    """Directories and their ConfigMap storage in one namespace, and an operator reading it."""
    with running_operator(control_plane.kubeconfig, f"configmaps://{namespace}"):
        yield Cluster(kube_api, namespace, control_plane)


@pytest.fixture
def storage(namespace: str) -> Iterator[KubeStorage]:
    store = KubeStorage(namespace, write_rate=200.0)
    yield store
    store.close()


def stored_objects(cluster: Cluster, dir_id: str) -> int:
    selector = f"storage.kubescim.io/directory={dir_id}"
    return len(cluster.core.list_namespaced_config_map(cluster.ns, label_selector=selector).items)


def test_counts_capacity_warning_and_deletion_on_config_maps(cluster: Cluster, storage: KubeStorage) -> None:
    cluster.apply(organization(), directory("okta", maxUsers=10))
    eventually(lambda: cluster.ready("okta"))
    dir_id = f"{cluster.ns}-okta"
    eventually(
        lambda: (
            (cluster.condition("okta", n.CAPACITY_WARNING) or {}).get("reason") == c.REASON_WITHIN_CAPACITY
        ),
        what="CapacityWarning False while empty",
    )
    users = [storage.create(dir_id, "User", {"userName": f"u{i}"})["id"] for i in range(9)]
    storage.create(dir_id, "Group", {"displayName": "team", "members": [{"value": u} for u in users]})

    def counted() -> bool:
        status = cluster.directory("okta").get("status") or {}
        return (status.get("users"), status.get("groups")) == (9, 1)

    eventually(counted, what="status counting 9 users and 1 group")
    warning = eventually(
        lambda: (
            (cluster.condition("okta", n.CAPACITY_WARNING) or {}).get("status") == "True"
            and cluster.condition("okta", n.CAPACITY_WARNING)
        ),
        what="CapacityWarning True past 80% of spec.maxUsers",
    )
    assert "90%" in warning["message"]
    eventually(lambda: cluster.events(c.REASON_NEAR_CAPACITY), what="the NearCapacity Warning Event")

    assert stored_objects(cluster, dir_id) == 9 + 1 + 10  # resources and their name claims
    cluster.custom.delete_namespaced_custom_object(n.GROUP, n.VERSION, cluster.ns, n.DIRECTORIES, "okta")
    eventually(lambda: cluster.gone(n.DIRECTORIES, "okta"), what="directory deleted (finalizer released)")
    assert stored_objects(cluster, dir_id) == 0
