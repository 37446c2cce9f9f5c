"""The /Groups endpoints over HTTP: membership semantics IdPs depend on."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from scim2_models import Context, Group

from tests.api.conftest import ScimClient
from tests.api.test_users import new_user, patch

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


def new_group(scim: ScimClient, name: str = "Admins", members: list[str] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    response = scim.post(
        "/Groups", json={"schemas": [GROUP], "displayName": name, "members": [{"value": m} for m in members]}
    )
    assert response.status_code == 201, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def members(scim: ScimClient, group_id: str) -> set[str]:
    body = scim.get(f"/Groups/{group_id}").get_json()
    return {m["value"] for m in body.get("members", [])}


def test_create_group_with_members(scim: ScimClient) -> None:
    a = new_user(scim, "a")["id"]
    group = new_group(scim, members=[a])
    parsed = Group.model_validate(group, scim_ctx=Context.RESOURCE_CREATION_RESPONSE)
    assert parsed.display_name == "Admins"
    member = group["members"][0]
    assert member["value"] == a
    assert member["type"] == "User"
    assert member["$ref"].endswith(f"/Users/{a}")


def test_member_patch_answers_204_and_changes_only_listed_members(scim: ScimClient) -> None:
    ids = [new_user(scim, f"u{i}")["id"] for i in range(3)]
    group = new_group(scim, members=ids)
    response = patch(
        scim, f"/Groups/{group['id']}", {"op": "remove", "path": "members", "value": [{"value": ids[0]}]}
    )
    assert response.status_code == 204
    assert response.get_data() == b""
    assert members(scim, group["id"]) == set(ids[1:])


def test_member_patch_with_attributes_answers_200(scim: ScimClient) -> None:
    a = new_user(scim, "a")["id"]
    group = new_group(scim)
    response = patch(
        scim,
        f"/Groups/{group['id']}?attributes=members",
        {"op": "add", "path": "members", "value": [{"value": a}]},
    )
    assert response.status_code == 200
    assert [m["value"] for m in response.get_json()["members"]] == [a]


def test_filtered_member_remove_and_replace_with_empty_list(scim: ScimClient) -> None:
    a, b = (new_user(scim, n)["id"] for n in ("a", "b"))
    group = new_group(scim, members=[a, b])
    patch(scim, f"/Groups/{group['id']}", {"op": "remove", "path": f'members[value eq "{a}"]'})
    assert members(scim, group["id"]) == {b}
    patch(scim, f"/Groups/{group['id']}", {"op": "replace", "path": "members", "value": []})
    assert members(scim, group["id"]) == set()


def test_display_name_replace_and_members_in_one_pathless_op(scim: ScimClient) -> None:
    a = new_user(scim, "a")["id"]
    group = new_group(scim)
    patch(
        scim,
        f"/Groups/{group['id']}",
        {"op": "Replace", "value": {"displayName": "Renamed", "members": [{"value": a}]}},
    )
    body = scim.get(f"/Groups/{group['id']}").get_json()
    assert body["displayName"] == "Renamed"
    assert [m["value"] for m in body["members"]] == [a]


def test_excluded_members_and_filter_by_member(scim: ScimClient) -> None:
    a = new_user(scim, "a")["id"]
    group = new_group(scim, members=[a])
    body = scim.get(f"/Groups/{group['id']}?excludedAttributes=members").get_json()
    assert "members" not in body
    found = scim.get("/Groups?filter=" + quote(f'members[value eq "{a}"]') + "&excludedAttributes=members")
    assert [g["id"] for g in found.get_json()["Resources"]] == [group["id"]]


def test_adding_an_unknown_member_is_400_and_changes_nothing(scim: ScimClient) -> None:
    group = new_group(scim)
    response = patch(
        scim, f"/Groups/{group['id']}", {"op": "add", "path": "members", "value": [{"value": "x"}]}
    )
    assert response.status_code == 400
    assert response.get_json()["scimType"] == "invalidValue"
    assert members(scim, group["id"]) == set()


def test_user_groups_attribute_and_user_deletion(scim: ScimClient) -> None:
    a = new_user(scim, "a")["id"]
    group = new_group(scim, "Team", members=[a])
    user = scim.get(f"/Users/{a}").get_json()
    assert user["groups"][0]["value"] == group["id"]
    assert user["groups"][0]["display"] == "Team"
    scim.delete(f"/Users/{a}")
    assert members(scim, group["id"]) == set()


def test_duplicate_display_name_is_409(scim: ScimClient) -> None:
    new_group(scim, "Same")
    response = scim.post("/Groups", json={"schemas": [GROUP], "displayName": "same"})
    assert response.status_code == 409
    assert response.get_json()["scimType"] == "uniqueness"


def test_group_patch_if_match(scim: ScimClient) -> None:
    a = new_user(scim, "a")["id"]
    group = new_group(scim)
    ok = patch(
        scim,
        f"/Groups/{group['id']}",
        {"op": "add", "path": "members", "value": [{"value": a}]},
        headers={"If-Match": group["meta"]["version"]},
    )
    assert ok.status_code == 204
    stale = patch(
        scim,
        f"/Groups/{group['id']}",
        {"op": "remove", "path": "members"},
        headers={"If-Match": group["meta"]["version"]},
    )
    assert stale.status_code == 412
    assert members(scim, group["id"]) == {a}


def test_put_group_replaces_members(scim: ScimClient) -> None:
    a, b = (new_user(scim, n)["id"] for n in ("a", "b"))
    group = new_group(scim, members=[a])
    response = scim.put(
        f"/Groups/{group['id']}",
        json={"schemas": [GROUP], "displayName": "Admins", "members": [{"value": b}]},
    )
    assert response.status_code == 200
    assert [m["value"] for m in response.get_json()["members"]] == [b]
