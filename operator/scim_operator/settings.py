"""Operator configuration, read once from the environment (``KUBESCIM_OPERATOR_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from . import constants as c
from .desired import RouteConfig
from .election import LeaseConfig

_ROUTE = RouteConfig()
_SERVICE_ACCOUNT_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"


class OperatorSettings(BaseSettings):
    """Defaults for endpoints, where the SCIM server runs, and reconcile timing. Each field's
    description is its row of the README's operator configuration table
    (``KUBESCIM_OPERATOR_`` + the field name, or its alias); a test keeps the two in step."""

    model_config = SettingsConfigDict(env_prefix="KUBESCIM_OPERATOR_", extra="ignore")

    default_host: str = Field(
        default=_ROUTE.default_host, description="host of endpoints whose spec.endpoint.host is unset"
    )
    default_scheme: str = Field(
        default=_ROUTE.default_scheme, description="scheme of endpoints without tlsSecretName"
    )
    ingress_class: str | None = Field(
        default=_ROUTE.ingress_class,
        description="ingress class when the spec gives none; unset: the cluster's default class",
    )
    server_service: str = Field(
        default=_ROUTE.server_service, description="name of the SCIM server Service Ingresses route to"
    )
    server_namespace: str = Field(
        default=_ROUTE.server_namespace, description="namespace of the SCIM server Service"
    )
    server_port: int = Field(default=_ROUTE.server_port, description="port of the SCIM server Service")
    default_tls_secret: str | None = Field(
        default=None,
        description=(
            "TLS Secret (in each directory's namespace) for endpoints on the default host that name "
            "none; unset: none"
        ),
    )
    default_annotations: dict[str, str] = Field(
        default_factory=dict,
        description="annotations on every directory's Ingress, as JSON (the spec's own win)",
    )
    cluster_domain: str = Field(
        default=_ROUTE.cluster_domain,
        description=(
            "the cluster's DNS domain, in the ExternalName Service that bridges a directory's "
            "namespace to the server's (<service>.<namespace>.svc.<domain>)"
        ),
    )
    database_url: str | None = Field(
        default=None,
        validation_alias="KUBESCIM_DATABASE_URL",
        description=(
            "the SCIM server's storage (the server's own variable), to report user and group counts "
            "and delete a directory's data; unset: no counts, and deleting a directory whose "
            "deletionPolicy is Delete waits (finalizer kept) until it is set"
        ),
    )
    max_users: int | None = Field(
        default=None,
        ge=1,
        description=(
            "a directory's maximum users (spec.maxUsers overrides it per directory); past 80% its "
            "CapacityWarning condition turns True (and a Warning Event is posted); unset: 2000 with "
            "configmaps:// or secrets:// storage, none otherwise"
        ),
    )
    resync_seconds: float = Field(
        default=60.0, gt=0, description="how often each directory is re-checked (drift, rotation, counts)"
    )
    backoff_seconds: float = Field(default=10.0, gt=0, description="retry delay after a failed reconcile")
    max_workers: int = Field(default=32, ge=1, description="parallel reconciles")
    liveness: str = Field(
        default="http://0.0.0.0:8081/healthz",
        description="liveness endpoint (also --liveness; empty disables); a standby answers it too",
    )
    lease_namespace: str | None = Field(
        default=None,
        validation_alias=AliasChoices("KUBESCIM_OPERATOR_LEASE_NAMESPACE", "POD_NAMESPACE"),
        description=(
            "where the Lease kubescim-operator lives (else $POD_NAMESPACE); unset: the service "
            "account's namespace, else default"
        ),
    )
    lease_duration_seconds: float = Field(
        default=15.0, ge=1, description="a standby takes over a Lease unrenewed for this long"
    )
    lease_renew_deadline_seconds: float = Field(
        default=10.0, ge=1, description="a holder that cannot renew within this stops itself"
    )
    lease_retry_seconds: float = Field(
        default=2.0, gt=0, description="how often the holder renews and a standby tries"
    )

    @model_validator(mode="after")
    def _lease_timing(self) -> OperatorSettings:
        if not self.lease_retry_seconds < self.lease_renew_deadline_seconds < self.lease_duration_seconds:
            raise ValueError(
                "lease timing must satisfy retry < renew deadline < duration "
                f"(got {self.lease_retry_seconds}, {self.lease_renew_deadline_seconds}, "
                f"{self.lease_duration_seconds})"
            )
        return self

    def lease(self, identity: str) -> LeaseConfig:
        """Where the Lease lives (setting, else the pod's namespace, else ``default``)."""
        namespace = self.lease_namespace
        if namespace is None:
            try:
                namespace = Path(_SERVICE_ACCOUNT_NAMESPACE).read_text().strip() or None
            except OSError:
                namespace = None
        return LeaseConfig(
            namespace=namespace or "default",
            name=c.LEASE_NAME,
            identity=identity,
            duration=self.lease_duration_seconds,
            renew_deadline=self.lease_renew_deadline_seconds,
            retry=self.lease_retry_seconds,
        )

    def effective_max_users(self) -> int | None:
        """The configured maximum, else ConfigMap storage's documented capacity."""
        if self.max_users is not None:
            return self.max_users
        if (self.database_url or "").startswith(("configmaps://", "secrets://")):
            return c.KUBE_STORAGE_MAX_USERS
        return None

    def route(self) -> RouteConfig:
        return RouteConfig(
            default_host=self.default_host,
            default_scheme=self.default_scheme,
            ingress_class=self.ingress_class,
            server_service=self.server_service,
            server_namespace=self.server_namespace,
            server_port=self.server_port,
            cluster_domain=self.cluster_domain,
            default_tls_secret=self.default_tls_secret,
            default_annotations=tuple(sorted(self.default_annotations.items())),
        )
