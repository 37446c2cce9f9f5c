"""Errors, auth, discovery, bulk and operations endpoints."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from flask.testing import FlaskClient
from scim2_models import Context, Error, ResourceType, Schema, ServiceProviderConfig

from scim_server.tokens.local import LocalTokenRegistry
from tests.api.conftest import ScimClient
from tests.api.test_users import USER, new_user


def test_missing_token_is_401_with_www_authenticate(client: FlaskClient, scim: ScimClient) -> None:
    response = client.get(f"{scim.base}/Users")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    Error.model_validate(response.get_json())


def test_token_is_scoped_to_its_directory(
    client: FlaskClient, scim: ScimClient, tokens: LocalTokenRegistry
) -> None:
    other = tokens.issue(f"{scim.directory}-other")
    response = client.get(f"{scim.base}/Users", headers={"Authorization": f"Bearer {other}"})
    assert response.status_code == 401
    assert other not in response.get_data(as_text=True)


def test_malformed_json_is_400_invalid_syntax(scim: ScimClient) -> None:
    response = scim.post("/Users", data="{not json", content_type="application/scim+json")
    assert response.status_code == 400
    assert response.get_json()["scimType"] == "invalidSyntax"


def test_non_json_content_type_is_415(scim: ScimClient) -> None:
    response = scim.post("/Users", data="userName=x", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415


def test_plain_application_json_is_accepted(scim: ScimClient) -> None:
    response = scim.post("/Users", json={"schemas": [USER], "userName": "x"}, content_type="application/json")
    assert response.status_code == 201


def test_oversized_body_is_413(scim: ScimClient) -> None:
    big = {"schemas": [USER], "userName": "x", "title": "y" * (1024 * 1024 + 10)}
    response = scim.post("/Users", json=big)
    assert response.status_code == 413
    assert response.get_json()["status"] == "413"


@pytest.mark.parametrize(
    "text", ["userName eq", 'userName xx "a"', 'nosuch eq "a"', "((", 'emails[type eq "a"']
)
def test_bad_filter_is_400_invalid_filter(scim: ScimClient, text: str) -> None:
    response = scim.get("/Users?filter=" + quote(text))
    assert response.status_code == 400
    assert response.get_json()["scimType"] == "invalidFilter"


def test_unknown_endpoint_and_method_get_scim_errors(scim: ScimClient) -> None:
    missing = scim.get("/Widgets")
    assert missing.status_code == 404
    assert missing.get_json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    not_allowed = scim.delete("/Users")
    assert not_allowed.status_code == 405


def test_unexpected_failure_is_500_with_correlation_id_and_nothing_internal(
    scim: ScimClient, app: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scim_server.api import handlers

    def boom(*_a: object, **_k: object) -> None:
        raise RuntimeError("secret internals /etc/passwd")

    monkeypatch.setattr(handlers, "list_resources", boom)
    response = scim.get("/Users")
    assert response.status_code == 500
    body = response.get_json()
    assert "correlation id" in body["detail"]
    assert "secret" not in response.get_data(as_text=True)
    assert response.headers["X-Request-Id"] in body["detail"]


def test_double_slash_from_a_pasted_base_url_routes(scim: ScimClient) -> None:
    response = scim.get("//Users")
    assert response.status_code == 200


def test_service_provider_config_resource_types_and_schemas(scim: ScimClient) -> None:
    spc = scim.get("/ServiceProviderConfig").get_json()
    config = ServiceProviderConfig.model_validate(spc, scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    assert config.patch
    assert config.patch.supported
    assert config.bulk
    assert config.bulk.supported
    types = scim.get("/ResourceTypes").get_json()
    assert {t["name"] for t in types["Resources"]} == {"User", "Group"}
    ResourceType.model_validate(scim.get("/ResourceTypes/User").get_json())
    schemas = scim.get("/Schemas").get_json()["Resources"]
    ids = {s["id"] for s in schemas}
    assert "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User" in ids
    user_schema = scim.get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:User").get_json()
    parsed = Schema.model_validate(user_schema)
    user_name = next(a for a in parsed.attributes or [] if a.name == "userName")
    assert user_name.uniqueness is not None
    assert user_name.uniqueness.value == "server"
    assert scim.get("/Schemas/urn:nope").status_code == 404


def test_bulk_with_bulk_id_references(scim: ScimClient) -> None:
    response = scim.post(
        "/Bulk",
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "Operations": [
                {
                    "method": "POST",
                    "path": "/Users",
                    "bulkId": "u1",
                    "data": {"schemas": [USER], "userName": "bulk1"},
                },
                {
                    "method": "POST",
                    "path": "/Groups",
                    "bulkId": "g1",
                    "data": {"displayName": "BulkGroup", "members": [{"value": "bulkId:u1", "type": "User"}]},
                },
                {"method": "POST", "path": "/Users", "data": {"schemas": [USER], "userName": "BULK1"}},
                {"method": "DELETE", "path": "/Users/nope"},
            ],
        },
    )
    assert response.status_code == 200
    ops = response.get_json()["Operations"]
    assert [o["status"] for o in ops] == ["201", "201", "409", "404"]
    group = scim.get(ops[1]["location"].split(scim.base)[1]).get_json()
    user_id = ops[0]["location"].rsplit("/", 1)[1]
    assert [m["value"] for m in group["members"]] == [user_id]


def test_bulk_fail_on_errors_stops_processing(scim: ScimClient) -> None:
    response = scim.post(
        "/Bulk",
        json={
            "failOnErrors": 1,
            "Operations": [
                {"method": "DELETE", "path": "/Users/nope"},
                {"method": "POST", "path": "/Users", "data": {"schemas": [USER], "userName": "never"}},
            ],
        },
    )
    assert len(response.get_json()["Operations"]) == 1
    assert scim.get('/Users?filter=userName%20eq%20"never"').get_json()["totalResults"] == 0


def test_health_readiness_and_metrics(client: FlaskClient, scim: ScimClient) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    new_user(scim)
    text = client.get("/metrics").get_data(as_text=True)
    line = f'kubescim_http_requests_total{{directory="{scim.directory}",method="POST",status="201"}}'
    assert line in text


def test_request_id_is_echoed(scim: ScimClient) -> None:
    response = scim.get("/Users", headers={"X-Request-Id": "abc123"})
    assert response.headers["X-Request-Id"] == "abc123"


def test_search_from_the_root_covers_users_then_groups(scim: ScimClient) -> None:
    new_user(scim, "root-a")
    new_user(scim, "root-b")
    scim.post(
        "/Groups", json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "G"}
    )
    body = scim.post(
        "/.search", json={"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "count": 2}
    ).get_json()
    assert body["totalResults"] == 3
    assert [r["meta"]["resourceType"] for r in body["Resources"]] == ["User", "User"]
    rest = scim.get("/?startIndex=3").get_json()
    assert [r["displayName"] for r in rest["Resources"]] == ["G"]
    only_users = scim.get("/?filter=" + quote('userName sw "root"')).get_json()
    assert only_users["totalResults"] == 2
    assert scim.get("/?filter=" + quote('nosuch eq "x"')).status_code == 400
