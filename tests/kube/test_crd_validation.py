"""The CRDs, as the API server enforces them: every validation rule, defaults, printing.

Invalid manifests go through ``kubectl apply`` (what a user runs, and what they read), a
few through the Python client (what the operator and GitOps tools see). The examples in
``examples/`` must be accepted as they are.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s

from scim_operator import desired as d
from scim_operator.decide import Context
from scim_operator.directory import Clients, reconcile_directory
from scim_operator.organization import organization_status
from scim_server.crd import durations
from tests.support.controlplane import REPO_ROOT, ControlPlane
from tests.support.durations import INVALID as DURATIONS_INVALID
from tests.support.durations import VALID as DURATIONS_VALID

pytestmark = pytest.mark.slow

GROUP, VERSION = "kubescim.io", "v1alpha1"
DIRECTORIES = {"group": GROUP, "version": VERSION, "plural": "scimdirectories"}
ORGANIZATIONS = {"group": GROUP, "version": VERSION, "plural": "organizations"}
EXAMPLES = REPO_ROOT / "examples"
Manifest = dict[str, Any]

HOOK = {"name": "app", "url": "https://a.example", "secretRef": {"name": "s"}}


def scim_directory(name: str = "acme-okta", **spec: Any) -> Manifest:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ScimDirectory",
        "metadata": {"name": name},
        "spec": {"organizationRef": {"name": "acme"}, **spec},
    }


def organization(name: str = "acme", **spec: Any) -> Manifest:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Organization",
        "metadata": {"name": name},
        "spec": {"displayName": "Acme Corporation", **spec},
    }


def without(manifest: Manifest, *path: str) -> Manifest:
    """``manifest`` with the field at ``path`` removed."""
    parent = manifest
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    return manifest


def kubectl(plane: ControlPlane, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["kubectl", f"--kubeconfig={plane.kubeconfig}", *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def apply(plane: ControlPlane, namespace: str, *manifests: Manifest) -> subprocess.CompletedProcess[str]:
    return kubectl(plane, "apply", "-n", namespace, "-f", "-", stdin=yaml.safe_dump_all(manifests))


def applied(plane: ControlPlane, namespace: str, *manifests: Manifest) -> str:
    result = apply(plane, namespace, *manifests)
    assert result.returncode == 0, result.stderr
    return result.stdout


def rejection(plane: ControlPlane, namespace: str, manifest: Manifest) -> str:
    """The error ``kubectl apply`` prints for ``manifest``; fails if it was accepted."""
    result = apply(plane, namespace, manifest)
    assert result.returncode != 0, f"accepted: {result.stdout}"
    kind, name = manifest["kind"], manifest["metadata"]["name"]
    assert result.stderr.startswith(f'The {kind} "{name}" is invalid: '), result.stderr
    return result.stderr


def api_error(call: Callable[[], object]) -> dict[str, Any]:
    with pytest.raises(k8s.ApiException) as caught:
        call()
    assert caught.value.status == 422
    status: dict[str, Any] = json.loads(caught.value.body)
    return status


def table(output: str) -> list[list[str]]:
    """``kubectl get`` output as rows of columns (split on runs of 2+ spaces)."""
    return [re.split(r"\s{2,}", line.strip()) for line in output.splitlines() if line.strip()]


PATTERN = "should match"
# Matched in two parts, so the message may add the default: "gracePeriod (default 24h) must ...".
GRACE_NOT_SHORTER = [
    "spec.tokenPolicy",
    "tokenPolicy.gracePeriod",
    "must be shorter than tokenPolicy.rotationPeriod",
]
DURATION = f"should match '{durations.PATTERN}'"

INVALID_DIRECTORIES: list[tuple[str, Manifest, list[str]]] = [
    (
        "unknown provider",
        scim_directory(provider="google"),
        ['spec.provider: Unsupported value: "google": supported values: "generic", "okta", "entra"'],
    ),
    (
        "grace period equal to rotation period",
        scim_directory(tokenPolicy={"rotationPeriod": "48h", "gracePeriod": "48h"}),
        GRACE_NOT_SHORTER,
    ),
    (
        "grace period longer than rotation period",
        scim_directory(tokenPolicy={"rotationPeriod": "2160h", "gracePeriod": "2161h"}),
        GRACE_NOT_SHORTER,
    ),
    (
        "rotation period under the defaulted 24h grace period",
        scim_directory(tokenPolicy={"rotationPeriod": "12h"}),
        GRACE_NOT_SHORTER,
    ),
    (
        "rotation period under an hour",
        scim_directory(tokenPolicy={"rotationPeriod": "59m59s", "gracePeriod": "10m"}),
        ["spec.tokenPolicy", "tokenPolicy.rotationPeriod must be at least 1h"],
    ),
    (
        "rotation period not a duration",
        scim_directory(tokenPolicy={"rotationPeriod": "90 days"}),
        ['spec.tokenPolicy.rotationPeriod: Invalid value: "90 days"', DURATION],
    ),
    (
        "rotation period in fractional days",
        scim_directory(tokenPolicy={"rotationPeriod": "1.5d"}),
        ['spec.tokenPolicy.rotationPeriod: Invalid value: "1.5d"', DURATION],
    ),
    (
        "grace period not a duration",
        scim_directory(tokenPolicy={"gracePeriod": "1w"}),
        ['spec.tokenPolicy.gracePeriod: Invalid value: "1w"', DURATION],
    ),
    (
        "grace period in days not shorter than a rotation period in hours",
        scim_directory(tokenPolicy={"rotationPeriod": "48h", "gracePeriod": "2d"}),
        GRACE_NOT_SHORTER,
    ),
    (
        "rotation trigger too long",
        scim_directory(tokenPolicy={"rotationTrigger": "x" * 129}),
        ["spec.tokenPolicy.rotationTrigger: Too long: may not be more than 128"],
    ),
    (
        "name longer than 50 characters",
        scim_directory(name="a" * 51),
        [
            "metadata.name: Invalid value: ScimDirectory names are at most 50 characters "
            "(they become part of the endpoint path)"
        ],
    ),
    (
        "upper-case host",
        scim_directory(endpoint={"host": "SCIM.acme.example"}),
        ['spec.endpoint.host: Invalid value: "SCIM.acme.example"', PATTERN],
    ),
    (
        "wildcard host",
        scim_directory(endpoint={"host": "*.acme.example"}),
        ['spec.endpoint.host: Invalid value: "*.acme.example"', PATTERN],
    ),
    (
        "host with a scheme",
        scim_directory(endpoint={"host": "https://scim.acme.example"}),
        ['spec.endpoint.host: Invalid value: "https://scim.acme.example"', PATTERN],
    ),
    (
        "host with a port",
        scim_directory(endpoint={"host": "scim.acme.example:443"}),
        ['spec.endpoint.host: Invalid value: "scim.acme.example:443"', PATTERN],
    ),
    (
        "host longer than 253 characters",
        scim_directory(endpoint={"host": ".".join(["a" * 63] * 4)}),
        ["spec.endpoint.host: Too long: may not be more than 253"],
    ),
    (
        "path outside /scim/v2",
        scim_directory(endpoint={"path": "/api/acme"}),
        ['spec.endpoint.path: Invalid value: "/api/acme"', "should match '^/scim/v2/"],
    ),
    (
        "path with upper case",
        scim_directory(endpoint={"path": "/scim/v2/Acme"}),
        ['spec.endpoint.path: Invalid value: "/scim/v2/Acme"', PATTERN],
    ),
    (
        "path with two segments",
        scim_directory(endpoint={"path": "/scim/v2/acme/okta"}),
        ['spec.endpoint.path: Invalid value: "/scim/v2/acme/okta"', PATTERN],
    ),
    (
        "path without an id",
        scim_directory(endpoint={"path": "/scim/v2/"}),
        ['spec.endpoint.path: Invalid value: "/scim/v2/"', PATTERN],
    ),
    (
        "non-string annotation",
        scim_directory(endpoint={"annotations": {"nginx.ingress.kubernetes.io/limit-rps": 50}}),
        ['spec.endpoint.annotations.nginx.ingress.kubernetes.io/limit-rps: Invalid value: "integer"'],
    ),
    (
        "unknown deletion policy",
        scim_directory(deletionPolicy="Orphan"),
        ['spec.deletionPolicy: Unsupported value: "Orphan": supported values: "Delete", "Retain"'],
    ),
    (
        "unknown inactive-users policy",
        scim_directory(inactiveUsers="Disable"),
        ['spec.inactiveUsers: Unsupported value: "Disable": supported values: "Keep", "Delete"'],
    ),
    (
        "maxUsers zero",
        scim_directory(maxUsers=0),
        ["spec.maxUsers: Invalid value: 0: spec.maxUsers in body should be greater than or equal to 1"],
    ),
    (
        "suspended not a boolean",
        scim_directory(suspended="yes"),
        ['spec.suspended: Invalid value: "string": spec.suspended in body must be of type boolean'],
    ),
    (
        "missing organizationRef",
        without(scim_directory(provider="okta"), "spec", "organizationRef"),
        ["spec.organizationRef: Required value"],
    ),
    (
        "organizationRef without a name",
        scim_directory(organizationRef={}),
        ["spec.organizationRef.name: Required value"],
    ),
    (
        "organizationRef with an empty name",
        scim_directory(organizationRef={"name": ""}),
        ['spec.organizationRef.name: Invalid value: ""', "should be at least 1 chars long"],
    ),
    (
        "missing spec",
        without(scim_directory(), "spec"),
        ["spec: Required value"],
    ),
]

INVALID_ORGANIZATIONS: list[tuple[str, Manifest, list[str]]] = [
    (
        "missing displayName",
        without(organization(domains=["acme.example"]), "spec", "displayName"),
        ["spec.displayName: Required value"],
    ),
    (
        "empty displayName",
        organization(displayName=""),
        ['spec.displayName: Invalid value: ""', "should be at least 1 chars long"],
    ),
    (
        "displayName too long",
        organization(displayName="A" * 257),
        ["spec.displayName: Too long: may not be more than 256"],
    ),
    (
        "upper-case domain",
        organization(domains=["Acme.example"]),
        ['spec.domains[0]: Invalid value: "Acme.example"', PATTERN],
    ),
    (
        "domain without a dot",
        organization(domains=["acme.example", "localhost"]),
        ['spec.domains[1]: Invalid value: "localhost"', PATTERN],
    ),
    (
        "domain as a URL",
        organization(domains=["https://acme.example"]),
        ['spec.domains[0]: Invalid value: "https://acme.example"', PATTERN],
    ),
    (
        "email address as a domain",
        organization(domains=["it@acme.example"]),
        ['spec.domains[0]: Invalid value: "it@acme.example"', PATTERN],
    ),
    (
        "duplicate domain",
        organization(domains=["acme.example", "acme.example"]),
        ['spec.domains[1]: Duplicate value: "acme.example"'],
    ),
    (
        "webhook url without http(s)",
        organization(webhooks=[{"name": "app", "url": "ftp://app.acme.example", "secretRef": {"name": "s"}}]),
        [
            'spec.webhooks[0].url: Invalid value: "ftp://app.acme.example"',
            "webhook url must start with https:// (or http:// for in-cluster receivers)",
        ],
    ),
    (
        "webhook url without a scheme",
        organization(webhooks=[{"name": "app", "url": "app.acme.example/hook", "secretRef": {"name": "s"}}]),
        ["spec.webhooks[0].url", "webhook url must start with https://"],
    ),
    (
        "webhook without secretRef",
        organization(webhooks=[{"name": "app", "url": "https://app.acme.example/hook"}]),
        ["spec.webhooks[0].secretRef: Required value"],
    ),
    (
        "webhook without url",
        organization(webhooks=[{"name": "app", "secretRef": {"name": "acme-webhook"}}]),
        ["spec.webhooks[0].url: Required value"],
    ),
    (
        "secretRef without a name",
        organization(webhooks=[{"name": "app", "url": "https://app.acme.example", "secretRef": {}}]),
        ["spec.webhooks[0].secretRef.name: Required value"],
    ),
    (
        "unknown event type",
        organization(webhooks=[{**HOOK, "events": ["user.created"]}]),
        ['spec.webhooks[0].events[0]: Unsupported value: "user.created"'],
    ),
    (
        "two webhooks with one name",
        organization(webhooks=[HOOK, {**HOOK, "url": "https://b.example"}]),
        ["spec.webhooks[1]: Duplicate value"],
    ),
    (
        "missing spec",
        without(organization(), "spec"),
        ["spec: Required value"],
    ),
]


@pytest.mark.parametrize(
    ("manifest", "messages"),
    [case[1:] for case in INVALID_DIRECTORIES],
    ids=[case[0] for case in INVALID_DIRECTORIES],
)
def test_kubectl_apply_rejects_an_invalid_scim_directory_naming_the_rule(
    control_plane: ControlPlane, namespace: str, manifest: Manifest, messages: list[str]
) -> None:
    error = rejection(control_plane, namespace, manifest)
    for message in messages:
        assert message in error


@pytest.mark.parametrize(
    ("manifest", "messages"),
    [case[1:] for case in INVALID_ORGANIZATIONS],
    ids=[case[0] for case in INVALID_ORGANIZATIONS],
)
def test_kubectl_apply_rejects_an_invalid_organization_naming_the_rule(
    control_plane: ControlPlane, namespace: str, manifest: Manifest, messages: list[str]
) -> None:
    error = rejection(control_plane, namespace, manifest)
    for message in messages:
        assert message in error


def test_the_api_reports_every_invalid_field_as_a_cause(kube_api: k8s.ApiClient, namespace: str) -> None:
    custom = k8s.CustomObjectsApi(kube_api)
    body = scim_directory(provider="google", endpoint={"host": "SCIM.acme.example"}, deletionPolicy="Orphan")

    status = api_error(
        lambda: custom.create_namespaced_custom_object(**DIRECTORIES, namespace=namespace, body=body)
    )

    assert status["reason"] == "Invalid"
    assert status["details"]["kind"] == "ScimDirectory"
    fields = {cause.get("field") for cause in status["details"]["causes"]}
    assert {"spec.provider", "spec.endpoint.host", "spec.deletionPolicy"} <= fields


def test_the_api_reports_a_cel_rule_with_its_message(kube_api: k8s.ApiClient, namespace: str) -> None:
    custom = k8s.CustomObjectsApi(kube_api)
    body = scim_directory(tokenPolicy={"rotationPeriod": "30m", "gracePeriod": "5m"})

    status = api_error(
        lambda: custom.create_namespaced_custom_object(**DIRECTORIES, namespace=namespace, body=body)
    )

    [cause] = status["details"]["causes"]
    assert cause["field"] == "spec.tokenPolicy"
    assert "tokenPolicy.rotationPeriod must be at least 1h" in cause["message"]


# -- updates -----------------------------------------------------------------------------------


def test_organization_ref_cannot_change_with_kubectl_apply(
    control_plane: ControlPlane, namespace: str
) -> None:
    applied(control_plane, namespace, scim_directory(provider="okta"))

    error = rejection(
        control_plane, namespace, scim_directory(provider="okta", organizationRef={"name": "globex"})
    )

    assert "spec.organizationRef: Invalid value" in error
    assert "organizationRef is immutable; create a new ScimDirectory instead" in error


def test_organization_ref_cannot_change_with_a_patch(kube_api: k8s.ApiClient, namespace: str) -> None:
    custom = k8s.CustomObjectsApi(kube_api)
    custom.create_namespaced_custom_object(**DIRECTORIES, namespace=namespace, body=scim_directory())
    patch = {"spec": {"organizationRef": {"name": "globex"}}}

    status = api_error(
        lambda: custom.patch_namespaced_custom_object(
            **DIRECTORIES, namespace=namespace, name="acme-okta", body=patch
        )
    )

    [cause] = status["details"]["causes"]
    assert cause["field"] == "spec.organizationRef"
    assert "organizationRef is immutable" in cause["message"]
    current = custom.get_namespaced_custom_object(**DIRECTORIES, namespace=namespace, name="acme-okta")
    assert current["spec"]["organizationRef"] == {"name": "acme"}


def test_other_fields_can_change_and_an_unchanged_organization_ref_passes(
    control_plane: ControlPlane, namespace: str
) -> None:
    applied(control_plane, namespace, scim_directory(provider="okta"))

    out = applied(
        control_plane,
        namespace,
        scim_directory(
            provider="entra", suspended=True, tokenPolicy={"rotationTrigger": "2025-03-01T00:00:00Z"}
        ),
    )

    assert "scimdirectory.kubescim.io/acme-okta configured" in out


def test_an_update_is_validated_like_a_create(kube_api: k8s.ApiClient, namespace: str) -> None:
    custom = k8s.CustomObjectsApi(kube_api)
    custom.create_namespaced_custom_object(**DIRECTORIES, namespace=namespace, body=scim_directory())
    patch = {"spec": {"tokenPolicy": {"rotationPeriod": "24h", "gracePeriod": "24h"}}}

    status = api_error(
        lambda: custom.patch_namespaced_custom_object(
            **DIRECTORIES, namespace=namespace, name="acme-okta", body=patch
        )
    )

    assert all(part in status["message"] for part in GRACE_NOT_SHORTER)


# -- accepted objects and defaults ------------------------------------------------------------


def test_defaults_fill_a_minimal_scim_directory(kube_api: k8s.ApiClient, namespace: str) -> None:
    custom = k8s.CustomObjectsApi(kube_api)

    created = custom.create_namespaced_custom_object(
        **DIRECTORIES, namespace=namespace, body=scim_directory()
    )

    assert created["spec"] == {
        "organizationRef": {"name": "acme"},
        "provider": "generic",
        "endpoint": {},
        "tokenPolicy": {"gracePeriod": "24h"},
        "suspended": False,
        "deletionPolicy": "Delete",
        "inactiveUsers": "Keep",
    }


def test_defaults_fill_a_partial_token_policy_without_overriding_it(
    kube_api: k8s.ApiClient, namespace: str
) -> None:
    custom = k8s.CustomObjectsApi(kube_api)
    body = scim_directory(tokenPolicy={"rotationPeriod": "2160h"}, provider="okta")

    created = custom.create_namespaced_custom_object(**DIRECTORIES, namespace=namespace, body=body)

    assert created["spec"]["tokenPolicy"] == {"rotationPeriod": "2160h", "gracePeriod": "24h"}
    assert created["spec"]["provider"] == "okta"


def test_defaults_fill_the_signing_secret_key_of_an_organization(
    kube_api: k8s.ApiClient, namespace: str
) -> None:
    custom = k8s.CustomObjectsApi(kube_api)
    webhook = {"name": "app", "url": "http://app.acme.svc:8080/hooks", "secretRef": {"name": "acme-webhook"}}

    created = custom.create_namespaced_custom_object(
        **ORGANIZATIONS, namespace=namespace, body=organization(webhooks=[webhook])
    )

    assert created["spec"]["webhooks"][0]["secretRef"] == {"name": "acme-webhook", "key": "signing-secret"}
    assert created["spec"]["apiKey"] == {"gracePeriod": "24h"}


def test_a_scim_directory_using_every_field_is_accepted(kube_api: k8s.ApiClient, namespace: str) -> None:
    custom = k8s.CustomObjectsApi(kube_api)
    spec = {
        "organizationRef": {"name": "acme"},
        "provider": "rippling",
        "endpoint": {
            "host": "scim.acme-corp.example",
            "path": "/scim/v2/acme-rippling",
            "ingressClassName": "nginx",
            "tlsSecretName": "scim-tls",
            "annotations": {"cert-manager.io/cluster-issuer": "letsencrypt"},
        },
        "tokenPolicy": {"rotationPeriod": "1h", "gracePeriod": "59m59s", "rotationTrigger": "2025-03-01"},
        "suspended": True,
        "deletionPolicy": "Retain",
        "inactiveUsers": "Delete",
        "attributeMapping": {
            "department": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"
        },
        "roleMapping": [{"group": "Admins", "role": "admin"}],
        "defaultRole": "member",
    }
    name = "a" * 50  # the longest name allowed

    created = custom.create_namespaced_custom_object(
        **DIRECTORIES, namespace=namespace, body={**scim_directory(name), "spec": spec}
    )

    assert created["spec"] == spec


@pytest.mark.parametrize(
    "provider", ["generic", "okta", "entra", "onelogin", "jumpcloud", "ping", "rippling"]
)
def test_every_documented_provider_is_accepted(
    kube_api: k8s.ApiClient, namespace: str, provider: str
) -> None:
    custom = k8s.CustomObjectsApi(kube_api)
    body = scim_directory(provider, provider=provider)
    assert custom.create_namespaced_custom_object(**DIRECTORIES, namespace=namespace, body=body)


def test_an_organization_using_every_field_is_accepted(kube_api: k8s.ApiClient, namespace: str) -> None:
    custom = k8s.CustomObjectsApi(kube_api)
    spec = {
        "displayName": "Acme Corporation (EMEA)",
        "domains": ["acme.example", "eu.acme-corp.example"],
        "webhooks": [
            {
                "name": "app",
                "url": "https://app.acme.example/hooks/kubescim",
                "secretRef": {"name": "acme-webhook", "key": "hmac"},
                "events": ["dsync.user.created", "dsync.group.user_added"],
            }
        ],
        "apiKey": {"rotationTrigger": "2025-03-01", "gracePeriod": "7d"},
    }

    created = custom.create_namespaced_custom_object(
        **ORGANIZATIONS, namespace=namespace, body={**organization(), "spec": spec}
    )

    assert created["spec"] == spec


# -- status schema -----------------------------------------------------------------------------


def test_organization_status_keeps_what_the_operator_writes(kube_api: k8s.ApiClient, namespace: str) -> None:
    custom = k8s.CustomObjectsApi(kube_api)
    body = custom.create_namespaced_custom_object(**ORGANIZATIONS, namespace=namespace, body=organization())
    member = {
        "metadata": {"name": "acme-okta"},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]},
    }
    status = organization_status(body, [member])

    patched = custom.patch_namespaced_custom_object_status(
        **ORGANIZATIONS, namespace=namespace, name="acme", body={"status": status}
    )

    assert patched["status"] == status


def test_scim_directory_status_keeps_what_the_operator_writes(
    kube_api: k8s.ApiClient, namespace: str
) -> None:
    custom = k8s.CustomObjectsApi(kube_api)
    manifest = scim_directory(tokenPolicy={"rotationTrigger": "now"})
    body = custom.create_namespaced_custom_object(**DIRECTORIES, namespace=namespace, body=manifest)
    outcome = reconcile_directory(Clients(kube_api), body, d.RouteConfig(), Context(organization_exists=True))
    stats = {"users": 12, "groups": 3, "lastSyncTime": "2025-03-01T12:00:00Z"}
    status = {**outcome.status, **stats}

    patched = custom.patch_namespaced_custom_object_status(
        **DIRECTORIES, namespace=namespace, name="acme-okta", body={"status": status}
    )

    assert patched["status"] == status


# -- kubectl get -------------------------------------------------------------------------------


@pytest.fixture
def ready_directory(kube_api: k8s.ApiClient, namespace: str) -> str:
    """A ScimDirectory (provider okta) whose status says Ready, with users and groups."""
    custom = k8s.CustomObjectsApi(kube_api)
    custom.create_namespaced_custom_object(**ORGANIZATIONS, namespace=namespace, body=organization())
    custom.create_namespaced_custom_object(
        **DIRECTORIES, namespace=namespace, body=scim_directory(provider="okta")
    )
    ready = {
        "type": "Ready",
        "status": "True",
        "reason": "Reconciled",
        "message": "ready",
        "lastTransitionTime": "2025-03-01T12:00:00Z",
    }
    status = {
        "endpoint": "https://scim.acme.example/scim/v2/acme",
        "users": 12,
        "groups": 3,
        "lastSyncTime": "2025-03-01T12:00:00Z",
        "conditions": [ready],
    }
    custom.patch_namespaced_custom_object_status(
        **DIRECTORIES, namespace=namespace, name="acme-okta", body={"status": status}
    )
    return "acme-okta"


def get(plane: ControlPlane, namespace: str, *args: str) -> list[list[str]]:
    result = kubectl(plane, "get", "-n", namespace, *args)
    assert result.returncode == 0, result.stderr
    return table(result.stdout)


def test_kubectl_get_scimdirectories_shows_ready_endpoint_users_groups_last_sync(
    control_plane: ControlPlane, namespace: str, ready_directory: str
) -> None:
    header, row = get(control_plane, namespace, "scimdirectories")

    assert header == ["NAME", "READY", "ENDPOINT", "USERS", "GROUPS", "LAST SYNC", "AGE"]
    assert row[:5] == ["acme-okta", "True", "https://scim.acme.example/scim/v2/acme", "12", "3"]


def test_kubectl_get_wide_adds_organization_provider_suspended(
    control_plane: ControlPlane, namespace: str, ready_directory: str
) -> None:
    header, row = get(control_plane, namespace, "scimdirectories", "-o", "wide")

    assert header[:10] == [
        "NAME",
        "READY",
        "ENDPOINT",
        "USERS",
        "GROUPS",
        "LAST SYNC",
        "AGE",
        "ORGANIZATION",
        "PROVIDER",
        "SUSPENDED",
    ]
    assert row[7:11] == ["acme", "okta", "false", "Reconciled"]


@pytest.mark.parametrize("resource", ["sd", "scimdir", "scimdirectory", "scimdirectories.kubescim.io"])
def test_short_names_resolve_to_scim_directories(
    control_plane: ControlPlane, namespace: str, ready_directory: str, resource: str
) -> None:
    header, row = get(control_plane, namespace, resource)
    assert (header[0], row[0]) == ("NAME", "acme-okta")


def test_kubectl_get_organizations_shows_display_name_and_directories(
    control_plane: ControlPlane, namespace: str, ready_directory: str
) -> None:
    header, row = get(control_plane, namespace, "scimorg", "-o", "wide")

    assert header == ["NAME", "DISPLAY NAME", "READY", "DIRECTORIES", "AGE", "DOMAINS"]
    assert row[:2] == ["acme", "Acme Corporation"]


def test_the_kubescim_category_lists_organizations_and_directories(
    control_plane: ControlPlane, namespace: str, ready_directory: str
) -> None:
    result = kubectl(control_plane, "get", "-n", namespace, "kubescim", "-o", "name")

    assert result.returncode == 0, result.stderr
    assert sorted(result.stdout.split()) == [
        "organization.kubescim.io/acme",
        "scimdirectory.kubescim.io/acme-okta",
    ]


# -- examples/ ---------------------------------------------------------------------------------


def example_manifests() -> dict[str, Manifest]:
    return {path.name: yaml.safe_load(path.read_text()) for path in sorted(EXAMPLES.glob("*.yaml"))}


def test_examples_declare_an_organization_with_an_okta_and_an_entra_directory() -> None:
    manifests = example_manifests()

    assert set(manifests) == {"organization.yaml", "okta-directory.yaml", "entra-directory.yaml"}
    assert all("namespace" not in m["metadata"] for m in manifests.values())
    org = manifests["organization.yaml"]
    assert (org["kind"], org["metadata"]["name"]) == ("Organization", "acme")
    for file, provider in (("okta-directory.yaml", "okta"), ("entra-directory.yaml", "entra")):
        directory = manifests[file]
        assert directory["kind"] == "ScimDirectory"
        assert directory["spec"]["provider"] == provider
        assert directory["spec"]["organizationRef"] == {"name": "acme"}
        assert d.secret_name(directory["metadata"]["name"]) in (EXAMPLES / "README.md").read_text()


def test_examples_are_accepted_by_the_api_server(control_plane: ControlPlane, namespace: str) -> None:
    result = kubectl(control_plane, "apply", "--dry-run=server", "-n", namespace, "-f", str(EXAMPLES))

    assert result.returncode == 0, result.stderr
    assert sorted(result.stdout.splitlines()) == [
        "organization.kubescim.io/acme created (server dry run)",
        "scimdirectory.kubescim.io/acme-entra created (server dry run)",
        "scimdirectory.kubescim.io/acme-okta created (server dry run)",
    ]


def test_examples_apply_as_written(
    control_plane: ControlPlane, kube_api: k8s.ApiClient, namespace: str
) -> None:
    result = kubectl(control_plane, "apply", "-n", namespace, "-f", str(EXAMPLES))
    assert result.returncode == 0, result.stderr

    custom = k8s.CustomObjectsApi(kube_api)
    for file, manifest in example_manifests().items():
        plural = ORGANIZATIONS if manifest["kind"] == "Organization" else DIRECTORIES
        stored = custom.get_namespaced_custom_object(
            **plural, namespace=namespace, name=manifest["metadata"]["name"]
        )
        spec_without_defaults = {k: v for k, v in stored["spec"].items() if k in manifest["spec"]}
        assert spec_without_defaults == manifest["spec"], file


# -- the duration grammar, as the API server applies it ---------------------------------------


@pytest.mark.parametrize(("text", "seconds"), DURATIONS_VALID)
def test_the_api_server_accepts_every_valid_duration(
    kube_api: k8s.ApiClient, namespace: str, text: str, seconds: float
) -> None:
    custom = k8s.CustomObjectsApi(kube_api)
    # A rotation period longer than any grace period in the table, and at least 1h.
    policy = {"gracePeriod": text, "rotationPeriod": "1000d"}
    body = scim_directory(f"grace-{DURATIONS_VALID.index((text, seconds))}", tokenPolicy=policy)
    created = custom.create_namespaced_custom_object(**DIRECTORIES, namespace=namespace, body=body)
    assert created["spec"]["tokenPolicy"]["gracePeriod"] == text
    if seconds >= 3600:
        rotating = scim_directory(
            f"rot-{DURATIONS_VALID.index((text, seconds))}",
            tokenPolicy={"rotationPeriod": text, "gracePeriod": "0"},
        )
        assert custom.create_namespaced_custom_object(**DIRECTORIES, namespace=namespace, body=rotating)


@pytest.mark.parametrize("text", DURATIONS_INVALID)
def test_the_api_server_refuses_every_invalid_duration(
    kube_api: k8s.ApiClient, namespace: str, text: str
) -> None:
    custom = k8s.CustomObjectsApi(kube_api)
    body = scim_directory("bad-grace", tokenPolicy={"gracePeriod": text})
    with pytest.raises(k8s.ApiException) as refused:
        custom.create_namespaced_custom_object(**DIRECTORIES, namespace=namespace, body=body)
    assert refused.value.status == 422
    assert "spec.tokenPolicy.gracePeriod" in str(refused.value.body)


@pytest.mark.parametrize(
    ("grace", "rotation", "accepted"),
    [
        ("23h", "1d", True),
        ("1d", "24h", False),
        ("1d", "1d1s", True),
        ("6d23h", "7d", True),
        ("7d", "168h", False),
    ],
)
def test_days_and_hours_compare_as_the_operator_compares_them(
    kube_api: k8s.ApiClient, namespace: str, grace: str, rotation: str, accepted: bool
) -> None:
    assert (
        durations.parse_duration(grace) < durations.parse_duration(rotation)
    ) is accepted  # the operator's view
    custom = k8s.CustomObjectsApi(kube_api)
    body = scim_directory("cmp", tokenPolicy={"gracePeriod": grace, "rotationPeriod": rotation})
    if accepted:
        assert custom.create_namespaced_custom_object(**DIRECTORIES, namespace=namespace, body=body)
        return
    with pytest.raises(k8s.ApiException) as refused:
        custom.create_namespaced_custom_object(**DIRECTORIES, namespace=namespace, body=body)
    assert "must be shorter than tokenPolicy.rotationPeriod" in str(refused.value.body)
