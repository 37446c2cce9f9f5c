"""One ScimDirectory's worth of test data, shared by the contract and operator unit tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from scim_operator import constants as c
from scim_operator import desired as d
from scim_server.crd import secret as sec

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
UID = "0b6c3c1e-8d53-4f2a-9a53-5b3c0f7d2e11"
ORG = {"organizationRef": {"name": "acme"}}
ROUTE = d.RouteConfig(
    default_host="scim.platform.example",
    default_scheme="https",
    ingress_class="traefik",
    server_service="kubescim-server",
    server_namespace="kubescim",
    server_port=8080,
)


def spec(**fields: Any) -> dict[str, Any]:
    """A directory spec referencing the Organization ``acme``, plus ``fields``."""
    return {**ORG, **fields}


def token_secret(previous: sec.PreviousToken | None = None, *, suspended: bool = False) -> dict[str, Any]:
    """The token Secret the operator writes for ``customers/okta`` holding ``tok-current``."""
    return sec.token_secret_manifest(
        namespace="customers",
        name="okta",
        secret_name="okta-scim-token",
        uid=UID,
        dir_id="customers-okta",
        endpoint="https://scim.acme.example/scim/v2/customers-okta",
        token="tok-current",
        issued_at=NOW,
        suspended=suspended,
        previous=previous,
        announcement=(c.REASON_TOKEN_ISSUED, ""),
    )
