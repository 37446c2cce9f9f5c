"""The directory API (/api/v1): shapes, keyset pages, events, and organization isolation."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from scim_server.config import Settings
from scim_server.tokens.local import LocalTokenRegistry
from scim_server.tokens.organizations import LocalOrganizationRegistry
from tests.api.conftest import ScimClient


@pytest.fixture
def organizations(settings: Settings) -> LocalOrganizationRegistry:
    return LocalOrganizationRegistry(settings.state_dir)


class Api:
    def __init__(self, client: FlaskClient, key: str) -> None:
        self.client, self.key = client, key

    def get(self, path: str, status: int = 200, **params: Any) -> Any:
        response = self.client.get(
            f"/api/v1{path}", query_string=params, headers={"Authorization": f"Bearer {self.key}"}
        )
        assert response.status_code == status, response.get_data(as_text=True)
        return response.get_json()


@pytest.fixture
def acme(client: FlaskClient, organizations: LocalOrganizationRegistry, directory: str) -> Api:
    return Api(client, organizations.create("acme", [directory]))


def _user(scim: ScimClient, user_name: str, /, **extra: Any) -> dict[str, Any]:
    body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user_name, **extra}
    response = scim.post("/Users", json=body)
    assert response.status_code == 201, response.get_data(as_text=True)
    return dict(response.get_json())


def _group(scim: ScimClient, name: str, members: list[str]) -> dict[str, Any]:
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": name,
        "members": [{"value": m} for m in members],
    }
    response = scim.post("/Groups", json=body)
    assert response.status_code == 201, response.get_data(as_text=True)
    return dict(response.get_json())


def test_a_user_reads_as_a_directory_user(scim: ScimClient, acme: Api, directory: str) -> None:
    created = _user(
        scim,
        "ada@example.com",
        externalId="00u1",
        name={"givenName": "Ada", "familyName": "Lovelace"},
        emails=[{"value": "ada@home.example", "type": "home"}, {"value": "ada@example.com", "primary": True}],
    )
    group = _group(scim, "Engineering", [created["id"]])

    user = acme.get(f"/directory_users/{created['id']}")
    assert {k: user[k] for k in ("object", "id", "idp_id", "directory_id", "organization_id")} == {
        "object": "directory_user",
        "id": created["id"],
        "idp_id": "00u1",
        "directory_id": directory,
        "organization_id": "acme",
    }
    assert (user["first_name"], user["last_name"], user["email"]) == ("Ada", "Lovelace", "ada@example.com")
    assert [e["value"] for e in user["emails"]] == ["ada@example.com", "ada@home.example"]
    assert (user["username"], user["state"]) == ("ada@example.com", "active")
    assert [(g["id"], g["name"]) for g in user["groups"]] == [(group["id"], "Engineering")]
    assert user["raw_attributes"]["externalId"] == "00u1"
    assert user["created_at"] == created["meta"]["created"]

    found = acme.get(f"/directory_groups/{group['id']}")
    assert (found["object"], found["name"], found["directory_id"]) == (
        "directory_group",
        "Engineering",
        directory,
    )


def test_users_page_by_cursor_in_both_orders(scim: ScimClient, acme: Api, directory: str) -> None:
    ids = [_user(scim, f"u{i}")["id"] for i in range(5)]

    first = acme.get("/directory_users", directory=directory, limit=2, order="asc")
    assert [u["id"] for u in first["data"]] == ids[:2]
    assert first["list_metadata"] == {"before": None, "after": ids[1]}
    second = acme.get("/directory_users", directory=directory, limit=2, order="asc", after=ids[1])
    assert [u["id"] for u in second["data"]] == ids[2:4]
    last = acme.get("/directory_users", directory=directory, limit=2, order="asc", after=ids[3])
    assert [u["id"] for u in last["data"]] == ids[4:]
    assert last["list_metadata"]["after"] is None
    back = acme.get("/directory_users", directory=directory, limit=2, order="asc", before=ids[4])
    assert [u["id"] for u in back["data"]] == ids[2:4]
    assert back["list_metadata"] == {"before": ids[2], "after": ids[3]}

    newest = acme.get("/directory_users", directory=directory, limit=3)
    assert [u["id"] for u in newest["data"]] == ids[::-1][:3]


def test_a_groups_users_and_a_users_groups(scim: ScimClient, acme: Api) -> None:
    users = [_user(scim, f"u{i}")["id"] for i in range(3)]
    eng = _group(scim, "eng", users[:2])
    ops = _group(scim, "ops", users[1:])

    members = acme.get("/directory_users", group=eng["id"], order="asc", limit=100)
    assert [u["id"] for u in members["data"]] == sorted(users[:2])
    page = acme.get("/directory_users", group=ops["id"], order="asc", limit=1)
    rest = acme.get("/directory_users", group=ops["id"], order="asc", limit=1, after=page["data"][0]["id"])
    assert [u["id"] for u in page["data"] + rest["data"]] == sorted(users[1:])

    groups = acme.get("/directory_groups", user=users[1], order="asc")
    assert [g["id"] for g in groups["data"]] == sorted([eng["id"], ops["id"]])


def test_the_directory_reports_counts_and_last_sync(scim: ScimClient, acme: Api, directory: str) -> None:
    _user(scim, "ada")
    listed = acme.get("/directories")
    assert [d["id"] for d in listed["data"]] == [directory]
    one = acme.get(f"/directories/{directory}")
    assert (one["object"], one["state"], one["user_count"], one["group_count"]) == (
        "directory",
        "active",
        1,
        0,
    )
    assert one["last_sync_at"] is not None


def test_events_carry_normalized_objects_and_previous_attributes(
    scim: ScimClient, acme: Api, directory: str
) -> None:
    user = _user(scim, "ada", name={"givenName": "Ada"}, title="Engineer")
    group = _group(scim, "eng", [user["id"]])
    scim.patch(
        f"/Users/{user['id']}",
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "name.givenName", "value": "Augusta"}],
        },
    )
    scim.patch(
        f"/Groups/{group['id']}",
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "displayName", "value": "engineering"}],
        },
    )
    scim.delete(f"/Users/{user['id']}")

    listed = acme.get("/events", limit=100)
    types = [e["event"] for e in listed["data"]]
    assert types == [
        "dsync.user.created",
        "dsync.group.created",
        "dsync.group.user_added",
        "dsync.user.updated",
        "dsync.group.updated",
        "dsync.user.deleted",
    ]
    updated = listed["data"][3]["data"]
    assert updated["first_name"] == "Augusta"
    assert updated["previous_attributes"]["first_name"] == "Ada"
    assert updated["previous_attributes"]["raw_attributes"] == {"name": {"givenName": "Ada"}}
    assert set(updated["previous_attributes"]) == {"first_name", "raw_attributes"}
    renamed = listed["data"][4]["data"]
    assert (renamed["name"], renamed["previous_attributes"]["name"]) == ("engineering", "eng")
    added = listed["data"][2]["data"]
    assert (added["user"]["id"], added["group"]["id"]) == (user["id"], group["id"])
    assert listed["data"][0]["id"] == f"event_{directory}_000000000001"


def test_the_events_cursor_continues_where_the_last_page_ended(
    scim: ScimClient, acme: Api, directory: str
) -> None:
    for i in range(5):
        _user(scim, f"u{i}")
    first = acme.get("/events", limit=3)
    rest = acme.get("/events", limit=3, after=first["list_metadata"]["after"])
    assert [e["data"]["username"] for e in first["data"] + rest["data"]] == [f"u{i}" for i in range(5)]
    _user(scim, "late")
    tail = acme.get("/events", after=rest["list_metadata"]["after"])
    assert [e["data"]["username"] for e in tail["data"]] == ["late"]

    _group(scim, "eng", [])
    only = acme.get("/events", events="dsync.group.created", directory_id=directory)
    assert [e["event"] for e in only["data"]] == ["dsync.group.created"]
    acme.get("/events", 400, events="dsync.nothing")
    acme.get("/events", 400, after="not a cursor")


def test_an_organizations_key_reads_nothing_of_another_organization(
    client: FlaskClient, organizations: LocalOrganizationRegistry, tokens: LocalTokenRegistry
) -> None:
    a = ScimClient(client, "org-a-dir", tokens.issue("org-a-dir"))
    b = ScimClient(client, "org-b-dir", tokens.issue("org-b-dir"))
    alice = _user(a, "alice")
    bob = _user(b, "bob")
    b_group = _group(b, "b-team", [bob["id"]])
    api_a = Api(client, organizations.create("org-a", ["org-a-dir"]))
    api_b = Api(client, organizations.create("org-b", ["org-b-dir"]))

    assert [d["id"] for d in api_a.get("/directories")["data"]] == ["org-a-dir"]
    api_a.get("/directories/org-b-dir", 404)
    api_a.get(f"/directory_users/{bob['id']}", 404)
    api_a.get(f"/directory_groups/{b_group['id']}", 404)
    api_a.get("/directory_users", 404, directory="org-b-dir")
    api_a.get("/directory_users", 404, group=b_group["id"])
    api_a.get("/directory_groups", 404, user=bob["id"])
    api_a.get("/events", 404, directory_id="org-b-dir")
    assert {e["data"]["id"] for e in api_a.get("/events", limit=100)["data"]} == {alice["id"]}
    # the other way round too, and a SCIM token is no API key
    api_b.get(f"/directory_users/{alice['id']}", 404)
    assert api_b.get(f"/directory_users/{bob['id']}")["username"] == "bob"
    Api(client, a.token).get("/directories", 401)
    Api(client, "").get("/directories", 401)


def test_a_rotated_key_keeps_working_for_its_grace_period_only(
    client: FlaskClient, organizations: LocalOrganizationRegistry
) -> None:
    from datetime import timedelta

    old = organizations.create("acme", [])
    new = organizations.rotate("acme", timedelta(hours=1))
    Api(client, old).get("/directories")
    Api(client, new).get("/directories")
    newest = organizations.rotate("acme", timedelta(0))
    Api(client, old).get("/directories", 401)
    Api(client, new).get("/directories", 401)
    Api(client, newest).get("/directories")
    stored = organizations.path.read_text()
    assert newest not in stored
    assert old not in stored


def test_bad_parameters_are_named(acme: Api, directory: str) -> None:
    assert "limit" in acme.get("/directory_users", 400, directory=directory, limit=101)["message"]
    assert "exactly one" in acme.get("/directory_users", 400)["message"]
    assert (
        "before and after"
        in acme.get("/directory_users", 400, directory=directory, before="a", after="b")["message"]
    )
    acme.get("/directory_users/not_an_id!", 404)


def test_the_openapi_document_is_served_without_a_key(client: FlaskClient) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    assert {"/directories", "/directory_users", "/directory_groups/{id}", "/events"} <= set(doc["paths"])
    assert "DirectoryUser" in doc["components"]["schemas"]
