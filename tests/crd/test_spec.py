"""The spec grammar both sides share: directory ids, endpoints, the grace period."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from scim_operator import desired as d
from scim_server.crd import spec as spec_fns
from tests.support.directories import ROUTE, spec


def test_grace_period_defaults_to_24h_and_follows_the_token_policy() -> None:
    assert spec_fns.grace_period(spec()) == timedelta(hours=24)
    assert spec_fns.grace_period(spec(tokenPolicy={})) == timedelta(hours=24)
    assert spec_fns.grace_period(spec(tokenPolicy={"gracePeriod": "90m"})) == timedelta(minutes=90)


# -- directory_id ----------------------------------------------------------------------------


def test_directory_id_is_namespace_dash_name() -> None:
    assert spec_fns.directory_id("customers", "acme-okta", spec()) == "customers-acme-okta"


def test_directory_id_is_the_last_segment_of_a_custom_path() -> None:
    assert spec_fns.directory_id("customers", "okta", spec(endpoint={"path": "/scim/v2/acme"})) == "acme"
    assert spec_fns.directory_id("customers", "okta", spec(endpoint={"path": "/scim/v2/acme/"})) == "acme"


def test_directory_id_ignores_an_endpoint_without_path() -> None:
    assert spec_fns.directory_id("ns", "d", spec(endpoint={"host": "scim.acme.example"})) == "ns-d"


def test_directory_id_makes_any_object_name_a_dns_label() -> None:
    # ScimDirectory names are DNS subdomains: dots are allowed there, not in a path label.
    assert spec_fns.directory_id("ns", "acme.okta", spec()) == "ns-acme-okta"


def test_directory_id_at_63_characters_is_kept_whole() -> None:
    namespace, name = "n" * 12, "d" * 50
    assert spec_fns.directory_id(namespace, name, spec()) == f"{namespace}-{name}"


def test_long_directory_ids_are_shortened_to_a_dns_label_with_a_hash() -> None:
    namespace, name = "customer-namespace-with-a-long-name", "x" * 50

    dir_id = spec_fns.directory_id(namespace, name, spec())

    digest = hashlib.sha256(f"{namespace}/{name}".encode()).hexdigest()[:8]
    assert len(dir_id) <= 63
    assert dir_id.endswith(f"-{digest}")
    assert dir_id.startswith(f"{namespace}-xxx")
    assert spec_fns.directory_id(namespace, name, spec()) == dir_id  # stable


def test_long_directory_ids_sharing_a_prefix_stay_unique() -> None:
    namespace = "customer-namespace-with-a-long-name"
    names = [f"{'x' * 45}-{n:04d}" for n in range(200)]

    ids = {spec_fns.directory_id(namespace, name, spec()) for name in names}

    assert len(ids) == len(names)
    assert all(len(i) <= 63 and not i.endswith("-") for i in ids)


def test_hash_shortening_never_leaves_a_double_dash_before_the_hash() -> None:
    # Truncation at 54 lands right after a dash here; rstrip keeps the id a clean label.
    namespace = "a" * 53
    dir_id = spec_fns.directory_id(namespace, "b" * 20, spec())
    assert "--" not in dir_id
    assert len(dir_id) == 53 + 1 + 8


# -- endpoint_url ----------------------------------------------------------------------------


def test_endpoint_url_uses_the_default_host_and_scheme() -> None:
    assert d.endpoint_url(spec(), "ns-d", ROUTE) == "https://scim.platform.example/scim/v2/ns-d"
    plain = d.RouteConfig(default_host="scim.local", default_scheme="http")
    assert d.endpoint_url(spec(), "ns-d", plain) == "http://scim.local/scim/v2/ns-d"


def test_endpoint_url_uses_the_spec_host() -> None:
    url = d.endpoint_url(spec(endpoint={"host": "scim.acme.example"}), "ns-d", ROUTE)
    assert url == "https://scim.acme.example/scim/v2/ns-d"


def test_a_tls_secret_makes_the_endpoint_https_whatever_the_default() -> None:
    plain = d.RouteConfig(default_host="scim.local", default_scheme="http")
    endpoint = {"host": "scim.acme.example", "tlsSecretName": "scim-acme-tls"}
    assert d.endpoint_url(spec(endpoint=endpoint), "ns-d", plain) == "https://scim.acme.example/scim/v2/ns-d"


def test_endpoint_url_of_a_custom_path_ends_in_that_path() -> None:
    custom = spec(endpoint={"path": "/scim/v2/acme"})
    dir_id = spec_fns.directory_id("ns", "d", custom)
    assert d.endpoint_url(custom, dir_id, ROUTE) == "https://scim.platform.example/scim/v2/acme"


def test_server_and_operator_compute_the_same_endpoint() -> None:
    custom = spec(endpoint={"host": "scim.acme.example"})
    assert d.endpoint_url(custom, "x", ROUTE) == spec_fns.endpoint_url(
        custom, "x", ROUTE.default_host, ROUTE.default_scheme
    )
