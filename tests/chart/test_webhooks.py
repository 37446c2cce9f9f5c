"""The webhook worker in the chart: off by default, PostgreSQL only, configured through
the settings ``kubescim webhooks run`` reads, and granted exactly the API calls it makes."""

from __future__ import annotations

from typing import Any

import helm_python as helm
import pytest

from scim_server.config import Settings
from tests.support.chart import NAMESPACE, container_env, find, notes, one, render, rules_of

POSTGRESQL = {"backend": "postgresql", "postgresql": {"existingSecret": "db", "secretKey": "url"}}
ENABLED: dict[str, Any] = {"storage": POSTGRESQL, "webhooks": {"enabled": True}}
WORKER = "kubescim-webhooks"
# What the worker calls (scim_server/webhooks/kubernetes.py): list both kinds, get a
# signing Secret by name, patch an Organization's status. Nothing else.
WORKER_RULES = [
    {"apiGroups": ["kubescim.io"], "resources": ["organizations", "scimdirectories"], "verbs": ["list"]},
    {"apiGroups": ["kubescim.io"], "resources": ["organizations/status"], "verbs": ["patch"]},
    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]},
]


def _with(**webhooks: Any) -> dict[str, Any]:
    return {**ENABLED, "webhooks": {"enabled": True, **webhooks}}


def test_off_by_default_nothing_of_the_worker_renders() -> None:
    for values in ({}, {"storage": POSTGRESQL}):
        assert [m for m in render(values) if WORKER in m["metadata"]["name"]] == []


@pytest.mark.parametrize("backend", ["configmaps", "secrets"])
def test_enabled_without_postgresql_fails_saying_why(backend: str) -> None:
    with pytest.raises(
        helm.HelmError, match=f"webhooks.enabled needs storage.backend postgresql \\(it is {backend}\\)"
    ):
        render({"storage": {"backend": backend}, "webhooks": {"enabled": True}})


def test_the_worker_runs_replicas_with_the_servers_storage_and_a_metrics_port() -> None:
    manifests = render(ENABLED)
    deployment = one(manifests, "Deployment", WORKER)
    assert deployment["spec"]["replicas"] == 2
    pod = deployment["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == WORKER
    [container] = pod["containers"]
    assert container["command"] == ["kubescim", "webhooks", "run"]
    assert container["ports"] == [{"name": "metrics", "containerPort": 9090, "protocol": "TCP"}]
    assert not {"livenessProbe", "readinessProbe", "startupProbe"} & set(container)  # none offered
    env = container_env(deployment)
    server_env = container_env(one(manifests, "Deployment", "kubescim-server"))
    assert env["KUBESCIM_DATABASE_URL"] == server_env["KUBESCIM_DATABASE_URL"]
    assert env["KUBESCIM_DATABASE_URL"] == {"secretKeyRef": {"name": "db", "key": "url"}}
    assert "KUBESCIM_TOKEN_NAMESPACE" not in env
    assert find(manifests, "ServiceAccount", WORKER) != []


def test_worker_env_is_what_the_workers_settings_read(monkeypatch: pytest.MonkeyPatch) -> None:
    values = _with(
        concurrency=8,
        timeoutSeconds=2.5,
        retryBaseSeconds=3,
        retryMaxSeconds=120,
        deadLetterAfterSeconds=86400,
        leaseSeconds=30,
        eventRetentionDays=7,
        metricsPort=9102,
        logFormat="text",
    )
    for name, value in container_env(one(render(values), "Deployment", WORKER)).items():
        if isinstance(value, str):
            monkeypatch.setenv(name, value)

    settings = Settings()

    assert settings.token_source == "kubernetes"  # webhooks from Organizations, not the state dir
    assert (settings.webhook_concurrency, settings.webhook_timeout_seconds) == (8, 2.5)
    assert (settings.webhook_retry_base_seconds, settings.webhook_retry_max_seconds) == (3, 120)
    assert settings.webhook_dead_letter_after_seconds == 86400
    assert (settings.webhook_lease_seconds, settings.event_retention_days) == (30, 7)
    assert (settings.webhook_metrics_port, settings.log_format) == (9102, "text")


def test_cluster_wide_the_worker_gets_exactly_its_calls_in_a_cluster_role_of_its_own() -> None:
    manifests = render(ENABLED)
    assert rules_of(manifests, "ClusterRole", WORKER) == WORKER_RULES
    binding = one(manifests, "ClusterRoleBinding", WORKER)
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": WORKER, "namespace": NAMESPACE}]
    others = [m for m in manifests if m["kind"] in ("ClusterRoleBinding", "RoleBinding") and m is not binding]
    assert all(s["name"] != WORKER for m in others for s in m["subjects"])


def test_namespaced_the_worker_reads_and_is_granted_only_the_listed_namespace() -> None:
    manifests = render({**_with(), "rbac": {"clusterWide": False, "namespaces": ["customers"]}})
    assert find(manifests, "ClusterRole", WORKER) == []
    assert rules_of(manifests, "Role", WORKER, "customers") == WORKER_RULES
    assert one(manifests, "RoleBinding", WORKER)["metadata"]["namespace"] == "customers"
    assert container_env(one(manifests, "Deployment", WORKER))["KUBESCIM_TOKEN_NAMESPACE"] == "customers"


def test_rbac_create_false_grants_the_worker_nothing() -> None:
    manifests = render({**_with(), "rbac": {"create": False}})
    assert [m for m in manifests if m["kind"].endswith(("Role", "RoleBinding"))] == []
    assert find(manifests, "Deployment", WORKER) != []


def test_an_existing_service_account_must_be_named() -> None:
    with pytest.raises(helm.HelmError, match=r"webhooks\.serviceAccount\.name is required"):
        render(_with(serviceAccount={"create": False}))
    manifests = render(_with(serviceAccount={"create": False, "name": "hooks"}))
    assert find(manifests, "ServiceAccount", WORKER) == []
    assert one(manifests, "Deployment", WORKER)["spec"]["template"]["spec"]["serviceAccountName"] == "hooks"
    assert one(manifests, "ClusterRoleBinding", WORKER)["subjects"][0]["name"] == "hooks"


def test_scheduling_values_reach_the_pod() -> None:
    spread = [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule"}]
    values = _with(
        replicas=3, topologySpreadConstraints=spread, priorityClassName="high", podLabels={"a": "b"}
    )
    deployment = one(render(values), "Deployment", WORKER)
    pod = deployment["spec"]["template"]
    assert deployment["spec"]["replicas"] == 3
    assert pod["spec"]["topologySpreadConstraints"] == spread
    assert pod["spec"]["priorityClassName"] == "high"
    assert pod["metadata"]["labels"]["a"] == "b"


def test_prometheus_scrapes_the_workers_pods_when_monitoring_is_on() -> None:
    manifests = render({**ENABLED, "metrics": {"serviceMonitor": {"enabled": True, "labels": {"r": "p"}}}})
    monitor = one(manifests, "PodMonitor", WORKER)
    deployment = one(manifests, "Deployment", WORKER)
    assert monitor["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
    assert monitor["spec"]["podMetricsEndpoints"] == [
        {"port": "metrics", "path": "/metrics", "interval": "30s"}
    ]
    assert monitor["metadata"]["labels"]["r"] == "p"
    assert find(render(ENABLED), "PodMonitor") == []


def test_the_network_policy_admits_only_metrics_scrapes() -> None:
    policy = one(render({**ENABLED, "networkPolicy": {"enabled": True}}), "NetworkPolicy", WORKER)
    assert policy["spec"]["policyTypes"] == ["Ingress"]  # deliveries (egress) are not limited
    [rule] = policy["spec"]["ingress"]
    assert rule["ports"] == [{"port": "metrics", "protocol": "TCP"}]


def test_notes_say_where_delivery_state_shows_only_when_enabled() -> None:
    assert "status.webhooks" in notes(ENABLED)
    assert "kubescim-webhooks (2 replicas)" in notes(ENABLED)
    assert "webhook" not in notes().lower()
