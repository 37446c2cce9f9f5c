"""Which Secret the server trusts for a directory's token, and how fast it notices change.

The real operator runs as its own process and issues tokens; the server's registry
watches a real kube-apiserver, directly or through a TCP proxy the test controls to make
connections go silent (``freeze``) or the API server unreachable (``kill``).
"""

from __future__ import annotations

import base64
import contextlib
import copy
import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from prometheus_client import REGISTRY
from werkzeug.test import TestResponse

from scim_server.app import create_app
from scim_server.config import Settings
from scim_server.storage import Storage, open_storage
from scim_server.tokens.credentials import new_token
from scim_server.tokens.kubernetes import EVENT_REASON, KubernetesTokenRegistry
from scim_server.tokens.trust import EXPLANATIONS
from tests.support.controlplane import ControlPlane
from tests.support.operator_runner import check_log, running_operator
from tests.support.tcp_proxy import TcpProxy
from tests.support.waiting import eventually

T = TypeVar("T")
GROUP, VERSION = "kubescim.io", "v1alpha1"
WATCH_SECONDS = 3  # revocation bound: 2 x 3 s
BOUND = 2 * WATCH_SECONDS
REJECTED = "kubescim_token_secrets_rejected_total"


def rejected(reason: str) -> float:
    return REGISTRY.get_sample_value(REJECTED, {"reason": reason}) or 0.0


def all_rejected() -> float:
    return sum(rejected(reason) for reason in EXPLANATIONS)


def stale_beyond(seconds: float) -> float | None:
    value = REGISTRY.get_sample_value("kubescim_token_watch_staleness_seconds")
    return value if value is not None and value > seconds else None


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('trust') / 'operator.db'}"


@pytest.fixture(scope="module")
def operator(control_plane: ControlPlane, database_url: str) -> Iterator[None]:
    with running_operator(control_plane.kubeconfig, database_url):
        yield


@pytest.fixture
def storage(database_url: str) -> Iterator[Storage]:
    store = open_storage(database_url)
    yield store
    store.close()


@pytest.fixture
def token_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """The registry's log records (the app's logging setup stops them reaching the root);
    afterwards they are checked like the operator's: no protocol error, no token."""
    logger = logging.getLogger("kubescim.tokens")
    logger.addHandler(caplog.handler)
    logger.propagate = False  # once, whether or not the app's setup already cut propagation
    yield caplog
    logger.propagate = True
    logger.removeHandler(caplog.handler)
    check_log(caplog.text)


class Cluster:
    """One test namespace, with an Organization ``acme`` and helpers for a directory."""

    def __init__(self, api: client.ApiClient, namespace: str) -> None:
        self.ns = namespace
        self.core = client.CoreV1Api(api)
        self.custom = client.CustomObjectsApi(api)

    def create_directory(self, name: str, **spec: Any) -> str:
        """Create ``name`` (and the Organization); return its directory id once it is Ready."""
        for plural, kind, body_spec in (
            ("organizations", "Organization", {"displayName": "Acme"}),
            ("scimdirectories", "ScimDirectory", {"organizationRef": {"name": "acme"}, **spec}),
        ):
            obj_name = "acme" if kind == "Organization" else name
            body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": kind, "metadata": {"name": obj_name}}
            try:
                self.custom.create_namespaced_custom_object(
                    GROUP, VERSION, self.ns, plural, {**body, "spec": body_spec}
                )
            except ApiException as exc:
                if exc.status != 409:
                    raise
        eventually(lambda: self.ready(name), what=f"{name} Ready")
        return str(self.directory(name)["status"]["directoryId"])

    def directory(self, name: str) -> dict[str, Any]:
        obj: dict[str, Any] = self.custom.get_namespaced_custom_object(
            GROUP, VERSION, self.ns, "scimdirectories", name
        )
        return obj

    def ready(self, name: str) -> bool:
        conditions = (self.directory(name).get("status") or {}).get("conditions") or []
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    def token(self, name: str) -> str:
        secret = self.core.read_namespaced_secret(f"{name}-scim-token", self.ns)
        return base64.b64decode((secret.data or {})["token"]).decode()

    def token_other_than(self, name: str, old: str) -> str | None:
        """The directory's token once it differs from ``old`` (for ``eventually``)."""
        token = self.token(name)
        return token if token != old else None

    def patch_spec(self, name: str, spec: dict[str, Any]) -> None:
        self.custom.patch_namespaced_custom_object(
            GROUP, VERSION, self.ns, "scimdirectories", name, {"spec": spec}
        )

    def warnings(self, name: str) -> list[Any]:
        events = self.core.list_namespaced_event(self.ns).items
        return [e for e in events if e.reason == EVENT_REASON and e.involved_object.name == name]


@pytest.fixture
def cluster(kube_api: client.ApiClient, namespace: str) -> Cluster:
    return Cluster(kube_api, namespace)


@pytest.fixture
def other_namespace(kube_api: client.ApiClient) -> Iterator[str]:
    """A second tenant's namespace."""
    core = client.CoreV1Api(kube_api)
    name = f"tenant-{uuid.uuid4().hex[:10]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    core.delete_namespace(name)


def start_registry(api: client.ApiClient | client.Configuration, **options: Any) -> KubernetesTokenRegistry:
    registry = KubernetesTokenRegistry(api, watch_seconds=WATCH_SECONDS, **options).start()
    assert registry.wait_synced(10)
    return registry


@pytest.fixture
def registry(kube_api: client.ApiClient) -> Iterator[KubernetesTokenRegistry]:
    """A registry over every namespace, as the server runs by default."""
    registry = start_registry(kube_api)
    yield registry
    registry.stop()


def scim_app(
    storage: Storage, registry: KubernetesTokenRegistry, tmp_path: Path, **settings: Any
) -> FlaskClient:
    options = {"state_dir": tmp_path / "server", "token_watch_seconds": WATCH_SECONDS, **settings}
    return create_app(Settings(**options), storage=storage, tokens=registry).test_client()


def users(http: FlaskClient, dir_id: str, token: str) -> TestResponse:
    return http.get(f"/scim/v2/{dir_id}/Users", headers={"Authorization": f"Bearer {token}"})


def status_of(http: FlaskClient, dir_id: str, token: str) -> int:
    return users(http, dir_id, token).status_code


def answered(http: FlaskClient, dir_id: str, token: str, status: int) -> TestResponse | None:
    """The response to a list request when it has ``status`` (for ``eventually``)."""
    response = users(http, dir_id, token)
    return response if response.status_code == status else None


# -- forged Secrets -------------------------------------------------------------------------

# variant -> (in the other namespace, new name, copy ownerReferences, claimed id, expected reason)
FORGERIES = {
    "other-namespace": (True, None, False, None, "wrong-namespace"),
    "other-namespace-owner-copied": (True, None, True, None, "wrong-namespace"),
    "same-namespace-unowned": (False, "okta-forged", False, None, "not-owned"),
    "renamed-copy": (False, "okta-scim-token-copy", True, None, "not-token-secret-ref"),
    "unknown-directory-id": (False, "nobody-scim-token", False, "nobody-home", "unknown-directory-id"),
}


def forged_secret(real: client.V1Secret, namespace: str, variant: str, token: str) -> client.V1Secret:
    """A Secret built from the real one as an attacker who can read it would."""
    _, rename, owned, claimed, _ = FORGERIES[variant]
    labels = dict(real.metadata.labels)
    if claimed:
        labels["kubescim.io/directory-id"] = claimed
    return client.V1Secret(
        metadata=client.V1ObjectMeta(
            name=rename or real.metadata.name,
            namespace=namespace,
            labels=labels,
            annotations={"kubescim.io/suspended": "false"},
            owner_references=real.metadata.owner_references if owned else None,
        ),
        data={"token": base64.b64encode(token.encode()).decode()},
        type="Opaque",
    )


@pytest.mark.parametrize("variant", list(FORGERIES))
def test_forged_token_secret_is_refused_and_reported(
    cluster: Cluster,
    other_namespace: str,
    operator: None,
    registry: KubernetesTokenRegistry,
    storage: Storage,
    token_log: pytest.LogCaptureFixture,
    tmp_path: Path,
    variant: str,
) -> None:
    dir_id = cluster.create_directory("okta")
    real_token = cluster.token("okta")
    eventually(lambda: registry.verify(dir_id, real_token), what="real token accepted")
    elsewhere, _, _, claimed, reason = FORGERIES[variant]
    namespace = other_namespace if elsewhere else cluster.ns
    before = rejected(reason)

    attacker_token = new_token()
    real = cluster.core.read_namespaced_secret("okta-scim-token", cluster.ns)
    forged = forged_secret(real, namespace, variant, attacker_token)
    cluster.core.create_namespaced_secret(namespace, forged)
    try:
        where = f"Secret {namespace}/{forged.metadata.name} claims directory id {claimed or dir_id}"
        record = eventually(
            lambda: [r for r in token_log.records if where in r.getMessage()], what="rejection logged"
        )
        assert len(record) == 1
        assert record[0].levelno == logging.WARNING
        assert f"(reason {reason})" in record[0].getMessage()
        assert attacker_token not in token_log.text
        assert rejected(reason) == before + 1

        http = scim_app(storage, registry, tmp_path)
        assert status_of(http, claimed or dir_id, attacker_token) == 401
        assert status_of(http, dir_id, real_token) == 200
        if claimed is None:
            event = eventually(lambda: cluster.warnings("okta"), what="Warning Event on the directory")[0]
            assert event.type == "Warning"
            assert f"{namespace}/{forged.metadata.name}" in event.message
        else:
            assert cluster.warnings("okta") == []
    finally:
        with contextlib.suppress(ApiException):  # the garbage collector may have been first
            cluster.core.delete_namespaced_secret(forged.metadata.name, namespace)


# -- the normal lifecycle -------------------------------------------------------------------


def test_directory_lifecycle_reports_nothing(
    kube_api: client.ApiClient,
    cluster: Cluster,
    operator: None,
    storage: Storage,
    token_log: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    registry = start_registry(kube_api, namespace=cluster.ns)
    try:
        before = all_rejected()
        http = scim_app(storage, registry, tmp_path)
        dir_id = cluster.create_directory("okta", tokenPolicy={"gracePeriod": "1h"})
        first = cluster.token("okta")
        eventually(lambda: status_of(http, dir_id, first) == 200, what="first token accepted")

        cluster.patch_spec("okta", {"tokenPolicy": {"gracePeriod": "1h", "rotationTrigger": "r1"}})
        rotated = eventually(lambda: cluster.token_other_than("okta", first), what="rotation")
        eventually(lambda: status_of(http, dir_id, rotated) == 200, what="rotated token accepted")
        assert status_of(http, dir_id, first) == 200, "the previous token works during its grace period"

        cluster.core.delete_namespaced_secret("okta-scim-token", cluster.ns)
        reissued = eventually(lambda: cluster.token_other_than("okta", rotated), what="re-issue")
        eventually(lambda: status_of(http, dir_id, reissued) == 200, what="re-issued token accepted")
        assert status_of(http, dir_id, rotated) == 401

        cluster.patch_spec("okta", {"suspended": True})
        eventually(lambda: status_of(http, dir_id, reissued) == 403, what="suspension")
        cluster.custom.delete_namespaced_custom_object(GROUP, VERSION, cluster.ns, "scimdirectories", "okta")
        eventually(lambda: status_of(http, dir_id, reissued) == 401, what="deleted directory refused")
        eventually(lambda: not registry.directories(), what="registry empty")

        assert all_rejected() == before
        assert [r.getMessage() for r in token_log.records if "claims directory id" in r.getMessage()] == []
        assert cluster.warnings("okta") == []
    finally:
        registry.stop()


def test_directory_without_its_organization_answers_403(
    cluster: Cluster, operator: None, registry: KubernetesTokenRegistry, storage: Storage, tmp_path: Path
) -> None:
    dir_id = cluster.create_directory("okta")
    token = cluster.token("okta")
    http = scim_app(storage, registry, tmp_path)
    eventually(lambda: status_of(http, dir_id, token) == 200, what="token accepted")
    cluster.custom.create_namespaced_custom_object(
        GROUP,
        VERSION,
        cluster.ns,
        "scimdirectories",
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "ScimDirectory",
            "metadata": {"name": "orphan"},
            "spec": {"organizationRef": {"name": "missing"}},
        },
    )
    orphan_id = eventually(lambda: cluster.directory("orphan")["status"]["directoryId"], what="orphan status")
    orphan_token = eventually(lambda: cluster.token("orphan"), what="orphan token")
    response = eventually(
        lambda: answered(http, orphan_id, orphan_token, 403),
        what="403 for a directory without its Organization",
    )
    assert response.json is not None
    assert response.json["detail"] == f"directory {orphan_id} is not active: Organization missing not found"


# -- silent and dead connections ------------------------------------------------------------


def proxied(control_plane: ControlPlane, proxy: TcpProxy) -> client.Configuration:
    """The admin configuration, pointed at the proxy instead of the API server."""
    with control_plane.api_client() as api:
        configuration = copy.deepcopy(api.configuration)
    configuration.host = f"https://127.0.0.1:{proxy.port}"
    return configuration


@pytest.fixture
def proxy(control_plane: ControlPlane) -> Iterator[TcpProxy]:
    address = urlsplit(control_plane.server)
    assert address.hostname is not None
    assert address.port is not None
    with TcpProxy(address.hostname, address.port) as running:
        yield running


def test_revoked_token_is_refused_within_the_bound_over_a_silent_connection(
    control_plane: ControlPlane,
    proxy: TcpProxy,
    cluster: Cluster,
    operator: None,
    token_log: pytest.LogCaptureFixture,
) -> None:
    registry = start_registry(proxied(control_plane, proxy), namespace=cluster.ns)
    try:
        dir_id = cluster.create_directory("okta")
        old = cluster.token("okta")
        eventually(lambda: registry.verify(dir_id, old), what="token accepted")
        eventually(lambda: proxy.connections >= 2, what="both watches connected")
        assert proxy.freeze() >= 2

        cluster.core.delete_namespaced_secret("okta-scim-token", cluster.ns)  # the operator re-issues
        revoked = time.monotonic()
        eventually(lambda: not registry.verify(dir_id, old), timeout=BOUND + 2, what="old token refused")
        assert time.monotonic() - revoked <= BOUND + 1
        new = cluster.token("okta")
        eventually(lambda: registry.verify(dir_id, new), timeout=BOUND, what="new token accepted")
        assert "no data before the read timeout" in token_log.text
    finally:
        registry.stop()


def test_unreachable_api_server_keeps_cached_tokens_unless_strict(
    control_plane: ControlPlane,
    proxy: TcpProxy,
    cluster: Cluster,
    operator: None,
    storage: Storage,
    token_log: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    configuration = proxied(control_plane, proxy)
    lenient = start_registry(configuration, namespace=cluster.ns)
    strict = start_registry(configuration, namespace=cluster.ns, max_staleness=BOUND)
    try:
        dir_id = cluster.create_directory("okta")
        token = cluster.token("okta")
        serving = scim_app(storage, lenient, tmp_path / "lenient")
        refusing = scim_app(storage, strict, tmp_path / "strict", token_max_staleness_seconds=BOUND)
        for http in (serving, refusing):
            eventually(lambda http=http: answered(http, dir_id, token, 200), what="token accepted")  # type: ignore[misc]
            ready = http.get("/readyz")
            assert ready.status_code == 200
            assert "tokens: kubernetes, last contact" in ready.text

        proxy.kill()
        assert status_of(refusing, dir_id, token) == 200, "staleness is still within the maximum"
        unavailable = eventually(
            lambda: answered(refusing, dir_id, token, 503),
            timeout=BOUND + 2,
            what="503 past the maximum staleness",
        )
        assert unavailable.headers["Retry-After"] == str(WATCH_SECONDS)
        assert unavailable.json is not None
        assert unavailable.json["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
        assert unavailable.json["status"] == "503"
        not_ready = refusing.get("/readyz")
        assert not_ready.status_code == 503
        assert "more than the 6s allowed" in not_ready.text

        eventually(lambda: lenient.staleness() > BOUND, timeout=WATCH_SECONDS + 2, what="lenient stale too")
        assert status_of(serving, dir_id, token) == 200
        ready = serving.get("/readyz")
        assert ready.status_code == 200
        assert int(ready.text.split("last contact ")[1].split("s ago")[0]) >= BOUND
        assert eventually(lambda: stale_beyond(BOUND), timeout=3, what="staleness gauge") > BOUND
        eventually(lambda: "no contact with the Kubernetes API server" in token_log.text, timeout=3)
    finally:
        lenient.stop()
        strict.stop()
