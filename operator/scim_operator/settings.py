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
    """Defaults for endpoints, where the SCIM server runs, and reconcile timing."""

    model_config = SettingsConfigDict(env_prefix="KUBESCIM_OPERATOR_", extra="ignore")

    default_host: str = _ROUTE.default_host
    default_scheme: str = _ROUTE.default_scheme
    ingress_class: str | None = _ROUTE.ingress_class
    server_service: str = _ROUTE.server_service
    server_namespace: str = _ROUTE.server_namespace
    server_port: int = _ROUTE.server_port
    cluster_domain: str = _ROUTE.cluster_domain
    database_url: str | None = Field(default=None, validation_alias="KUBESCIM_DATABASE_URL")
    resync_seconds: float = Field(default=60.0, gt=0)
    backoff_seconds: float = Field(default=10.0, gt=0)
    max_workers: int = Field(default=32, ge=1)
    liveness: str = "http://0.0.0.0:8081/healthz"
    lease_namespace: str | None = Field(
        default=None,
        validation_alias=AliasChoices("KUBESCIM_OPERATOR_LEASE_NAMESPACE", "POD_NAMESPACE"),
    )
    lease_duration_seconds: float = Field(default=15.0, ge=1)
    lease_renew_deadline_seconds: float = Field(default=10.0, ge=1)
    lease_retry_seconds: float = Field(default=2.0, gt=0)

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

    def route(self) -> RouteConfig:
        return RouteConfig(
            default_host=self.default_host,
            default_scheme=self.default_scheme,
            ingress_class=self.ingress_class,
            server_service=self.server_service,
            server_namespace=self.server_namespace,
            server_port=self.server_port,
            cluster_domain=self.cluster_domain,
        )
