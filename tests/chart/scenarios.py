"""Values that, together, turn on every branch of the chart: each storage backend, each RBAC
scope, every optional feature. Tests that must hold for any install run over all of them."""

from __future__ import annotations

from typing import Any

SCENARIOS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "storage-secrets": {"storage": {"backend": "secrets"}},
    "storage-postgresql": {
        "storage": {
            "backend": "postgresql",
            "postgresql": {"existingSecret": "kubescim-db", "secretKey": "url"},
        }
    },
    "namespaced-rbac": {"rbac": {"clusterWide": False, "namespaces": ["customers"]}},
    "namespaced-rbac-release-namespace": {"rbac": {"clusterWide": False}},
    "no-crds": {"crds": {"enabled": False}},
    "crds-not-kept": {"crds": {"keep": False}},
    "everything-optional": {
        "server": {
            "autoscaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 5},
            "publicUrl": "https://scim.acme.example",
            "tokenMaxStalenessSeconds": 300,
            "podAnnotations": {"prometheus.io/scrape": "true"},
            "nodeSelector": {"kubernetes.io/os": "linux"},
            "tolerations": [
                {"key": "dedicated", "operator": "Equal", "value": "iam", "effect": "NoSchedule"}
            ],
            "extraEnv": [{"name": "KUBESCIM_MAX_PAGE_SIZE", "value": "500"}],
            "priorityClassName": "system-cluster-critical",
        },
        "operator": {
            "ingress": {
                "className": "nginx",
                "host": "scim.acme.example",
                "tlsSecretName": "scim-acme-tls",
                "annotations": {"cert-manager.io/cluster-issuer": "letsencrypt"},
            },
            "serviceAccount": {"annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/x"}},
        },
        "metrics": {"serviceMonitor": {"enabled": True, "labels": {"release": "prometheus"}}},
        "networkPolicy": {"enabled": True},
        "image": {"digest": "sha256:" + "a" * 64},
        "imagePullSecrets": [{"name": "regcred"}],
    },
    "webhooks": {
        "storage": {"backend": "postgresql", "postgresql": {"existingSecret": "kubescim-db"}},
        "webhooks": {"enabled": True},
    },
    "webhooks-namespaced-everything-optional": {
        "storage": {"backend": "postgresql", "postgresql": {"existingSecret": "kubescim-db"}},
        "rbac": {"clusterWide": False, "namespaces": ["customers"]},
        "webhooks": {
            "enabled": True,
            "replicas": 3,
            "concurrency": 8,
            "nodeSelector": {"kubernetes.io/os": "linux"},
            "tolerations": [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}],
            "topologySpreadConstraints": [
                {
                    "maxSkew": 1,
                    "topologyKey": "topology.kubernetes.io/zone",
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": {"matchLabels": {"app.kubernetes.io/component": "webhooks"}},
                }
            ],
            "extraEnv": [{"name": "KUBESCIM_LOG_LEVEL", "value": "DEBUG"}],
            "serviceAccount": {"annotations": {"iam.gke.io/gcp-service-account": "x@y.iam"}},
        },
        "metrics": {"serviceMonitor": {"enabled": True}},
        "networkPolicy": {"enabled": True},
    },
    "no-pdb-no-rbac": {"server": {"podDisruptionBudget": {"enabled": False}}, "rbac": {"create": False}},
}
