"""The storage contract of ``restore``: a resource comes back exactly as it was exported.

Written against the ``Storage`` protocol only, so every backend runs it unchanged.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from scim_server.scim.errors import InvalidValue, NotFound, Uniqueness
from scim_server.scim.filter import parse_filter
from scim_server.scim.query import ListQuery
from scim_server.scim.schemas import ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA
from scim_server.storage import Storage

CREATED = "2024-01-02T03:04:05.123456Z"
MODIFIED = "2025-06-07T08:09:10.654321Z"


def exported_user(user_name: str, /, **attributes: Any) -> dict[str, Any]:
    schemas = [USER_SCHEMA, ENTERPRISE_SCHEMA] if ENTERPRISE_SCHEMA in attributes else [USER_SCHEMA]
    return {
        "schemas": schemas,
        "id": str(uuid.uuid4()),
        "userName": user_name,
        **attributes,
        "meta": {"resourceType": "User", "created": CREATED, "lastModified": MODIFIED, "version": 'W/"7"'},
    }


def exported_group(name: str, members: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {"schemas": [GROUP_SCHEMA], "id": str(uuid.uuid4()), "displayName": name}
    if members:
        doc["members"] = [{"value": m["id"], "type": m["meta"]["resourceType"]} for m in members]
    doc["meta"] = {"resourceType": "Group", "created": CREATED, "lastModified": MODIFIED, "version": 'W/"3"'}
    return doc


def without_version(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource without its version, members in id order (SCIM gives them no order)."""
    out = {**resource, "meta": {k: v for k, v in resource["meta"].items() if k != "version"}}
    if "members" in out:
        out["members"] = sorted(out["members"], key=lambda m: m["value"])
    return out


def member_ids(storage: Storage, directory: str, group_id: str) -> set[str]:
    return {m["value"] for m in storage.get(directory, "Group", group_id).get("members", [])}


def test_a_restored_user_reads_back_as_exported(storage: Storage, directory: str) -> None:
    doc = exported_user(
        "bjensen",
        externalId="ext-1",
        active=False,
        name={"givenName": "Barbara", "familyName": "Jensen"},
        emails=[{"value": "b@example.com", "type": "work", "primary": True}],
        **{ENTERPRISE_SCHEMA: {"employeeNumber": "42", "manager": {"value": "m-1"}}},
    )
    restored = storage.restore(directory, "User", doc)
    assert without_version(restored) == without_version(doc)
    assert without_version(storage.get(directory, "User", doc["id"])) == without_version(doc)


def test_restored_resources_are_found_by_their_indexed_attributes(storage: Storage, directory: str) -> None:
    doc = exported_user("Findme", externalId="ext-find", displayName="Find Me")
    storage.restore(directory, "User", doc)
    for text in ('userName eq "findme"', 'externalId eq "ext-find"', 'displayName eq "Find Me"'):
        page = storage.query(directory, "User", ListQuery(filter=parse_filter(text)))
        assert [r["id"] for r in page.resources] == [doc["id"]], text


def test_a_restored_version_is_a_weak_etag_that_if_match_accepts(storage: Storage, directory: str) -> None:
    restored = storage.restore(directory, "User", exported_user("v"))
    version = restored["meta"]["version"]
    assert version.startswith('W/"')
    changed = storage.replace(
        directory, "User", restored["id"], {"userName": "v", "title": "t"}, if_match=version
    )
    assert changed["meta"]["version"] != version
    assert changed["meta"]["created"] == CREATED
    assert changed["meta"]["lastModified"] > MODIFIED


def test_a_group_is_restored_with_its_members_and_users_see_it(storage: Storage, directory: str) -> None:
    users = [exported_user(f"u{i}") for i in range(3)]
    storage.restore_many(directory, "User", users)
    group = exported_group("Admins", users[:2])
    restored = storage.restore(directory, "Group", group)
    assert without_version(restored) == without_version(group)
    assert member_ids(storage, directory, group["id"]) == {users[0]["id"], users[1]["id"]}
    groups = storage.get(directory, "User", users[0]["id"]).get("groups", [])
    assert [g["value"] for g in groups] == [group["id"]]
    assert storage.get(directory, "User", users[2]["id"]).get("groups") is None


def test_a_batch_may_hold_nested_groups_in_any_order_and_in_a_cycle(storage: Storage, directory: str) -> None:
    user = exported_user("member")
    storage.restore(directory, "User", user)
    inner = exported_group("inner", [user])
    outer = exported_group("outer", [inner])
    # ``a`` and ``b`` contain each other; ``outer`` comes before the ``inner`` it contains.
    a, b = exported_group("a"), exported_group("b")
    a["members"] = [{"value": b["id"], "type": "Group"}]
    b["members"] = [{"value": a["id"], "type": "Group"}, {"value": user["id"], "type": "User"}]
    storage.restore_many(directory, "Group", [outer, a, inner, b])
    assert member_ids(storage, directory, outer["id"]) == {inner["id"]}
    assert member_ids(storage, directory, inner["id"]) == {user["id"]}
    assert member_ids(storage, directory, a["id"]) == {b["id"]}
    assert member_ids(storage, directory, b["id"]) == {a["id"], user["id"]}
    members = storage.get(directory, "Group", outer["id"])["members"]
    assert members == [{"value": inner["id"], "type": "Group"}]


def test_restoring_a_taken_id_raises_uniqueness(storage: Storage, directory: str) -> None:
    doc = exported_user("first")
    storage.restore(directory, "User", doc)
    with pytest.raises(Uniqueness):
        storage.restore(directory, "User", {**doc, "userName": "second"})
    assert storage.get(directory, "User", doc["id"])["userName"] == "first"


def test_restoring_a_taken_name_raises_uniqueness(storage: Storage, directory: str) -> None:
    storage.create(directory, "User", {"userName": "Taken"})
    storage.create(directory, "Group", {"displayName": "Taken"})
    with pytest.raises(Uniqueness):
        storage.restore(directory, "User", exported_user("taken"))
    with pytest.raises(Uniqueness):
        storage.restore(directory, "Group", exported_group("TAKEN"))


def test_a_batch_is_all_or_none(storage: Storage, directory: str) -> None:
    storage.create(directory, "User", {"userName": "clash"})
    batch = [exported_user("ok-1"), exported_user("CLASH"), exported_user("ok-2")]
    with pytest.raises(Uniqueness):
        storage.restore_many(directory, "User", batch)
    assert storage.stats(directory).users == 1
    for doc in batch:
        with pytest.raises(NotFound):
            storage.get(directory, "User", doc["id"])


def test_an_unknown_member_raises_invalid_value_and_stores_nothing(storage: Storage, directory: str) -> None:
    user = exported_user("known")
    storage.restore(directory, "User", user)
    good = exported_group("good", [user])
    bad = exported_group("bad", [user])
    bad["members"].append({"value": str(uuid.uuid4()), "type": "User"})
    with pytest.raises(InvalidValue, match="members not found"):
        storage.restore_many(directory, "Group", [good, bad])
    assert storage.stats(directory).groups == 0


def test_a_member_of_another_directory_is_unknown(storage: Storage, directory: str) -> None:
    stranger = exported_user("stranger")
    storage.restore(f"{directory}-other", "User", stranger)
    with pytest.raises(InvalidValue):
        storage.restore(directory, "Group", exported_group("g", [stranger]))


@pytest.mark.parametrize(
    "broken",
    [
        {"meta": None},
        {"meta": {"created": "yesterday", "lastModified": MODIFIED}},
        {"meta": {"created": CREATED}},
        {"id": ""},
        {"userName": None},
    ],
    ids=["no-meta", "bad-created", "no-lastModified", "empty-id", "no-userName"],
)
def test_a_malformed_export_raises_invalid_value(
    storage: Storage, directory: str, broken: dict[str, Any]
) -> None:
    doc = {k: v for k, v in {**exported_user("x"), **broken}.items() if v is not None}
    with pytest.raises(InvalidValue):
        storage.restore(directory, "User", doc)
    assert storage.stats(directory).users == 0


def test_restore_takes_members_types_from_the_directory_not_the_document(
    storage: Storage, directory: str
) -> None:
    user = exported_user("typed")
    storage.restore(directory, "User", user)
    group = exported_group("g")
    group["members"] = [{"value": user["id"], "type": "Group"}]
    storage.restore(directory, "Group", group)
    assert storage.get(directory, "Group", group["id"])["members"] == [{"value": user["id"], "type": "User"}]
