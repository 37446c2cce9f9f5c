"""The operator against a real kube-apiserver: the directory lifecycle end to end.

Each test runs the production handlers (kopf) in a thread, applies manifests, and
checks the cluster objects, status, Events, and that the issued token really opens
the SCIM endpoint of a server reading tokens from Secrets.
"""

from __future__ import annotations

import base64
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from scim_operator import constants as c
from scim_server.app import create_app
from scim_server.config import Settings
from scim_server.crd import names as n
from scim_server.storage import Storage, open_storage
from scim_server.tokens.kubernetes import KubernetesTokenRegistry
from tests.support.controlplane import ControlPlane
from tests.support.operator_runner import (
    LEASE_SECONDS,
    SERVER_NAMESPACE,
    TEST_HOST,
    OperatorProcess,
    running_operator,
)
from tests.support.waiting import eventually

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]
USER = "urn:ietf:params:scim:schemas:core:2.0:User"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'operator.db'}"


@pytest.fixture
def storage(database_url: str) -> Iterator[Storage]:
    store = open_storage(database_url)
    yield store
    store.close()


@pytest.fixture
def operator(control_plane: ControlPlane, database_url: str) -> Iterator[None]:
    with running_operator(control_plane.kubeconfig, database_url):
        yield


@pytest.fixture
def tokens(kube_api: client.ApiClient) -> Iterator[KubernetesTokenRegistry]:
    registry = KubernetesTokenRegistry(kube_api).start()
    assert registry.wait_synced(10)
    yield registry
    registry.stop()


class Cluster:
    def __init__(self, api: client.ApiClient, namespace: str, plane: ControlPlane) -> None:
        self.ns = namespace
        self.custom = client.CustomObjectsApi(api)
        self.core = client.CoreV1Api(api)
        self.net = client.NetworkingV1Api(api)
        self.plane = plane

    def kubectl(
        self, *args: str, stdin: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["kubectl", "--kubeconfig", str(self.plane.kubeconfig), "-n", self.ns, *args],
            input=stdin,
            capture_output=True,
            text=True,
            check=True,
        )

    def apply(self, *docs: dict[str, Any]) -> None:
        self.kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all(docs))

    def directory(self, name: str) -> dict[str, Any]:
        return self._get(n.DIRECTORIES, name)

    def organization(self, name: str) -> dict[str, Any]:
        return self._get(n.ORGANIZATIONS, name)

    def _get(self, plural: str, name: str) -> dict[str, Any]:
        obj: dict[str, Any] = self.custom.get_namespaced_custom_object(
            n.GROUP, n.VERSION, self.ns, plural, name
        )
        return obj

    def gone(self, plural: str, name: str) -> bool:
        try:
            self._get(plural, name)
        except ApiException as exc:
            return exc.status == 404
        return False

    def condition(self, name: str, type_: str) -> dict[str, Any] | None:
        status = self.directory(name).get("status") or {}
        return next((x for x in status.get("conditions") or [] if x["type"] == type_), None)

    def ready(self, name: str) -> bool:
        cond = self.condition(name, n.READY)
        return cond is not None and cond["status"] == "True"

    def token(self, name: str) -> str:
        secret = self.core.read_namespaced_secret(f"{name}-scim-token", self.ns)
        return base64.b64decode((secret.data or {})["token"]).decode()

    def events(self, reason: str) -> list[Any]:
        items = self.core.list_namespaced_event(self.ns).items
        return [e for e in items if e.reason == reason]

    def patch_directory(self, name: str, spec: dict[str, Any]) -> None:
        self.custom.patch_namespaced_custom_object(
            n.GROUP, n.VERSION, self.ns, n.DIRECTORIES, name, {"spec": spec}
        )


@pytest.fixture
def cluster(kube_api: client.ApiClient, namespace: str, control_plane: ControlPlane) -> Cluster:
    return Cluster(kube_api, namespace, control_plane)


def organization(name: str = "acme") -> dict[str, Any]:
    return {
        "apiVersion": n.API_VERSION,
        "kind": "Organization",
        "metadata": {"name": name},
        "spec": {"displayName": "Acme Corp", "domains": ["acme.example"]},
    }


def directory(name: str, org: str = "acme", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": n.API_VERSION,
        "kind": "ScimDirectory",
        "metadata": {"name": name},
        "spec": {"organizationRef": {"name": org}, **spec},
    }


def scim_client(storage: Storage, tokens: KubernetesTokenRegistry, tmp_path: Path) -> Any:
    app = create_app(
        Settings(state_dir=tmp_path / "server", access_log=False), storage=storage, tokens=tokens
    )
    return app.test_client()


def test_directory_becomes_ready_with_a_working_endpoint(
    cluster: Cluster, operator: None, storage: Storage, tokens: KubernetesTokenRegistry, tmp_path: Path
) -> None:
    cluster.apply(organization(), directory("okta", provider="okta"))
    eventually(lambda: cluster.ready("okta"), what="Ready")
    body = cluster.directory("okta")
    status = body["status"]
    dir_id = f"{cluster.ns}-okta"
    assert status["directoryId"] == dir_id
    assert status["endpoint"] == f"https://scim.test.example/scim/v2/{dir_id}"
    assert status["tokenSecretRef"] == {"name": "okta-scim-token"}
    assert status["observedGeneration"] == body["metadata"]["generation"]
    ingress = cluster.net.read_namespaced_ingress("okta-scim", cluster.ns)
    assert ingress.spec.rules[0].http.paths[0].path == f"/scim/v2/{dir_id}"
    assert ingress.metadata.owner_references[0].kind == "ScimDirectory"
    bridge = cluster.core.read_namespaced_service("okta-scim", cluster.ns)
    assert bridge.spec.external_name == "kubescim-server.kubescim-system.svc.cluster.local"

    token = cluster.token("okta")
    eventually(lambda: tokens.verify(dir_id, token), what="token visible to the server")
    http = scim_client(storage, tokens, tmp_path)
    created = http.post(
        f"/scim/v2/{dir_id}/Users",
        json={"schemas": [USER], "userName": "alice"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert created.status_code == 201
    assert http.get(f"/scim/v2/{dir_id}/Users", headers={"Authorization": "Bearer wrong"}).status_code == 401
    eventually(lambda: cluster.directory("okta")["status"].get("users") == 1, what="user count in status")
    assert cluster.directory("okta")["status"]["lastSyncTime"]
    assert cluster.events(c.REASON_TOKEN_ISSUED)


def test_kubectl_get_shows_the_columns_with_real_values(cluster: Cluster, operator: None) -> None:
    cluster.apply(organization(), directory("entra", provider="entra"))
    eventually(
        lambda: cluster.ready("entra") and "users" in cluster.directory("entra")["status"], what="Ready"
    )
    out = cluster.kubectl("get", "scimdirectories").stdout.splitlines()
    header = out[0].split()
    assert header[:3] == ["NAME", "READY", "ENDPOINT"]
    assert "USERS" in header
    assert "GROUPS" in header
    row = out[1].split()
    assert row[0] == "entra"
    assert row[1] == "True"
    assert row[2].endswith(f"/scim/v2/{cluster.ns}-entra")
    assert row[3:5] == ["0", "0"]
    wide = cluster.kubectl("get", "sd", "-o", "wide").stdout.splitlines()
    assert "entra" in wide[1]
    assert "acme" in wide[1]


def test_directory_is_not_ready_until_its_organization_exists(cluster: Cluster, operator: None) -> None:
    cluster.apply(directory("lonely", org="later"))
    eventually(
        lambda: (cluster.condition("lonely", n.READY) or {}).get("reason") == c.REASON_ORG_NOT_FOUND,
        what="OrganizationNotFound",
    )
    cluster.apply(organization("later"))
    eventually(lambda: cluster.ready("lonely"), what="Ready once the Organization exists")
    eventually(
        lambda: (
            cluster.organization("later").get("status", {}).get("directories")
            == [{"name": "lonely", "ready": True}]
        ),
        what="organization status lists the directory",
    )


def test_deleted_secret_gets_a_new_token_and_a_warning(
    cluster: Cluster, operator: None, tokens: KubernetesTokenRegistry
) -> None:
    cluster.apply(organization(), directory("okta"))
    eventually(lambda: cluster.ready("okta"))
    old = cluster.token("okta")
    cluster.core.delete_namespaced_secret("okta-scim-token", cluster.ns)
    new = eventually(lambda: cluster.token("okta"), what="Secret re-created")
    assert new != old
    events = eventually(lambda: cluster.events(c.REASON_TOKEN_REISSUED), what="TokenReissued event")
    assert events[0].type == "Warning"
    dir_id = f"{cluster.ns}-okta"
    eventually(
        lambda: tokens.verify(dir_id, new) and not tokens.verify(dir_id, old), what="old token revoked"
    )


def test_edited_ingress_is_restored(cluster: Cluster, operator: None) -> None:
    cluster.apply(organization(), directory("okta"))
    eventually(lambda: cluster.ready("okta"))
    cluster.net.patch_namespaced_ingress(
        "okta-scim",
        cluster.ns,
        [{"op": "replace", "path": "/spec/rules/0/host", "value": "evil.example"}],
    )

    def restored() -> bool:
        return bool(
            cluster.net.read_namespaced_ingress("okta-scim", cluster.ns).spec.rules[0].host
            == "scim.test.example"
        )

    eventually(restored, what="Ingress restored")
    assert eventually(lambda: cluster.events(c.REASON_INGRESS_RESTORED))[0].type == "Warning"
    cluster.net.delete_namespaced_ingress("okta-scim", cluster.ns)
    eventually(
        lambda: cluster.net.read_namespaced_ingress("okta-scim", cluster.ns), what="Ingress re-created"
    )


def test_rotation_keeps_the_old_token_valid_for_exactly_the_grace_period(
    cluster: Cluster, operator: None, tokens: KubernetesTokenRegistry
) -> None:
    cluster.apply(organization(), directory("okta", tokenPolicy={"gracePeriod": "6s"}))
    eventually(lambda: cluster.ready("okta"))
    dir_id = f"{cluster.ns}-okta"
    old = cluster.token("okta")
    eventually(lambda: tokens.verify(dir_id, old))
    cluster.patch_directory("okta", {"tokenPolicy": {"gracePeriod": "6s", "rotationTrigger": "now-1"}})
    new = eventually(lambda: (t := cluster.token("okta")) != old and t, what="rotated token")
    eventually(lambda: tokens.verify(dir_id, new), what="new token visible")
    secret = cluster.core.read_namespaced_secret("okta-scim-token", cluster.ns)
    expires = base64.b64decode((secret.data or {})["previous-token-expires-at"]).decode()
    from datetime import UTC, datetime

    deadline = datetime.fromisoformat(expires)
    assert tokens.verify(dir_id, old), "old token must work during the grace period"
    remaining = (deadline - datetime.now(UTC)).total_seconds()
    assert 0 < remaining <= 6
    time.sleep(remaining + 0.5)
    assert not tokens.verify(dir_id, old), "old token must stop working when the grace period ends"
    assert tokens.verify(dir_id, new)
    assert cluster.events(c.REASON_TOKEN_ROTATED)


def test_suspended_directory_answers_403(
    cluster: Cluster, operator: None, storage: Storage, tokens: KubernetesTokenRegistry, tmp_path: Path
) -> None:
    cluster.apply(organization(), directory("okta"))
    eventually(lambda: cluster.ready("okta"))
    dir_id = f"{cluster.ns}-okta"
    token = cluster.token("okta")
    cluster.patch_directory("okta", {"suspended": True})
    eventually(lambda: (cluster.condition("okta", n.READY) or {}).get("reason") == c.REASON_SUSPENDED)
    assert (cluster.condition("okta", n.SUSPENDED) or {}).get("status") == "True"
    eventually(lambda: tokens.suspended(dir_id), what="suspension visible to the server")
    http = scim_client(storage, tokens, tmp_path)
    response = http.get(f"/scim/v2/{dir_id}/Users", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    cluster.patch_directory("okta", {"suspended": False})
    eventually(lambda: cluster.ready("okta"))
    eventually(lambda: not tokens.suspended(dir_id))


@pytest.mark.parametrize(("policy", "kept"), [("Delete", 0), ("Retain", 1)])
def test_deletion_removes_route_and_token_and_applies_the_data_policy(
    cluster: Cluster, operator: None, storage: Storage, policy: str, kept: int
) -> None:
    cluster.apply(organization(), directory("okta", deletionPolicy=policy))
    eventually(lambda: cluster.ready("okta"))
    dir_id = f"{cluster.ns}-okta"
    storage.create(dir_id, "User", {"userName": "bob"})
    cluster.custom.delete_namespaced_custom_object(n.GROUP, n.VERSION, cluster.ns, n.DIRECTORIES, "okta")

    eventually(lambda: cluster.gone(n.DIRECTORIES, "okta"), what="directory deleted (finalizer released)")
    for read in (cluster.core.read_namespaced_secret, cluster.net.read_namespaced_ingress):
        with pytest.raises(ApiException) as exc:
            read("okta-scim" + ("-token" if read == cluster.core.read_namespaced_secret else ""), cluster.ns)
        assert exc.value.status == 404
    assert storage.stats(dir_id).users == kept


def test_organization_deletion_waits_for_its_directories(cluster: Cluster, operator: None) -> None:
    cluster.apply(organization(), directory("okta"))
    eventually(lambda: cluster.ready("okta"))
    cluster.custom.delete_namespaced_custom_object(n.GROUP, n.VERSION, cluster.ns, n.ORGANIZATIONS, "acme")

    def blocked() -> bool:
        org = cluster.custom.get_namespaced_custom_object(
            n.GROUP, n.VERSION, cluster.ns, n.ORGANIZATIONS, "acme"
        )
        conds = (org.get("status") or {}).get("conditions") or []
        return any(x["type"] == n.DELETION_BLOCKED and x["status"] == "True" for x in conds)

    eventually(blocked, what="DeletionBlocked condition")
    assert "okta" in eventually(lambda: cluster.events(c.REASON_DIRECTORIES_EXIST))[0].message
    cluster.custom.delete_namespaced_custom_object(n.GROUP, n.VERSION, cluster.ns, n.DIRECTORIES, "okta")

    def org_gone() -> bool:
        try:
            cluster.custom.get_namespaced_custom_object(
                n.GROUP, n.VERSION, cluster.ns, n.ORGANIZATIONS, "acme"
            )
        except ApiException as exc:
            return exc.status == 404
        return False

    eventually(org_gone, what="Organization deleted after its directories")


def test_reconcile_is_idempotent(cluster: Cluster, operator: None, kube_api: client.ApiClient) -> None:
    from scim_operator.decide import Context
    from scim_operator.directory import Clients, reconcile_directory
    from scim_operator.settings import OperatorSettings

    cluster.apply(organization(), directory("okta"))
    eventually(lambda: cluster.ready("okta") and "users" in cluster.directory("okta")["status"])
    time.sleep(0.5)
    body = cluster.directory("okta")
    versions = (
        cluster.core.read_namespaced_secret("okta-scim-token", cluster.ns).metadata.resource_version,
        cluster.net.read_namespaced_ingress("okta-scim", cluster.ns).metadata.resource_version,
    )
    route = OperatorSettings(default_host=TEST_HOST, server_namespace=SERVER_NAMESPACE).route()
    outcome = reconcile_directory(Clients(kube_api), body, route, Context(organization_exists=True))
    assert outcome.status == {}
    assert outcome.events == []
    after = (
        cluster.core.read_namespaced_secret("okta-scim-token", cluster.ns).metadata.resource_version,
        cluster.net.read_namespaced_ingress("okta-scim", cluster.ns).metadata.resource_version,
    )
    assert after == versions


def test_operator_restart_catches_up(
    cluster: Cluster, control_plane: ControlPlane, database_url: str
) -> None:
    with running_operator(control_plane.kubeconfig, database_url):
        cluster.apply(organization(), directory("first"))
        eventually(lambda: cluster.ready("first"))
    cluster.apply(directory("second"))
    cluster.core.delete_namespaced_secret("first-scim-token", cluster.ns)
    time.sleep(1)
    assert "status" not in cluster.directory("second")
    with running_operator(control_plane.kubeconfig, database_url):
        eventually(lambda: cluster.ready("second"), what="directory created while down becomes Ready")
        eventually(lambda: cluster.token("first"), what="Secret deleted while down is restored")


def test_examples_apply_and_become_ready(cluster: Cluster, operator: None) -> None:
    examples = ROOT / "examples"
    cluster.kubectl("apply", "-f", str(examples))
    names = [
        doc["metadata"]["name"]
        for path in sorted(examples.glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if doc and doc.get("kind") == "ScimDirectory"
    ]
    assert len(names) >= 2
    for name in names:
        eventually(lambda n=name: cluster.ready(n), what=f"{name} Ready")  # type: ignore[misc]
        assert cluster.token(name).startswith("kscim_")


def issued_events(cluster: Cluster) -> dict[str, int]:
    """How many TokenIssued Events each directory got."""
    counts: dict[str, int] = {}
    for event in cluster.events(c.REASON_TOKEN_ISSUED):
        counts[event.involved_object.name] = counts.get(event.involved_object.name, 0) + 1
    return counts


def token_secrets(cluster: Cluster) -> dict[str, int]:
    """How many token Secrets each directory has."""
    counts: dict[str, int] = {}
    for secret in cluster.core.list_namespaced_secret(cluster.ns, label_selector=n.LABEL_DIRECTORY).items:
        name = secret.metadata.labels[n.LABEL_DIRECTORY]
        counts[name] = counts.get(name, 0) + 1
    return counts


def lease_holder(cluster: Cluster) -> str | None:
    """Who holds the operator's Lease, as the API server says."""
    leases = client.CoordinationV1Api(cluster.core.api_client)
    try:
        lease = leases.read_namespaced_lease(c.LEASE_NAME, cluster.ns)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
    return lease.spec.holder_identity or None


def leader(cluster: Cluster, *operators: OperatorProcess) -> OperatorProcess | None:
    """The running operator holding the Lease (its log names its identity when it takes it)."""
    holder = lease_holder(cluster)
    running = [op for op in operators if op.process.poll() is None]
    holders = [
        op for op in running if (holder and f"{holder} acquired" in op.log()) or f"{holder} takes" in op.log()
    ]
    return holders[0] if holder and len(holders) == 1 else None


def test_two_operators_one_active_and_a_standby_that_takes_over(
    cluster: Cluster, control_plane: ControlPlane, database_url: str
) -> None:
    names = [f"dir-{i:02d}" for i in range(20)]
    with (
        running_operator(
            control_plane.kubeconfig, database_url, standalone=False, lease_namespace=cluster.ns
        ) as first,
        running_operator(
            control_plane.kubeconfig, database_url, standalone=False, lease_namespace=cluster.ns
        ) as second,
    ):
        cluster.apply(organization(), *(directory(name) for name in names))
        eventually(lambda: all(cluster.ready(n) for n in names), timeout=60, what="20 directories Ready")
        active = eventually(lambda: leader(cluster, first, second), what="one operator holds the Lease")
        standby = second if active is first else first
        was = lease_holder(cluster)
        assert token_secrets(cluster) == dict.fromkeys(names, 1)
        eventually(lambda: issued_events(cluster) == dict.fromkeys(names, 1), what="one TokenIssued each")

        active.kill()
        killed_at = time.monotonic()
        eventually(
            lambda: lease_holder(cluster) not in (None, was), timeout=LEASE_SECONDS + 10, what="handover"
        )
        handover = time.monotonic() - killed_at
        # Documented: a standby takes over a Lease unrenewed for its duration, at its next try.
        assert handover <= LEASE_SECONDS + 3, f"handover took {handover:.1f} s"
        assert leader(cluster, standby) is standby
        cluster.apply(directory("after-failover"))
        eventually(lambda: cluster.ready("after-failover"), timeout=20, what="Ready after the failover")
        lease = client.CoordinationV1Api(cluster.core.api_client).read_namespaced_lease(
            c.LEASE_NAME, cluster.ns
        )
        assert lease.spec.lease_transitions == 1
    assert token_secrets(cluster) == dict.fromkeys([*names, "after-failover"], 1)
    assert issued_events(cluster) == dict.fromkeys([*names, "after-failover"], 1)


def test_a_leader_stopped_cleanly_releases_the_lease_and_its_standby_takes_over_at_once(
    cluster: Cluster, control_plane: ControlPlane, database_url: str
) -> None:
    with running_operator(
        control_plane.kubeconfig, database_url, standalone=False, lease_namespace=cluster.ns
    ) as first:
        eventually(lambda: leader(cluster, first), what="first operator leads")
        was = lease_holder(cluster)
        with running_operator(
            control_plane.kubeconfig, database_url, standalone=False, lease_namespace=cluster.ns
        ) as second:
            first.process.terminate()
            first.process.wait(10)
            stopped_at = time.monotonic()
            eventually(lambda: lease_holder(cluster) not in (None, was), what="second takes over")
            # A released Lease is free at the standby's next try (every second here), not
            # after a lease duration.
            assert time.monotonic() - stopped_at < LEASE_SECONDS
            assert leader(cluster, second) is second
            cluster.apply(organization(), directory("okta"))
            eventually(lambda: cluster.ready("okta"), what="Ready under the new leader")
        assert "released Lease" in first.log()


def test_a_directory_applied_before_its_organization_is_ready_soon_after_it(
    cluster: Cluster, control_plane: ControlPlane, database_url: str
) -> None:
    # Production timing (60 s resync): readiness must follow the Organization's creation,
    # not the next resync.
    with running_operator(control_plane.kubeconfig, database_url, resync_seconds=60):
        cluster.apply(directory("early", org="late"))
        eventually(
            lambda: (cluster.condition("early", n.READY) or {}).get("reason") == c.REASON_ORG_NOT_FOUND,
            what="OrganizationNotFound",
        )
        time.sleep(1)
        cluster.apply(organization("late"))
        created = time.monotonic()
        eventually(lambda: cluster.ready("early"), timeout=10, what="Ready within 10 s of the Organization")
        assert time.monotonic() - created <= 10


def test_two_hundred_directories_each_get_one_token_and_one_announcement(
    cluster: Cluster, control_plane: ControlPlane, database_url: str
) -> None:
    names = [f"d{i:03d}" for i in range(200)]
    with running_operator(control_plane.kubeconfig, database_url, resync_seconds=30):
        cluster.apply(organization(), *(directory(name) for name in names))
        eventually(
            lambda: (
                sum(cluster.ready(n) for n in names[-5:]) == 5
                and all(x.get("status", {}).get("conditions") for x in _directories(cluster))
            ),
            timeout=120,
            what="200 directories reconciled",
        )
        eventually(lambda: len(_ready_names(cluster)) == 200, timeout=120, what="200 Ready")
        assert token_secrets(cluster) == dict.fromkeys(names, 1)
        eventually(lambda: issued_events(cluster) == dict.fromkeys(names, 1), what="one TokenIssued each")
    # Leaving the block stopped the operator and checked its log: no protocol error, no token.


def _directories(cluster: Cluster) -> list[dict[str, Any]]:
    listing = cluster.custom.list_namespaced_custom_object(n.GROUP, n.VERSION, cluster.ns, n.DIRECTORIES)
    return list(listing["items"])


def _ready_names(cluster: Cluster) -> set[str]:
    return {
        x["metadata"]["name"]
        for x in _directories(cluster)
        if any(
            cond["type"] == n.READY and cond["status"] == "True"
            for cond in (x.get("status") or {}).get("conditions") or []
        )
    }


def test_inactive_users_are_deleted_when_the_policy_says_so(
    cluster: Cluster, operator: None, storage: Storage
) -> None:
    cluster.apply(organization(), directory("okta", inactiveUsers="Delete"), directory("keep"))
    eventually(lambda: cluster.ready("okta") and cluster.ready("keep"))
    purged, kept = f"{cluster.ns}-okta", f"{cluster.ns}-keep"
    storage.create(purged, "User", {"userName": "left", "active": False})
    storage.create(purged, "User", {"userName": "stays", "active": True})
    storage.create(kept, "User", {"userName": "left", "active": False})
    eventually(lambda: storage.stats(purged).users == 1, what="deactivated user deleted")
    # The Event is posted after the purge, asynchronously: wait for it.
    eventually(lambda: cluster.events(c.REASON_INACTIVE_DELETED), what="InactiveUsersDeleted event")
    assert storage.stats(kept).users == 1


def test_a_namespace_being_deleted_gets_no_new_objects_and_no_failed_events(
    kube_api: client.ApiClient, control_plane: ControlPlane, database_url: str
) -> None:
    core = client.CoreV1Api(kube_api)
    name = f"going-{uuid.uuid4().hex[:8]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    cluster = Cluster(kube_api, name, control_plane)
    names = [f"d{i}" for i in range(5)]
    with running_operator(control_plane.kubeconfig, database_url) as operator:
        cluster.apply(organization(), *(directory(n_) for n_ in names))
        eventually(lambda: all(cluster.ready(n_) for n_ in names), what="Ready")
        core.delete_namespace(name)

        def gone() -> bool:
            try:
                core.read_namespace(name)
            except ApiException as exc:
                return exc.status == 404
            return False

        eventually(gone, timeout=90, what="namespace deleted, finalizers released")
        log = operator.log()
    assert "being terminated" not in log
    assert "Failed to post an event" not in log
