"""Operator configuration, read once from the environment (``KUBESCIM_OPERATOR_*``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from .desired import RouteConfig

_ROUTE = RouteConfig()


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
