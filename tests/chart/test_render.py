"""What the chart renders for the default values, each storage backend, each RBAC scope and
each optional feature (Helm's own engine, offline)."""

from __future__ import annotations

from collections import Counter

import pytest
import yaml

from scim_operator.desired import RouteConfig
from scim_operator.settings import OperatorSettings
from tests.support.chart import NAMESPACE, REPO_ROOT, container_env, find, notes, one, render, rules_of

SECRET_VERBS = {"get", "list", "watch", "create", "update", "patch", "delete"}


def test_defaults_render_one_release_of_every_component() -> None:
    kinds = Counter(m["kind"] for m in render())
    assert kinds == {
        "CustomResourceDefinition": 2,
        "ServiceAccount": 2,
        "ClusterRole": 3,
        "ClusterRoleBinding": 3,
        "Role": 2,
        "RoleBinding": 2,
        "Deployment": 2,
        "Service": 1,
        "PodDisruptionBudget": 1,
    }


def test_every_namespaced_object_lands_in_the_release_namespace() -> None:
    for m in render({"rbac": {"clusterWide": False}}):
        if m["kind"] not in ("CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"):
            assert m["metadata"]["namespace"] == NAMESPACE, m["kind"]


# -- CRDs -----------------------------------------------------------------------------------


def test_crds_are_the_repositorys_crds_plus_labels_and_the_keep_policy() -> None:
    rendered = {m["metadata"]["name"]: m for m in find(render(), "CustomResourceDefinition")}
    for source in sorted((REPO_ROOT / "crds").glob("*.yaml")):
        crd = yaml.safe_load(source.read_text())
        got = rendered[crd["metadata"]["name"]]
        assert got["metadata"]["annotations"] == {"helm.sh/resource-policy": "keep"}
        assert got["metadata"]["labels"]["app.kubernetes.io/part-of"] == "kubescim"
        assert {k: v for k, v in got.items() if k != "metadata"} == {
            k: v for k, v in crd.items() if k != "metadata"
        }


def test_crds_without_keep_are_deleted_with_the_release() -> None:
    for crd in find(render({"crds": {"keep": False}}), "CustomResourceDefinition"):
        assert "helm.sh/resource-policy" not in (crd["metadata"].get("annotations") or {})


def test_crds_disabled_render_none() -> None:
    assert find(render({"crds": {"enabled": False}}), "CustomResourceDefinition") == []


def test_no_kopf_peering_crds_the_operator_uses_a_lease() -> None:
    names = {m["metadata"]["name"] for m in find(render(), "CustomResourceDefinition")}
    assert names == {"organizations.kubescim.io", "scimdirectories.kubescim.io"}


# -- storage ---------------------------------------------------------------------------------


def test_default_storage_is_configmaps_in_the_release_namespace_for_both_components() -> None:
    manifests = render()
    for name in ("kubescim-server", "kubescim-operator"):
        env = container_env(one(manifests, "Deployment", name))
        assert env["KUBESCIM_DATABASE_URL"] == f"configmaps://{NAMESPACE}"
    rules = rules_of(manifests, "Role", "kubescim-storage", NAMESPACE)
    assert rules == [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": sorted(SECRET_VERBS, key=_verb_order)}
    ]
    binding = one(manifests, "RoleBinding", "kubescim-storage")
    assert {s["name"] for s in binding["subjects"]} == {"kubescim-server", "kubescim-operator"}


def _verb_order(verb: str) -> int:
    return ["get", "list", "watch", "create", "update", "patch", "delete"].index(verb)


def test_secrets_storage_grants_secrets_only_in_the_release_namespace() -> None:
    manifests = render({"storage": {"backend": "secrets"}})
    env = container_env(one(manifests, "Deployment", "kubescim-server"))
    assert env["KUBESCIM_DATABASE_URL"] == f"secrets://{NAMESPACE}"
    storage = one(manifests, "Role", "kubescim-storage")
    assert storage["metadata"]["namespace"] == NAMESPACE
    assert storage["rules"][0]["resources"] == ["secrets"]


def test_postgresql_reads_the_dsn_from_an_existing_secret_and_needs_no_storage_role() -> None:
    manifests = render(
        {"storage": {"backend": "postgresql", "postgresql": {"existingSecret": "db", "secretKey": "url"}}}
    )
    for name in ("kubescim-server", "kubescim-operator"):
        env = container_env(one(manifests, "Deployment", name))
        assert env["KUBESCIM_DATABASE_URL"] == {"secretKeyRef": {"name": "db", "key": "url"}}
        assert env["KUBESCIM_POOL_SIZE"] == "4"
    assert find(manifests, "Role", "kubescim-storage") == []


# -- RBAC ------------------------------------------------------------------------------------


def test_cluster_wide_rbac_binds_cluster_roles_and_the_server_watches_everywhere() -> None:
    manifests = render()
    assert rules_of(manifests, "ClusterRole", "kubescim-server") == [
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "watch"]},
        {
            "apiGroups": ["kubescim.io"],
            "resources": ["organizations", "scimdirectories"],
            "verbs": ["get", "list", "watch"],
        },
        {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]},
    ]
    assert "KUBESCIM_TOKEN_NAMESPACE" not in container_env(one(manifests, "Deployment", "kubescim-server"))
    args = one(manifests, "Deployment", "kubescim-operator")["spec"]["template"]["spec"]["containers"][0][
        "args"
    ]
    assert not any(a.startswith("--namespace") for a in args)


def test_namespaced_rbac_grants_roles_only_in_the_listed_namespace() -> None:
    manifests = render({"rbac": {"clusterWide": False, "namespaces": ["customers"]}})
    assert find(manifests, "ClusterRole") == []
    assert find(manifests, "ClusterRoleBinding") == []
    for name in ("kubescim-operator", "kubescim-server"):
        role = one(manifests, "Role", name)
        assert role["metadata"]["namespace"] == "customers"
    env = container_env(one(manifests, "Deployment", "kubescim-server"))
    assert env["KUBESCIM_TOKEN_NAMESPACE"] == "customers"
    args = one(manifests, "Deployment", "kubescim-operator")["spec"]["template"]["spec"]["containers"][0][
        "args"
    ]
    assert "--namespace=customers" in args


def test_namespaced_rbac_without_a_list_serves_the_release_namespace() -> None:
    manifests = render({"rbac": {"clusterWide": False}})
    assert one(manifests, "Role", "kubescim-server")["metadata"]["namespace"] == NAMESPACE
    assert (
        container_env(one(manifests, "Deployment", "kubescim-server"))["KUBESCIM_TOKEN_NAMESPACE"]
        == NAMESPACE
    )


def test_the_lease_is_granted_by_name_in_the_release_namespace() -> None:
    assert rules_of(render(), "Role", "kubescim-operator-lease", NAMESPACE) == [
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "resourceNames": ["kubescim-operator"],
            "verbs": ["get", "update", "patch"],
        },
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
    ]


def test_no_rule_uses_a_wildcard() -> None:
    for values in ({}, {"rbac": {"clusterWide": False}}, {"storage": {"backend": "secrets"}}):
        for role in render(values):
            for rule in role.get("rules") or []:
                for key in ("apiGroups", "resources", "verbs", "resourceNames"):
                    assert "*" not in rule.get(key, []), (role["metadata"]["name"], rule)


def test_rbac_create_false_renders_no_roles() -> None:
    manifests = render({"rbac": {"create": False}})
    assert [m for m in manifests if m["kind"].endswith(("Role", "RoleBinding"))] == []


# -- Deployments -----------------------------------------------------------------------------


def test_operator_runs_two_replicas_with_its_namespace_probe_and_ingress_defaults() -> None:
    manifests = render(
        {
            "operator": {
                "ingress": {
                    "className": "nginx",
                    "host": "scim.acme.example",
                    "scheme": "https",
                    "tlsSecretName": "acme-tls",
                    "annotations": {"cert-manager.io/cluster-issuer": "le"},
                }
            }
        }
    )
    deployment = one(manifests, "Deployment", "kubescim-operator")
    assert deployment["spec"]["replicas"] == 2
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["kubescim-operator"]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert container["ports"] == [{"name": "health", "containerPort": 8081, "protocol": "TCP"}]
    env = container_env(deployment)
    assert env["POD_NAMESPACE"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    assert env["KUBESCIM_OPERATOR_LIVENESS"] == "http://0.0.0.0:8081/healthz"
    assert env["KUBESCIM_OPERATOR_INGRESS_CLASS"] == "nginx"
    assert env["KUBESCIM_OPERATOR_DEFAULT_HOST"] == "scim.acme.example"
    assert env["KUBESCIM_OPERATOR_DEFAULT_SCHEME"] == "https"
    assert env["KUBESCIM_OPERATOR_DEFAULT_TLS_SECRET"] == "acme-tls"
    assert env["KUBESCIM_OPERATOR_DEFAULT_ANNOTATIONS"] == '{"cert-manager.io/cluster-issuer":"le"}'
    assert env["KUBESCIM_OPERATOR_SERVER_SERVICE"] == "kubescim-server"
    assert env["KUBESCIM_OPERATOR_SERVER_NAMESPACE"] == NAMESPACE
    assert env["KUBESCIM_OPERATOR_SERVER_PORT"] == "8080"


def test_operator_env_is_what_the_operators_settings_read(monkeypatch: pytest.MonkeyPatch) -> None:
    ingress = {"className": "nginx", "annotations": {"a": "b"}, "tlsSecretName": "t", "host": "h.example"}
    env = container_env(one(render({"operator": {"ingress": ingress}}), "Deployment", "kubescim-operator"))
    for name, value in env.items():
        if isinstance(value, str):
            monkeypatch.setenv(name, value)
    monkeypatch.setenv("POD_NAMESPACE", NAMESPACE)  # the downward API's value

    settings = OperatorSettings()

    assert settings.route() == RouteConfig(
        default_host="h.example",
        default_scheme="https",
        ingress_class="nginx",
        server_service="kubescim-server",
        server_namespace=NAMESPACE,
        server_port=8080,
        default_tls_secret="t",
        default_annotations=(("a", "b"),),
    )
    assert settings.lease("me").namespace == NAMESPACE
    assert settings.database_url == f"configmaps://{NAMESPACE}"


def test_server_serves_on_its_service_with_health_and_readiness_probes() -> None:
    manifests = render()
    deployment = one(manifests, "Deployment", "kubescim-server")
    assert deployment["spec"]["replicas"] == 2
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["kubescim", "serve"]
    assert "--bind=0.0.0.0:8080" in container["args"]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    env = container_env(deployment)
    assert env["KUBESCIM_TOKEN_SOURCE"] == "kubernetes"
    assert env["KUBESCIM_STATE_DIR"].startswith("/tmp/")
    service = one(manifests, "Service", "kubescim-server")
    assert service["spec"]["ports"] == [
        {"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"}
    ]
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    pdb = one(manifests, "PodDisruptionBudget", "kubescim-server")
    assert pdb["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]


def test_autoscaling_replaces_the_fixed_replica_count() -> None:
    manifests = render({"server": {"autoscaling": {"enabled": True, "minReplicas": 3, "maxReplicas": 9}}})
    assert "replicas" not in one(manifests, "Deployment", "kubescim-server")["spec"]
    hpa = one(manifests, "HorizontalPodAutoscaler", "kubescim-server")
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 9)
    assert hpa["spec"]["scaleTargetRef"]["name"] == "kubescim-server"


def test_image_tag_defaults_to_the_app_version_and_a_digest_wins() -> None:
    image = one(render(), "Deployment", "kubescim-server")["spec"]["template"]["spec"]["containers"][0][
        "image"
    ]
    assert image == "ghcr.io/kubescim/kubescim:0.1.0"
    digest = "sha256:" + "b" * 64
    manifests = render({"image": {"digest": digest}, "imagePullSecrets": [{"name": "regcred"}]})
    for deployment in find(manifests, "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        assert pod["containers"][0]["image"] == f"ghcr.io/kubescim/kubescim@{digest}"
        assert pod["imagePullSecrets"] == [{"name": "regcred"}]


def test_service_monitor_scrapes_the_servers_metrics() -> None:
    monitor = one(
        render({"metrics": {"serviceMonitor": {"enabled": True, "labels": {"release": "prom"}}}}),
        "ServiceMonitor",
        "kubescim-server",
    )
    assert monitor["metadata"]["labels"]["release"] == "prom"
    assert monitor["spec"]["endpoints"] == [{"port": "http", "path": "/metrics", "interval": "30s"}]


def test_network_policies_admit_only_the_listed_peers_to_the_server_and_nothing_to_the_operator() -> None:
    manifests = render({"networkPolicy": {"enabled": True}})
    server = one(manifests, "NetworkPolicy", "kubescim-server")
    assert server["spec"]["ingress"][0]["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}
    ]
    assert one(manifests, "NetworkPolicy", "kubescim-operator")["spec"]["ingress"] == []


def test_optional_objects_are_absent_by_default() -> None:
    manifests = render()
    for kind in ("HorizontalPodAutoscaler", "ServiceMonitor", "NetworkPolicy"):
        assert find(manifests, kind) == []


def test_notes_tell_the_next_steps() -> None:
    text = notes()
    assert "kubectl apply" in text
    assert "kubescim-server:8080" in text
    assert "-scim-token" in text
    assert "base64 -d" in text
    assert "kubectl get sd" in text
