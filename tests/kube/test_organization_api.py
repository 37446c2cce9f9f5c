"""Organizations on a real API server: API keys the operator issues, the server's registry
that trusts only them, directory policies, and webhooks read from ``spec.webhooks``."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubernetes import client as k8s

from scim_operator.apikeys import ensure_api_key
from scim_server.app import create_app
from scim_server.config import Settings
from scim_server.crd.apikey import LABEL_ORGANIZATION, api_key_secret_name
from scim_server.crd.spec import directory_id
from scim_server.events.objects import DEFAULT_POLICY
from scim_server.events.signing import new_signing_secret
from scim_server.storage import open_storage
from scim_server.tokens.kubernetes_orgs import KubernetesOrganizationRegistry
from scim_server.tokens.local import LocalTokenRegistry
from scim_server.webhooks.kubernetes import KubernetesEndpointSource

GROUP, VERSION = "kubescim.io", "v1alpha1"


def _org(custom: k8s.CustomObjectsApi, namespace: str, name: str, **spec: Any) -> dict[str, Any]:
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Organization",
        "metadata": {"name": name},
        "spec": {"displayName": name, **spec},
    }
    created: dict[str, Any] = custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, "organizations", body
    )
    return created


def _directory(custom: k8s.CustomObjectsApi, namespace: str, name: str, org: str, **spec: Any) -> str:
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ScimDirectory",
        "metadata": {"name": name},
        "spec": {"organizationRef": {"name": org}, **spec},
    }
    created = custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "scimdirectories", body)
    return directory_id(namespace, name, created["spec"])


def _issue(api: k8s.ApiClient, namespace: str, name: str) -> str:
    """Run the operator's API-key step as its Organization handler does, return the key."""
    custom, core = k8s.CustomObjectsApi(api), k8s.CoreV1Api(api)
    body = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "organizations", name)
    status = ensure_api_key(core, body, datetime.now(UTC))
    if status:
        custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, namespace, "organizations", name, {"status": status}
        )
    secret = core.read_namespaced_secret(api_key_secret_name(name), namespace)
    return base64.b64decode(secret.data["api-key"]).decode()


def test_an_organizations_key_reads_only_its_directories(
    kube_api: k8s.ApiClient, namespace: str, tmp_path: Path
) -> None:
    custom = k8s.CustomObjectsApi(kube_api)
    _org(custom, namespace, "acme")
    _org(custom, namespace, "globex")
    acme_dir = _directory(
        custom,
        namespace,
        "acme-okta",
        "acme",
        attributeMapping={"title": "title"},
        roleMapping=[{"group": "Admins", "role": "admin"}],
        defaultRole="member",
    )
    globex_dir = _directory(custom, namespace, "globex-okta", "globex")
    acme_key, globex_key = _issue(kube_api, namespace, "acme"), _issue(kube_api, namespace, "globex")
    assert _issue(kube_api, namespace, "acme") == acme_key  # a resync keeps the key

    storage = open_storage(f"sqlite:///{tmp_path / 'db.sqlite'}")
    ada = storage.create(acme_dir, "User", {"userName": "ada", "active": True, "title": "CTO"})
    storage.create(acme_dir, "Group", {"displayName": "admins", "members": [{"value": ada["id"]}]})
    gus = storage.create(globex_dir, "User", {"userName": "gus", "active": True})
    registry = KubernetesOrganizationRegistry(kube_api.configuration, namespace)
    registry.refresh()
    app = create_app(
        Settings(state_dir=tmp_path / "state"),
        storage=storage,
        tokens=LocalTokenRegistry(tmp_path / "state"),
        organizations=registry,
    )
    http = app.test_client()

    def get(path: str, key: str) -> Any:
        return http.get(f"/api/v1{path}", headers={"Authorization": f"Bearer {key}"})

    user = get(f"/directory_users/{ada['id']}", acme_key)
    assert user.status_code == 200
    body = user.get_json()
    assert body["organization_id"] == f"{namespace}/acme"
    assert body["custom_attributes"] == {"title": "CTO"}
    assert body["roles"] == [{"slug": "admin"}]
    assert get(f"/directory_users/{gus['id']}", acme_key).status_code == 404
    assert get(f"/directories/{globex_dir}", acme_key).status_code == 404
    assert get(f"/directory_users/{gus['id']}", globex_key).get_json()["roles"] == []
    assert [d["id"] for d in get("/directories", acme_key).get_json()["data"]] == [acme_dir]

    # a Secret that merely claims the organization is not trusted
    forged = "kscim_key_forged-key-of-256-bits-at-least-0123456789"
    k8s.CoreV1Api(kube_api).create_namespaced_secret(
        namespace,
        {
            "metadata": {
                "name": "forged",
                "labels": {"app.kubernetes.io/managed-by": "kubescim", LABEL_ORGANIZATION: "acme"},
            },
            "stringData": {"api-key": forged},
        },
    )
    registry.refresh()
    assert get("/directories", forged).status_code == 401

    # rotation: the old key works for the grace period ("0": not at all)
    custom.patch_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        "organizations",
        "acme",
        {"spec": {"apiKey": {"rotationTrigger": "now", "gracePeriod": "0"}}},
    )
    new_key = _issue(kube_api, namespace, "acme")
    registry.refresh()
    assert new_key != acme_key
    assert get("/directories", acme_key).status_code == 401
    assert get("/directories", new_key).status_code == 200
    storage.close()


def test_webhooks_are_read_from_the_organization_and_report_into_its_status(
    kube_api: k8s.ApiClient, namespace: str
) -> None:
    custom, core = k8s.CustomObjectsApi(kube_api), k8s.CoreV1Api(kube_api)
    secret = new_signing_secret()
    core.create_namespaced_secret(
        namespace, {"metadata": {"name": "acme-webhook"}, "stringData": {"signing-secret": secret}}
    )
    hook = {
        "name": "app",
        "url": "https://app.acme.example/hooks",
        "secretRef": {"name": "acme-webhook"},
        "events": ["dsync.user.created"],
    }
    _org(
        custom, namespace, "acme", webhooks=[hook, {**hook, "name": "missing", "secretRef": {"name": "nope"}}]
    )
    dir_id = _directory(
        custom,
        namespace,
        "acme-okta",
        "acme",
        attributeMapping={"title": "title"},
        roleMapping=[{"group": "admins", "role": "admin"}],
    )

    source = KubernetesEndpointSource(kube_api.configuration, namespace)
    assert source.policy(dir_id) == DEFAULT_POLICY  # nothing read yet
    [endpoint] = source.endpoints()  # the one whose Secret is missing is skipped
    assert (endpoint.id, endpoint.url, endpoint.secret) == (f"{namespace}/acme/app", hook["url"], secret)
    assert (endpoint.events, endpoint.directories) == (frozenset({"dsync.user.created"}), (dir_id,))
    # the worker shapes payloads by the directories' policies from the same read
    policy = source.policy(dir_id)
    assert (policy.custom_attributes, policy.roles) == ({"title": "title"}, (("admins", "admin"),))

    entry = {
        "name": "app",
        "lastSuccessTime": None,
        "lastError": "HTTP 500",
        "backlog": 3,
        "oldestPendingTime": "2026-01-01T00:00:00Z",
        "deadLetters": 0,
    }
    source.report(f"{namespace}/acme", [entry])
    status = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "organizations", "acme")["status"]
    assert status["webhooks"] == [{k: v for k, v in entry.items() if v is not None}]
