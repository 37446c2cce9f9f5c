"""The /Users endpoints over HTTP, on every backend."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from scim2_models import Context, EnterpriseUser, ListResponse, User

from tests.api.conftest import ScimClient

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def new_user(scim: ScimClient, user_name: str = "bjensen", /, **extra: Any) -> dict[str, Any]:
    response = scim.post("/Users", json={"schemas": [USER], "userName": user_name, **extra})
    assert response.status_code == 201, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def patch(scim: ScimClient, path: str, *ops: dict[str, Any], **kw: Any) -> Any:
    return scim.patch(path, json={"schemas": [PATCH], "Operations": list(ops)}, **kw)


def test_create_returns_201_location_etag_and_a_valid_scim_user(scim: ScimClient) -> None:
    response = scim.post(
        "/Users",
        json={
            "schemas": [USER, ENTERPRISE],
            "userName": "bjensen",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "bjensen@example.com", "type": "work", "primary": True}],
            ENTERPRISE: {"employeeNumber": "701984", "manager": {"value": "boss-id"}},
            "password": "t1meMa$heen",
        },
    )
    assert response.status_code == 201
    assert response.content_type == "application/scim+json"
    body = response.get_json()
    assert response.headers["Location"] == body["meta"]["location"]
    assert body["meta"]["location"].endswith(f"/scim/v2/{scim.directory}/Users/{body['id']}")
    assert response.headers["ETag"] == body["meta"]["version"]
    assert "password" not in body
    parsed = User[EnterpriseUser].model_validate(body, scim_ctx=Context.RESOURCE_CREATION_RESPONSE)
    assert parsed[EnterpriseUser].employee_number == "701984"


def test_get_by_id_and_unknown_id(scim: ScimClient) -> None:
    created = new_user(scim)
    got = scim.get(f"/Users/{created['id']}")
    assert got.status_code == 200
    assert got.get_json() == created
    missing = scim.get("/Users/nope")
    assert missing.status_code == 404
    assert missing.get_json()["status"] == "404"


def test_duplicate_user_name_is_409_uniqueness(scim: ScimClient) -> None:
    new_user(scim, "Alice")
    response = scim.post("/Users", json={"schemas": [USER], "userName": "alice"})
    assert response.status_code == 409
    assert response.get_json()["scimType"] == "uniqueness"


def test_missing_user_name_is_400_invalid_value(scim: ScimClient) -> None:
    response = scim.post("/Users", json={"schemas": [USER], "displayName": "x"})
    assert response.status_code == 400
    assert response.get_json()["scimType"] == "invalidValue"


def test_filter_user_name_eq_and_list_response_shape(scim: ScimClient) -> None:
    created = new_user(scim, "Carol")
    new_user(scim, "dave")
    response = scim.get("/Users?filter=" + quote('userName eq "carol"'))
    assert response.status_code == 200
    body = response.get_json()
    listing = ListResponse[User[EnterpriseUser]].model_validate(
        body, scim_ctx=Context.RESOURCE_QUERY_RESPONSE
    )
    assert listing.total_results == 1
    assert body["Resources"][0]["id"] == created["id"]
    assert (body["startIndex"], body["itemsPerPage"]) == (1, 1)


def test_filter_with_no_match_is_an_empty_list(scim: ScimClient) -> None:
    body = scim.get("/Users?filter=" + quote('userName eq "ghost"')).get_json()
    assert (body["totalResults"], body["Resources"]) == (0, [])


def test_pagination_and_max_page_size(scim: ScimClient) -> None:
    for i in range(5):
        new_user(scim, f"user{i}")
    page = scim.get("/Users?startIndex=2&count=2").get_json()
    assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (5, 2, 2)
    assert [r["userName"] for r in page["Resources"]] == ["user1", "user2"]
    huge = scim.get("/Users?count=100000").get_json()
    assert huge["itemsPerPage"] == 5


def test_attributes_and_excluded_attributes(scim: ScimClient) -> None:
    created = new_user(scim, "erin", title="CTO", name={"givenName": "Erin", "familyName": "E"})
    only = scim.get(f"/Users/{created['id']}?attributes=userName,name.givenName").get_json()
    assert set(only) == {"schemas", "id", "userName", "name"}
    assert only["name"] == {"givenName": "Erin"}
    without = scim.get(f"/Users/{created['id']}?excludedAttributes=title,name").get_json()
    assert "title" not in without
    assert "name" not in without
    assert without["userName"] == "erin"


def test_search_endpoint(scim: ScimClient) -> None:
    new_user(scim, "frank", title="Ops")
    response = scim.post(
        "/Users/.search",
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": 'title eq "ops"',
            "attributes": ["userName"],
        },
    )
    assert response.status_code == 200
    assert response.get_json()["Resources"][0]["userName"] == "frank"
    assert "title" not in response.get_json()["Resources"][0]


def test_sort_by_and_sort_order(scim: ScimClient) -> None:
    for name in ("b", "c", "a"):
        new_user(scim, name)
    body = scim.get("/Users?sortBy=userName&sortOrder=descending").get_json()
    assert [r["userName"] for r in body["Resources"]] == ["c", "b", "a"]


def test_put_replaces_and_honours_if_match(scim: ScimClient) -> None:
    created = new_user(scim, "gina", title="old")
    response = scim.put(
        f"/Users/{created['id']}",
        json={"schemas": [USER], "userName": "gina", "displayName": "Gina"},
        headers={"If-Match": created["meta"]["version"]},
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["displayName"] == "Gina"
    assert "title" not in body
    stale = scim.put(
        f"/Users/{created['id']}",
        json={"schemas": [USER], "userName": "gina"},
        headers={"If-Match": created["meta"]["version"]},
    )
    assert stale.status_code == 412


def test_if_none_match_gives_304(scim: ScimClient) -> None:
    created = new_user(scim)
    response = scim.get(f"/Users/{created['id']}", headers={"If-None-Match": created["meta"]["version"]})
    assert response.status_code == 304
    assert response.get_data() == b""


def test_patch_answers_200_with_the_user(scim: ScimClient) -> None:
    created = new_user(scim, emails=[{"value": "a@x.com", "type": "work", "primary": True}])
    response = patch(
        scim,
        f"/Users/{created['id']}",
        {"op": "Replace", "path": "active", "value": "False"},
        {"op": "add", "value": {"name.givenName": "Barbara", f"{ENTERPRISE}:department": "Tour"}},
        {"op": "replace", "path": 'emails[type eq "home"].value', "value": "home@x.com"},
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["active"] is False
    assert body["name"]["givenName"] == "Barbara"
    assert body[ENTERPRISE]["department"] == "Tour"
    assert {"value": "home@x.com", "type": "home"} in body["emails"]
    assert body["meta"]["version"] != created["meta"]["version"]


def test_deactivated_user_stays_readable_and_delete_removes_it(scim: ScimClient) -> None:
    created = new_user(scim)
    patch(scim, f"/Users/{created['id']}", {"op": "replace", "path": "active", "value": False})
    assert scim.get(f"/Users/{created['id']}").get_json()["active"] is False
    assert scim.delete(f"/Users/{created['id']}").status_code == 204
    assert scim.get(f"/Users/{created['id']}").status_code == 404
    assert scim.delete(f"/Users/{created['id']}").status_code == 404


def test_failed_patch_leaves_the_user_unchanged(scim: ScimClient) -> None:
    created = new_user(scim, title="keep")
    response = patch(
        scim,
        f"/Users/{created['id']}",
        {"op": "replace", "path": "title", "value": "changed"},
        {"op": "replace", "path": "active", "value": "maybe"},
    )
    assert response.status_code == 400
    assert response.get_json()["scimType"] == "invalidValue"
    assert scim.get(f"/Users/{created['id']}").get_json()["title"] == "keep"


def test_location_honours_forwarded_headers_only_when_trusted(scim: ScimClient) -> None:
    created = new_user(scim)
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "idp.example.com"}
    body = scim.get(f"/Users/{created['id']}", headers=headers).get_json()
    assert body["meta"]["location"].startswith("http://localhost/")


def test_location_follows_forwarded_headers_when_trusted(tmp_path: Any, storage: Any, directory: str) -> None:
    from scim_server.app import create_app
    from scim_server.config import Settings
    from scim_server.tokens.local import LocalTokenRegistry

    tokens = LocalTokenRegistry(tmp_path)
    app = create_app(Settings(state_dir=tmp_path, trust_forwarded=True), storage=storage, tokens=tokens)
    headers = {
        "Authorization": f"Bearer {tokens.issue(directory)}",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "scim.example.com",
    }
    response = app.test_client().post(
        f"/scim/v2/{directory}/Users", json={"schemas": [USER], "userName": "fwd"}, headers=headers
    )
    assert response.status_code == 201
    assert response.headers["Location"].startswith(f"https://scim.example.com/scim/v2/{directory}/Users/")
