"""The chart on a real API server with RBAC on: its manifests apply by server-side apply,
and the operator and the SCIM server each run as their own process with a token of the
ServiceAccount the chart creates, configured by the chart's own Deployment (env, args),
so they are bound only by the chart's roles.

No pods run (the control plane has no nodes); the Deployments must only be accepted. The
storage is the chart's default, ConfigMaps in the release namespace, reached by both
processes through the chart's storage Role; SubjectAccessReviews check that Role's exact
reach as well. The webhook worker (PostgreSQL only) runs the same way: its own process,
the chart's env, a token of its own ServiceAccount, delivering to a receiver and writing
the Organization's status, with SubjectAccessReviews for what it must not do.
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from scim_server.crd import names as n
from scim_server.crd.spec import directory_id
from scim_server.events.signing import new_signing_secret
from scim_server.storage import open_storage
from scim_server.webhooks.kubernetes import KubernetesEndpointSource
from tests.support.chart import REPO_ROOT, Manifest, container_env, one, render
from tests.support.controlplane import ControlPlane
from tests.support.live_server import LiveServer, live_server
from tests.support.operator_runner import running_operator
from tests.support.waiting import eventually
from tests.webhooks.receiver import running_receiver

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
STORAGE_VERBS = ("get", "list", "watch", "create", "update", "patch", "delete")


# -- the release -----------------------------------------------------------------------------


@dataclass
class Release:
    """One rendered and applied release of the chart."""

    name: str
    namespace: str
    manifests: list[Manifest]
    plane: ControlPlane
    workdir: Path

    def component(self, component: str) -> str:
        return f"{self.name}-kubescim-{component}"

    def kubeconfig(self, component: str) -> Path:
        """A kubeconfig holding a fresh token of the component's ServiceAccount."""
        token = self.plane.mint_token(self.namespace, self.component(component))
        return self.plane.write_kubeconfig(self.workdir / f"{component}.kubeconfig", token)

    def api_as(self, component: str) -> client.ApiClient:
        return self.plane.api_client(self.plane.mint_token(self.namespace, self.component(component)))

    def container(self, component: str) -> dict[str, Any]:
        deployment = one(self.manifests, "Deployment", self.component(component))
        container: dict[str, Any] = deployment["spec"]["template"]["spec"]["containers"][0]
        return container

    def env(self, component: str, *, without: tuple[str, ...] = ()) -> dict[str, str]:
        """The Deployment's plain env (the downward API's POD_NAMESPACE resolved)."""
        deployment = one(self.manifests, "Deployment", self.component(component))
        env = {k: v for k, v in container_env(deployment).items() if isinstance(v, str)}
        env["POD_NAMESPACE"] = self.namespace
        return {k: v for k, v in env.items() if k not in without}


def kubectl(plane: ControlPlane, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        ["kubectl", "--kubeconfig", str(plane.kubeconfig), *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"kubectl {' '.join(args)} failed:\n{done.stderr}"
    return done.stdout


@pytest.fixture
def namespaces(kube_api: client.ApiClient) -> Iterator[Callable[[str], str]]:
    """``namespaces(role)``: a fresh namespace, deleted after the test."""
    core = client.CoreV1Api(kube_api)
    made: list[str] = []

    def make(role: str) -> str:
        name = f"{role}-{uuid.uuid4().hex[:8]}"
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
        made.append(name)
        return name

    yield make
    for name in made:
        core.delete_namespace(name)


@contextmanager
def installed(
    plane: ControlPlane, namespace: str, values: dict[str, Any], workdir: Path
) -> Iterator[Release]:
    """Render the chart into ``namespace`` and apply it server-side, as Helm 4 does; remove
    its cluster-scoped objects afterwards (except the CRDs every test shares)."""
    name = f"r{uuid.uuid4().hex[:6]}"
    manifests = render(values, namespace=namespace, release=name)
    applied = kubectl(
        plane,
        "apply",
        "--server-side",
        "--field-manager=helm",
        "-f",
        "-",
        stdin=yaml.safe_dump_all(manifests),
    )
    assert applied.count("serverside-applied") == len(manifests), applied
    cluster_scoped = [m for m in manifests if m["kind"] in ("ClusterRole", "ClusterRoleBinding")]
    try:
        yield Release(name, namespace, manifests, plane, workdir)
    finally:
        if cluster_scoped:
            kubectl(
                plane, "delete", "--ignore-not-found", "-f", "-", stdin=yaml.safe_dump_all(cluster_scoped)
            )


# -- what each process does ----------------------------------------------------------------------


def apply_examples(plane: ControlPlane, namespace: str) -> str:
    """Apply the repository's examples/ Organization and Okta directory; return its name."""
    examples = REPO_ROOT / "examples"
    kubectl(
        plane,
        "apply",
        "-n",
        namespace,
        "-f",
        str(examples / "organization.yaml"),
        "-f",
        str(examples / "okta-directory.yaml"),
    )
    return "acme-okta"


def ready_directory(kube_api: client.ApiClient, namespace: str, name: str) -> tuple[str, str]:
    """Wait until the directory is Ready with its token Secret and Ingress; return (id, token)."""
    custom, core = client.CustomObjectsApi(kube_api), client.CoreV1Api(kube_api)

    def ready() -> dict[str, Any] | None:
        body = custom.get_namespaced_custom_object(n.GROUP, n.VERSION, namespace, n.DIRECTORIES, name)
        conditions = (body.get("status") or {}).get("conditions") or []
        done = any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
        return body if done else None

    body = eventually(ready, what=f"ScimDirectory {namespace}/{name} Ready")
    dir_id = body["status"]["directoryId"]
    secret = core.read_namespaced_secret(body["status"]["tokenSecretRef"]["name"], namespace)
    ingress = client.NetworkingV1Api(kube_api).read_namespaced_ingress(f"{name}-scim", namespace)
    assert ingress.spec.rules[0].http.paths[0].path == f"/scim/v2/{dir_id}"
    assert ingress.spec.tls[0].secret_name == body["spec"]["endpoint"]["tlsSecretName"]
    return dir_id, base64.b64decode(secret.data["token"]).decode()


def scim_flow(server: LiveServer, dir_id: str, token: str) -> None:
    """An identity provider's first sync: create a user, find it, deactivate it, push a group."""
    base = f"{server.base_url}/scim/v2/{dir_id}"
    auth = {"Authorization": f"Bearer {token}"}
    # The server sees the operator's Secret through its watch: moments after it is written.
    eventually(
        lambda: requests.get(f"{base}/Users", headers=auth, timeout=10).status_code == 200,
        what="the issued token accepted by the server",
    )
    assert (
        requests.get(f"{base}/Users", headers={"Authorization": "Bearer nope"}, timeout=10).status_code == 401
    )
    created = requests.post(
        f"{base}/Users", json={"schemas": [USER], "userName": "alice@acme.example"}, headers=auth, timeout=10
    )
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    found = requests.get(
        f"{base}/Users", params={"filter": 'userName eq "alice@acme.example"'}, headers=auth, timeout=10
    )
    assert found.json()["totalResults"] == 1
    patch = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": False}]}
    patched = requests.patch(f"{base}/Users/{user_id}", json=patch, headers=auth, timeout=10)
    assert patched.status_code == 200, patched.text
    assert patched.json()["active"] is False
    group = {"schemas": [GROUP], "displayName": "engineering", "members": [{"value": user_id}]}
    assert requests.post(f"{base}/Groups", json=group, headers=auth, timeout=10).status_code == 201


def forbidden(call: Callable[[], Any]) -> bool:
    try:
        call()
    except ApiException as exc:
        return exc.status == 403
    return False


def allowed(
    kube_api: client.ApiClient, user: str, namespace: str, verb: str, resource: str, subresource: str = ""
) -> bool:
    group = n.GROUP if resource in (n.ORGANIZATIONS, n.DIRECTORIES) else ""
    review = client.V1SubjectAccessReview(
        spec=client.V1SubjectAccessReviewSpec(
            user=user,
            resource_attributes=client.V1ResourceAttributes(
                namespace=namespace,
                verb=verb,
                group=group,
                resource=resource,
                subresource=subresource or None,
            ),
        )
    )
    result = client.AuthorizationV1Api(kube_api).create_subject_access_review(review)
    return bool(result.status.allowed)


@contextmanager
def running(release: Release, tmp_path: Path) -> Iterator[LiveServer]:
    """The operator (holding the Lease in the release namespace) and the server, each as its
    own process with its ServiceAccount's token and its Deployment's env and args.

    Afterwards neither log may show a refused API call: every call they make is granted."""
    database = release.env("server")["KUBESCIM_DATABASE_URL"]
    assert database == f"configmaps://{release.namespace}"
    operator_args = list(release.container("operator")["args"])
    operator_env = release.env("operator", without=("KUBESCIM_OPERATOR_LIVENESS",))
    assert operator_env["KUBESCIM_DATABASE_URL"] == database
    server_env = release.env("server", without=("KUBESCIM_DATABASE_URL", "KUBESCIM_STATE_DIR"))
    server_env["KUBECONFIG"] = str(release.kubeconfig("server"))
    with (
        running_operator(
            release.kubeconfig("operator"), database, standalone=False, env=operator_env, args=operator_args
        ) as operator,
        live_server(database, env=server_env, workers=1) as server,
    ):
        try:
            yield server
        except AssertionError as error:
            raise AssertionError(f"{error}\noperator log:\n{operator.log()[-3000:]}") from None
        for name, log in (("operator", operator.log()), ("server", server.log_tail(10_000))):
            refused = [line for line in log.splitlines() if "Forbidden" in line or "HTTP 403" in line]
            assert refused == [], f"the {name} was refused an API call:\n" + "\n".join(refused[:5])


# -- tests -----------------------------------------------------------------------------------------


def test_cluster_wide_release_runs_bound_only_by_its_own_roles(
    control_plane: ControlPlane,
    kube_api: client.ApiClient,
    namespaces: Callable[[str], str],
    tmp_path: Path,
) -> None:
    system, tenant = namespaces("kubescim"), namespaces("tenant")
    with installed(control_plane, system, {}, tmp_path) as release, running(release, tmp_path) as server:
        name = apply_examples(control_plane, tenant)
        dir_id, token = ready_directory(kube_api, tenant, name)
        lease = client.CoordinationV1Api(kube_api).read_namespaced_lease("kubescim-operator", system)
        assert lease.spec.holder_identity
        scim_flow(server, dir_id, token)

        operator = client.CoreV1Api(release.api_as("operator"))
        server_api = release.api_as("server")
        assert forbidden(lambda: operator.list_namespaced_config_map(tenant))
        assert forbidden(lambda: operator.list_node())
        leases = client.CoordinationV1Api(release.api_as("operator"))
        assert forbidden(lambda: leases.read_namespaced_lease("someone-else", system))
        server_core = client.CoreV1Api(server_api)
        secret = client.V1Secret(metadata=client.V1ObjectMeta(name="planted"), string_data={"token": "x"})
        assert forbidden(lambda: server_core.create_namespaced_secret(tenant, secret))
        assert forbidden(
            lambda: client.CustomObjectsApi(server_api).patch_namespaced_custom_object_status(
                n.GROUP, n.VERSION, tenant, n.DIRECTORIES, name, {"status": {}}
            )
        )
        assert forbidden(lambda: server_core.list_namespaced_config_map(tenant))

        for component in ("server", "operator"):
            user = f"system:serviceaccount:{system}:{release.component(component)}"
            for verb in STORAGE_VERBS:
                assert allowed(kube_api, user, system, verb, "configmaps"), (component, verb)
                assert not allowed(kube_api, user, tenant, verb, "configmaps"), (component, verb)


def test_namespaced_release_is_refused_outside_its_listed_namespace(
    control_plane: ControlPlane,
    kube_api: client.ApiClient,
    namespaces: Callable[[str], str],
    tmp_path: Path,
) -> None:
    system, tenant, other = namespaces("kubescim"), namespaces("tenant"), namespaces("other")
    values = {"rbac": {"clusterWide": False, "namespaces": [tenant]}}
    with installed(control_plane, system, values, tmp_path) as release, running(release, tmp_path) as server:
        name = apply_examples(control_plane, tenant)
        dir_id, token = ready_directory(kube_api, tenant, name)
        scim_flow(server, dir_id, token)

        operator = client.CoreV1Api(release.api_as("operator"))
        server_core = client.CoreV1Api(release.api_as("server"))
        assert operator.list_namespaced_secret(tenant).items is not None
        assert forbidden(lambda: operator.list_namespaced_secret(other))
        assert forbidden(lambda: operator.list_secret_for_all_namespaces())
        assert forbidden(lambda: server_core.list_namespaced_secret(other))
        assert forbidden(lambda: server_core.list_secret_for_all_namespaces())
        custom = client.CustomObjectsApi(release.api_as("operator"))
        assert forbidden(
            lambda: custom.list_namespaced_custom_object(n.GROUP, n.VERSION, other, n.DIRECTORIES)
        )


# -- the webhook worker ----------------------------------------------------------------------


def _worker_process(release: Release, database: str, workdir: Path) -> subprocess.Popen[bytes]:
    """``kubescim webhooks run`` with the chart's env and a token of the worker's account."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBESCIM_")}
    env |= release.env("webhooks", without=("KUBESCIM_WEBHOOK_METRICS_PORT",))
    env |= {
        "KUBESCIM_DATABASE_URL": database,
        "KUBESCIM_STATE_DIR": str(workdir / "webhooks-state"),
        "KUBESCIM_LOG_LEVEL": "DEBUG",
        "KUBECONFIG": str(release.kubeconfig("webhooks")),
        "PYTHONPATH": str(REPO_ROOT),
    }
    with (workdir / "webhooks.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "scim_server.cli", *release.container("webhooks")["command"][1:]],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _declare_webhook(kube_api: client.ApiClient, namespace: str, url: str, secret: str) -> str:
    """An Organization with one webhook, its signing Secret and one directory; its id."""
    custom = client.CustomObjectsApi(kube_api)
    client.CoreV1Api(kube_api).create_namespaced_secret(
        namespace, {"metadata": {"name": "acme-webhook"}, "stringData": {"signing-secret": secret}}
    )
    hook = {"name": "app", "url": url, "secretRef": {"name": "acme-webhook"}}
    organization = {"displayName": "Acme", "webhooks": [hook]}
    directory = {"organizationRef": {"name": "acme"}, "attributeMapping": {"title": "title"}}
    for plural, kind, name, spec in (
        (n.ORGANIZATIONS, "Organization", "acme", organization),
        (n.DIRECTORIES, "ScimDirectory", "acme-okta", directory),
    ):
        body = {
            "apiVersion": f"{n.GROUP}/{n.VERSION}",
            "kind": kind,
            "metadata": {"name": name},
            "spec": spec,
        }
        custom.create_namespaced_custom_object(n.GROUP, n.VERSION, namespace, plural, body)
    return directory_id(namespace, "acme-okta", directory)


def test_webhook_worker_delivers_and_reports_bound_only_by_its_own_role(
    control_plane: ControlPlane,
    kube_api: client.ApiClient,
    namespaces: Callable[[str], str],
    postgres_url: str,
    tmp_path: Path,
) -> None:
    system, tenant = namespaces("kubescim"), namespaces("tenant")
    values = {
        "storage": {"backend": "postgresql", "postgresql": {"existingSecret": "kubescim-db"}},
        "webhooks": {"enabled": True, "leaseSeconds": 5},
    }
    secret = new_signing_secret()
    with (
        installed(control_plane, system, values, tmp_path) as release,
        running_receiver(secret) as receiver,
    ):
        dir_id = _declare_webhook(kube_api, tenant, receiver.url, secret)
        endpoint = f"{tenant}/acme/app"
        storage = open_storage(postgres_url)
        storage.activate_directory(dir_id)  # type: ignore[attr-defined]
        worker = _worker_process(release, postgres_url, tmp_path)
        try:
            # a stream starts at the directory's latest event: wait for it before the change
            eventually(lambda: storage.stream_states(endpoint), what="the stream started")  # type: ignore[attr-defined]
            storage.create(dir_id, "User", {"userName": "ada@acme.example", "title": "CTO", "active": True})
            eventually(lambda: receiver.deliveries, what="the change delivered, signed")
            [delivery] = receiver.deliveries
            assert delivery.type == "dsync.user.created"
            # shaped by the directory's policy, read with the worker's own grants
            assert delivery.payload["data"]["custom_attributes"] == {"title": "CTO"}

            def reported() -> dict[str, Any] | None:
                organization = client.CustomObjectsApi(kube_api).get_namespaced_custom_object(
                    n.GROUP, n.VERSION, tenant, n.ORGANIZATIONS, "acme"
                )
                entries = (organization.get("status") or {}).get("webhooks") or []
                return next((e for e in entries if e.get("lastSuccessTime")), None)

            entry = eventually(reported, timeout=40, what="status.webhooks written by the worker")
            assert (entry["name"], entry["backlog"]) == ("app", 0)
        finally:
            os.kill(worker.pid, signal.SIGTERM)
            worker.wait(30)
            storage.close()
        log = (tmp_path / "webhooks.log").read_text()
        assert receiver.failures == []
        refused = [line for line in log.splitlines() if "Forbidden" in line or "403" in line]
        assert refused == [], "the worker was refused an API call:\n" + "\n".join(refused[:5])
        assert worker.returncode == 0, log[-3000:]

        # and no more than that: a SubjectAccessReview per call it must not make
        user = f"system:serviceaccount:{system}:{release.component('webhooks')}"
        for verb, resource, subresource, expected in (
            ("list", "organizations", "", True),
            ("list", "scimdirectories", "", True),
            ("get", "secrets", "", True),
            ("patch", "organizations", "status", True),
            ("list", "secrets", "", False),
            ("watch", "secrets", "", False),
            ("create", "secrets", "", False),
            ("patch", "organizations", "", False),
            ("patch", "scimdirectories", "status", False),
            ("get", "configmaps", "", False),
        ):
            got = allowed(kube_api, user, tenant, verb, resource, subresource)
            assert got is expected, (verb, resource, subresource)


def test_namespaced_webhook_worker_is_granted_only_its_listed_namespace(
    control_plane: ControlPlane,
    kube_api: client.ApiClient,
    namespaces: Callable[[str], str],
    tmp_path: Path,
) -> None:
    system, tenant, other = namespaces("kubescim"), namespaces("tenant"), namespaces("other")
    values = {
        "rbac": {"clusterWide": False, "namespaces": [tenant]},
        "storage": {"backend": "postgresql", "postgresql": {"existingSecret": "kubescim-db"}},
        "webhooks": {"enabled": True},
    }
    with installed(control_plane, system, values, tmp_path) as release:
        assert release.env("webhooks")["KUBESCIM_TOKEN_NAMESPACE"] == tenant
        api = release.api_as("webhooks")
        # the production source, as the worker builds it from that env: its reads succeed
        assert KubernetesEndpointSource(api.configuration, tenant).endpoints() == []
        custom = client.CustomObjectsApi(api)
        assert forbidden(
            lambda: custom.list_namespaced_custom_object(n.GROUP, n.VERSION, other, n.ORGANIZATIONS)
        )
        assert forbidden(lambda: custom.list_cluster_custom_object(n.GROUP, n.VERSION, n.ORGANIZATIONS))
        assert forbidden(lambda: client.CoreV1Api(api).read_namespaced_secret("any", other))
        user = f"system:serviceaccount:{system}:{release.component('webhooks')}"
        assert allowed(kube_api, user, tenant, "get", "secrets")
        assert not allowed(kube_api, user, other, "get", "secrets")
