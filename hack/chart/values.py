"""The chart's values as typed models: the one source of ``values.yaml`` (defaults and a
comment per value) and ``values.schema.json`` (``additionalProperties: false``).

``python -m hack.chart.generate`` writes both; ``tests/chart`` fails when either drifts.
Each field's description becomes the comment above it in ``values.yaml``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Obj = dict[str, Any]
"""A Kubernetes object passed through as is (resources, affinity, a NetworkPolicy peer)."""


class Values(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _resources(cpu: str, memory: str, limit: str) -> Obj:
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": limit}}


class Image(Values):
    repository: str = Field(default="ghcr.io/kubescim/kubescim", description="image with both entry points")
    tag: str = Field(default="", description="image tag; empty: the chart's appVersion (the package version)")
    digest: str = Field(default="", description="sha256:... digest; when set it wins over the tag")
    pullPolicy: Literal["Always", "IfNotPresent", "Never"] = Field(
        default="IfNotPresent", description="imagePullPolicy of every container"
    )


class Crds(Values):
    enabled: bool = Field(
        default=True,
        description="install and upgrade the Organization and ScimDirectory CRDs with the release",
    )
    keep: bool = Field(
        default=True,
        description=(
            "annotate the CRDs helm.sh/resource-policy: keep, so uninstalling the release does not "
            "delete them and with them every Organization and ScimDirectory"
        ),
    )


class Rbac(Values):
    create: bool = Field(default=True, description="create the Roles, ClusterRoles and bindings below")
    clusterWide: bool = Field(
        default=True,
        description=(
            "true: the operator, the server and the webhook worker act on directories in every "
            "namespace (ClusterRoles); false: only in rbac.namespaces (Roles there)"
        ),
    )
    namespaces: list[str] = Field(
        default_factory=list,
        description=(
            "with clusterWide false: the namespaces holding Organizations and ScimDirectories; "
            "empty: the release namespace. The server and the webhook worker read one namespace, "
            "so list at most one"
        ),
    )


class Postgresql(Values):
    existingSecret: str = Field(
        default="",
        description="name of an existing Secret (release namespace) holding the DSN; required for postgresql",
    )
    secretKey: str = Field(default="dsn", description="key of the DSN (postgresql://user:pass@host/db)")
    poolSize: int = Field(default=4, ge=1, le=100, description="connections per server process")


class Storage(Values):
    backend: Literal["configmaps", "secrets", "postgresql"] = Field(
        default="configmaps",
        description=(
            "configmaps: users and groups in ConfigMaps of the release namespace (nothing else to "
            "install; up to about 2,000 users per directory); secrets: the same in Secrets; "
            "postgresql: an external database (migrated by the server at start)"
        ),
    )
    postgresql: Postgresql = Field(default_factory=Postgresql, description="with backend postgresql")


class ServiceAccount(Values):
    create: bool = Field(default=True, description="create the ServiceAccount")
    name: str = Field(default="", description="its name; empty: <fullname>-<component>")
    annotations: dict[str, str] = Field(default_factory=dict, description="annotations on it")


class Pod(Values):
    """What every component's pods share in shape (values differ per component)."""

    serviceAccount: ServiceAccount = Field(default_factory=ServiceAccount, description="its ServiceAccount")
    resources: Obj = Field(default_factory=dict, description="container resources")
    podAnnotations: dict[str, str] = Field(default_factory=dict, description="extra pod annotations")
    podLabels: dict[str, str] = Field(default_factory=dict, description="extra pod labels")
    nodeSelector: dict[str, str] = Field(default_factory=dict, description="pod nodeSelector")
    tolerations: list[Obj] = Field(default_factory=list, description="pod tolerations")
    affinity: Obj = Field(default_factory=dict, description="pod affinity")
    topologySpreadConstraints: list[Obj] = Field(
        default_factory=list, description="pod topologySpreadConstraints"
    )
    priorityClassName: str = Field(default="", description="pod priorityClassName")
    extraEnv: list[Obj] = Field(
        default_factory=list, description="extra container env entries (KUBESCIM_* settings, see README)"
    )


class IngressDefaults(Values):
    host: str = Field(
        default="scim.example.com", description="host of directories whose spec.endpoint.host is unset"
    )
    scheme: Literal["https", "http"] = Field(
        default="https", description="scheme of endpoint URLs without a TLS Secret of their own"
    )
    className: str = Field(
        default="", description="ingress class when the spec gives none; empty: the cluster default"
    )
    tlsSecretName: str = Field(
        default="",
        description="TLS Secret for the default host (in each directory's namespace); empty: none",
    )
    annotations: dict[str, str] = Field(
        default_factory=dict,
        description="annotations on every directory's Ingress (the spec's own win), e.g. an issuer's",
    )


class Operator(Pod):
    replicas: int = Field(
        default=2, ge=1, description="replicas; one reconciles (Lease kubescim-operator), the others stand by"
    )
    resources: Obj = Field(
        default_factory=lambda: _resources("50m", "128Mi", "512Mi"), description="container resources"
    )
    ingress: IngressDefaults = Field(
        default_factory=IngressDefaults, description="defaults for the Ingress of every directory"
    )
    clusterDomain: str = Field(default="cluster.local", description="the cluster's DNS domain")
    resyncSeconds: float = Field(default=60, gt=0, description="how often each directory is re-checked")
    maxWorkers: int = Field(default=32, ge=1, description="parallel reconciles")
    logFormat: Literal["plain", "full", "json"] = Field(default="json", description="operator log format")


class ServerService(Values):
    type: Literal["ClusterIP", "NodePort", "LoadBalancer"] = Field(
        default="ClusterIP", description="Service type"
    )
    port: int = Field(default=8080, ge=1, le=65535, description="Service port (Ingresses route here)")


class Autoscaling(Values):
    enabled: bool = Field(
        default=False, description="a HorizontalPodAutoscaler instead of a fixed replica count"
    )
    minReplicas: int = Field(default=2, ge=1, description="lowest replica count")
    maxReplicas: int = Field(default=6, ge=1, description="highest replica count")
    targetCPUUtilizationPercentage: int = Field(default=75, ge=1, le=100, description="CPU target")


class PodDisruptionBudget(Values):
    enabled: bool = Field(default=True, description="a PodDisruptionBudget for the server")
    maxUnavailable: int = Field(default=1, ge=0, description="pods a voluntary disruption may take at once")


class Server(Pod):
    replicas: int = Field(default=2, ge=1, description="replicas (without autoscaling)")
    resources: Obj = Field(
        default_factory=lambda: _resources("100m", "192Mi", "768Mi"), description="container resources"
    )
    workers: int = Field(default=2, ge=1, description="gunicorn worker processes per pod")
    threads: int = Field(default=4, ge=1, description="threads per worker")
    service: ServerService = Field(default_factory=ServerService, description="the server's Service")
    autoscaling: Autoscaling = Field(default_factory=Autoscaling, description="HorizontalPodAutoscaler")
    podDisruptionBudget: PodDisruptionBudget = Field(
        default_factory=PodDisruptionBudget, description="PodDisruptionBudget"
    )
    publicUrl: str = Field(
        default="",
        description="external base URL for meta.location; empty: from the request (see trustForwarded)",
    )
    trustForwarded: bool = Field(
        default=True,
        description=(
            "honour X-Forwarded-* headers (the Ingress controller sets them); false when untrusted "
            "pods can reach the server directly (see networkPolicy)"
        ),
    )
    tokenWatchSeconds: int = Field(
        default=30, ge=3, le=3600, description="token watch period; a revoked token is refused within 2x this"
    )
    tokenMaxStalenessSeconds: int | None = Field(
        default=None,
        description=(
            "answer 503 once the API server was unreachable this long; null: keep serving cached tokens"
        ),
    )
    logFormat: Literal["text", "json"] = Field(default="json", description="server log format")
    accessLog: bool = Field(default=False, description="one log line per SCIM request")


class Webhooks(Pod):
    enabled: bool = Field(
        default=False,
        description=(
            "run the webhook worker (kubescim webhooks run), delivering the signed webhooks "
            "Organizations declare in spec.webhooks; needs storage.backend postgresql"
        ),
    )
    replicas: int = Field(
        default=2,
        ge=1,
        description=(
            "replicas; they share the (webhook, directory) streams through claims in PostgreSQL, "
            "each delivered by one replica at a time, in order"
        ),
    )
    resources: Obj = Field(
        default_factory=lambda: _resources("50m", "128Mi", "512Mi"), description="container resources"
    )
    concurrency: int = Field(
        default=4, ge=1, le=256, description="streams one replica delivers at once (each in order)"
    )
    timeoutSeconds: float = Field(
        default=10, gt=0, le=120, description="a delivery not answered within this fails (and is retried)"
    )
    retryBaseSeconds: float = Field(
        default=1, gt=0, description="first retry delay; it doubles per attempt, with full jitter"
    )
    retryMaxSeconds: float = Field(default=600, gt=0, description="longest delay between two attempts")
    deadLetterAfterSeconds: float = Field(
        default=259200,
        gt=0,
        description=(
            "an event still failing this long after it occurred is dead-lettered and its stream "
            "moves on (kubescim webhooks redeliver replays it); default 3 days"
        ),
    )
    leaseSeconds: float = Field(
        default=60, gt=0, description="a stream claim's lease: a killed replica's streams resume after this"
    )
    eventRetentionDays: int = Field(
        default=30, ge=1, le=3650, description="change events older than this are pruned (hourly)"
    )
    metricsPort: int = Field(
        default=9090, ge=1024, le=65535, description="port of the worker's Prometheus /metrics"
    )
    logFormat: Literal["text", "json"] = Field(default="json", description="worker log format")


class ServiceMonitor(Values):
    enabled: bool = Field(
        default=False,
        description=(
            "a ServiceMonitor (Prometheus Operator) for the server's /metrics, and a PodMonitor "
            "for the webhook worker's when webhooks.enabled"
        ),
    )
    interval: str = Field(default="30s", description="scrape interval")
    labels: dict[str, str] = Field(
        default_factory=dict, description="extra labels, e.g. for the Prometheus selector"
    )


class Metrics(Values):
    serviceMonitor: ServiceMonitor = Field(default_factory=ServiceMonitor, description="ServiceMonitor")


class NetworkPolicy(Values):
    enabled: bool = Field(
        default=False,
        description=(
            "NetworkPolicies: the server accepts only from the peers below, the webhook worker "
            "only from them on its metrics port, the operator nothing"
        ),
    )
    serverFrom: list[Obj] = Field(
        default_factory=lambda: [
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}
        ],
        description="NetworkPolicyPeers allowed to the server port (the Ingress controller, Prometheus)",
    )


class PodSecurity(Values):
    runAsUser: int = Field(default=10001, ge=1, description="uid of every container (non-root)")
    runAsGroup: int = Field(default=10001, ge=1, description="gid of every container")


class ChartValues(Values):
    """Values of the kubescim chart."""

    global_: Obj = Field(
        default_factory=dict, alias="global", description="values shared with a parent chart (unused)"
    )
    nameOverride: str = Field(default="", description="replaces the chart name in object names")
    fullnameOverride: str = Field(default="", description="replaces <release>-<chart> in object names")
    image: Image = Field(default_factory=Image, description="the kubescim image (server and operator)")
    imagePullSecrets: list[Obj] = Field(
        default_factory=list, description="pull secrets, e.g. [{name: regcred}]"
    )
    crds: Crds = Field(default_factory=Crds, description="the CustomResourceDefinitions")
    rbac: Rbac = Field(
        default_factory=Rbac, description="permissions of the operator, the server and the webhook worker"
    )
    storage: Storage = Field(default_factory=Storage, description="where users and groups live")
    operator: Operator = Field(default_factory=Operator, description="the operator Deployment")
    server: Server = Field(default_factory=Server, description="the SCIM server Deployment")
    webhooks: Webhooks = Field(default_factory=Webhooks, description="the webhook worker Deployment")
    metrics: Metrics = Field(default_factory=Metrics, description="Prometheus scraping")
    networkPolicy: NetworkPolicy = Field(default_factory=NetworkPolicy, description="NetworkPolicies")
    podSecurity: PodSecurity = Field(
        default_factory=PodSecurity,
        description="ids of the restricted Pod Security profile every pod runs with",
    )
