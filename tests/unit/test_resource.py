"""Reading a client's resource JSON into canonical form, with the tolerance IdPs need."""

from __future__ import annotations

from typing import Any

import pytest

from scim_server.scim.errors import InvalidSyntax, InvalidValue
from scim_server.scim.resource import coerce, normalize
from scim_server.scim.schemas import ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA, Attribute, ResourceType
from tests.support import rfc

SERVER_OWNED = ("schemas", "id", "meta", "groups", "password")


# -- RFC examples ---------------------------------------------------------------------


def test_the_rfc_7643_full_user_keeps_every_client_attribute(
    users: ResourceType, bjensen: dict[str, Any]
) -> None:
    """Server-owned attributes go (readOnly ones, and the writeOnly password is never kept)."""
    expected = {k: v for k, v in bjensen.items() if k not in SERVER_OWNED}
    assert normalize(users, bjensen) == expected


def test_the_rfc_7643_enterprise_user_keeps_the_extension_minus_read_only_manager_name(
    users: ResourceType, enterprise_bjensen: dict[str, Any]
) -> None:
    doc = normalize(users, enterprise_bjensen)
    assert doc[ENTERPRISE_SCHEMA] == {
        "employeeNumber": "701984",
        "costCenter": "4130",
        "organization": "Universal Studios",
        "division": "Theme Park",
        "department": "Tour Operations",
        "manager": {
            "value": "26118915-6090-4610-87e4-49d8ca9f808d",
            "$ref": "https://example.com/v2/Users/26118915-6090-4610-87e4-49d8ca9f808d",
        },
    }


def test_the_rfc_7644_put_body_drops_its_id_and_empty_roles(users: ResourceType) -> None:
    body = rfc.load("rfc7644-3.5.1-user-put-request")
    assert normalize(users, body) == {
        "userName": "bjensen",
        "externalId": "bjensen",
        "name": {
            "formatted": "Ms. Barbara J Jensen III",
            "familyName": "Jensen",
            "givenName": "Barbara",
            "middleName": "Jane",
        },
        "emails": [{"value": "bjensen@example.com"}, {"value": "babs@jensen.org"}],
    }


def test_the_rfc_7643_group_keeps_its_name_and_members(
    groups: ResourceType, tour_guides: dict[str, Any]
) -> None:
    doc = normalize(groups, tour_guides)
    assert doc["displayName"] == "Tour Guides"
    assert [m["value"] for m in doc["members"]] == [
        "2819c223-7f76-453a-919d-413861904646",
        "902c246b-6245-4190-8e05-00816be7344a",
    ]
    assert "id" not in doc
    assert "meta" not in doc


def test_normalize_does_not_modify_its_input(users: ResourceType, bjensen: dict[str, Any]) -> None:
    before = rfc.load("rfc7643-8.2-user-full")
    normalize(users, bjensen)
    assert bjensen == before


# -- IdP tolerance --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"USERNAME": "b"}, {"userName": "b"}),
        ({"username": "b", "NickName": "n"}, {"userName": "b", "nickName": "n"}),
        ({"userName": "b", "Name": {"GIVENNAME": "g"}}, {"userName": "b", "name": {"givenName": "g"}}),
        (
            {"userName": "b", "EMAILS": [{"Value": "x@y", "TYPE": "work"}]},
            {"userName": "b", "emails": [{"value": "x@y", "type": "work"}]},
        ),
        ({"userName": "b", "EXTERNALID": "e"}, {"userName": "b", "externalId": "e"}),
    ],
)
def test_attribute_names_are_read_in_any_case(
    users: ResourceType, body: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert normalize(users, body) == expected


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        (True, True),
        (False, False),
        ("True", True),
        ("False", False),
        ("true", True),
        ("FALSE", False),
        (" true ", True),
    ],
)
def test_booleans_may_arrive_as_strings(users: ResourceType, sent: Any, stored: bool) -> None:
    doc = normalize(users, {"userName": "b", "active": sent, "emails": [{"value": "a@b", "primary": sent}]})
    assert doc["active"] is stored
    assert doc["emails"][0]["primary"] is stored


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("emails", {"value": "a@b", "type": "work"}, [{"value": "a@b", "type": "work"}]),
        ("emails", "a@b", [{"value": "a@b"}]),
        ("emails", ["a@b", {"value": "c@d"}], [{"value": "a@b"}, {"value": "c@d"}]),
        ("phoneNumbers", "555-0100", [{"value": "555-0100"}]),
        ("displayName", ["Babs"], "Babs"),
    ],
)
def test_single_values_and_bare_strings_are_read_into_the_declared_shape(
    users: ResourceType, key: str, value: Any, expected: Any
) -> None:
    assert normalize(users, {"userName": "b", key: value})[key] == expected


def test_a_bare_manager_id_becomes_the_manager_value(users: ResourceType) -> None:
    doc = normalize(users, {"userName": "b", ENTERPRISE_SCHEMA: {"manager": "boss-id"}})
    assert doc[ENTERPRISE_SCHEMA] == {"manager": {"value": "boss-id"}}


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        (f"{USER_SCHEMA}:displayName", "Babs", {"displayName": "Babs"}),
        (f"{USER_SCHEMA}:name.givenName", "Barbara", {"name": {"givenName": "Barbara"}}),
        (f"{ENTERPRISE_SCHEMA}:department", "Tours", {ENTERPRISE_SCHEMA: {"department": "Tours"}}),
        (f"{ENTERPRISE_SCHEMA}:manager.value", "boss", {ENTERPRISE_SCHEMA: {"manager": {"value": "boss"}}}),
        (f"{ENTERPRISE_SCHEMA.lower()}:costCenter", "4130", {ENTERPRISE_SCHEMA: {"costCenter": "4130"}}),
    ],
)
def test_urn_qualified_keys_land_where_their_schema_puts_them(
    users: ResourceType, key: str, value: str, expected: dict[str, Any]
) -> None:
    assert normalize(users, {"userName": "b", key: value}) == {"userName": "b", **expected}


@pytest.mark.parametrize("urn", [ENTERPRISE_SCHEMA, ENTERPRISE_SCHEMA.lower(), ENTERPRISE_SCHEMA.upper()])
def test_the_extension_object_is_found_by_urn_in_any_case(users: ResourceType, urn: str) -> None:
    doc = normalize(users, {"userName": "b", urn: {"Department": "Tours"}})
    assert doc == {"userName": "b", ENTERPRISE_SCHEMA: {"department": "Tours"}}


@pytest.mark.parametrize(
    "extra",
    [
        {"favoriteColor": "blue"},
        {"urn:example:unknown:2.0:User": {"x": 1}},
        {"urn:example:unknown:2.0:User:x": 1},
        {"name": {"nickname": "not a sub-attribute of name"}},
        {ENTERPRISE_SCHEMA: {"favoriteColor": "blue"}},
    ],
)
def test_unknown_attributes_and_schemas_are_ignored(users: ResourceType, extra: dict[str, Any]) -> None:
    assert normalize(users, {"userName": "b", **extra}) == {"userName": "b"}


@pytest.mark.parametrize(
    "extra",
    [
        {"id": "client-chosen"},
        {"meta": {"resourceType": "User", "created": "2010-01-23T04:56:22Z"}},
        {"groups": [{"value": "g1"}]},
        {f"{USER_SCHEMA}:id": "client-chosen"},
        {ENTERPRISE_SCHEMA: {"manager": {"displayName": "John Smith"}}},
        {"password": "t1meMa$heen"},
        {f"{USER_SCHEMA}:password": "t1meMa$heen"},
    ],
)
def test_server_owned_and_write_only_attributes_are_dropped(
    users: ResourceType, extra: dict[str, Any]
) -> None:
    assert normalize(users, {"userName": "b", **extra}) == {"userName": "b"}


@pytest.mark.parametrize(
    "extra",
    [
        {"title": None},
        {"emails": []},
        {"emails": [None]},
        {"name": {}},
        {"name": {"givenName": None}},
        {ENTERPRISE_SCHEMA: None},
        {ENTERPRISE_SCHEMA: {}},
        {ENTERPRISE_SCHEMA: {"department": None}},
    ],
)
def test_nulls_and_empty_values_are_unassigned(users: ResourceType, extra: dict[str, Any]) -> None:
    """RFC 7643 2.5: null, an empty array and an absent attribute are the same state."""
    assert normalize(users, {"userName": "b", **extra}) == {"userName": "b"}


@pytest.mark.parametrize(
    "schemas",
    [
        [USER_SCHEMA],
        [USER_SCHEMA, ENTERPRISE_SCHEMA],
        [USER_SCHEMA.lower()],
        [ENTERPRISE_SCHEMA, USER_SCHEMA, "urn:example:unknown"],
    ],
)
def test_schemas_must_name_the_core_schema_in_any_case(users: ResourceType, schemas: list[str]) -> None:
    assert normalize(users, {"schemas": schemas, "userName": "b"}) == {"userName": "b"}


def test_schemas_may_be_left_out(users: ResourceType) -> None:
    assert normalize(users, {"userName": "b"}) == {"userName": "b"}


# -- errors ---------------------------------------------------------------------------


@pytest.mark.parametrize("body", [None, [], "userName", 42, [{"userName": "b"}]])
def test_a_body_that_is_not_an_object_is_invalid_syntax(users: ResourceType, body: Any) -> None:
    with pytest.raises(InvalidSyntax):
        normalize(users, body)


@pytest.mark.parametrize(
    "schemas",
    [USER_SCHEMA, [GROUP_SCHEMA], [ENTERPRISE_SCHEMA], [], [1], {"id": USER_SCHEMA}],
)
def test_schemas_that_do_not_name_the_core_schema_are_invalid_syntax(
    users: ResourceType, schemas: Any
) -> None:
    with pytest.raises(InvalidSyntax) as caught:
        normalize(users, {"schemas": schemas, "userName": "b"})
    assert caught.value.scim_type == "invalidSyntax"


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("User", {}),
        ("User", {"displayName": "Babs"}),
        ("User", {"userName": None}),
        ("User", {"userName": ""}),
        ("User", {"userName": "   "}),
        ("Group", {"members": [{"value": "u1"}]}),
        ("Group", {"displayName": ""}),
    ],
)
def test_a_missing_or_blank_required_attribute_is_invalid_value(
    users: ResourceType, groups: ResourceType, kind: str, body: dict[str, Any]
) -> None:
    rt = users if kind == "User" else groups
    with pytest.raises(InvalidValue, match="required attribute"):
        normalize(rt, body)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("userName", {"value": "b"}),
        ("userName", True),
        ("userName", ["a", "b"]),
        ("active", "yes"),
        ("active", 1),
        ("active", {"value": True}),
        ("name", "Barbara Jensen"),
        ("name", ["a", "b"]),
        ("emails", [{"value": "a@b", "primary": "sometimes"}]),
        ("emails", [{"value": ["a@b", "c@d"]}]),
        ("emails", [[{"value": "a@b"}]]),
        ("emails", [True]),
        (ENTERPRISE_SCHEMA, "Tours"),
        (ENTERPRISE_SCHEMA, ["Tours"]),
        (f"{ENTERPRISE_SCHEMA}:department", {"name": "Tours"}),
    ],
)
def test_values_of_the_wrong_type_are_invalid_value(users: ResourceType, key: str, value: Any) -> None:
    with pytest.raises(InvalidValue) as caught:
        normalize(users, {"userName": "b", key: value} if key != "userName" else {key: value})
    assert caught.value.scim_type == "invalidValue"


@pytest.mark.parametrize(
    "emails",
    [
        [{"value": "a@b", "primary": True}, {"value": "c@d", "primary": True}],
        [{"value": "a@b", "primary": "true"}, {"value": "c@d", "primary": "True"}],
        [{"value": "a@b", "primary": True}, {"value": "c@d"}, {"value": "e@f", "primary": True}],
    ],
)
def test_more_than_one_primary_value_is_invalid_value(
    users: ResourceType, emails: list[dict[str, Any]]
) -> None:
    """RFC 7643 2.4: the primary attribute value "true" MUST appear no more than once."""
    with pytest.raises(InvalidValue, match="primary"):
        normalize(users, {"userName": "b", "emails": emails})


def test_one_primary_among_explicit_non_primaries_is_fine(users: ResourceType) -> None:
    emails = [{"value": "a@b", "primary": "False"}, {"value": "c@d", "primary": True}]
    doc = normalize(users, {"userName": "b", "emails": emails})
    assert [e["primary"] for e in doc["emails"]] == [False, True]


# -- coerce, for every attribute type -------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "sent", "stored"),
    [
        ("string", "x", "x"),
        ("string", "", ""),
        ("string", 701984, "701984"),
        ("reference", "https://example.com/v2/Users/1", "https://example.com/v2/Users/1"),
        ("binary", "TUlJRA==", "TUlJRA=="),
        ("boolean", True, True),
        ("boolean", "False", False),
        ("integer", 42, 42),
        ("integer", -3, -3),
        ("integer", "42", 42),
        ("integer", " -3 ", -3),
        ("decimal", 1.5, 1.5),
        ("decimal", 2, 2),
        ("decimal", "1.5", 1.5),
        ("decimal", "-0.25", -0.25),
        ("dateTime", "2011-05-13T04:42:34Z", "2011-05-13T04:42:34Z"),
        ("dateTime", "2011-08-01T18:29:49.793+02:00", "2011-08-01T18:29:49.793+02:00"),
    ],
)
def test_coerce_reads_each_type(type_: str, sent: Any, stored: Any) -> None:
    value = coerce(Attribute("n", type_), sent, "n")
    assert value == stored
    assert type(value) is type(stored)


@pytest.mark.parametrize(
    ("type_", "sent"),
    [
        ("string", True),
        ("string", {"a": 1}),
        ("reference", ["https://a", "https://b"]),
        ("boolean", 1),
        ("boolean", "yes"),
        ("boolean", "1"),
        ("boolean", 0),
        ("integer", True),
        ("integer", 1.5),
        ("integer", "1.5"),
        ("integer", "x"),
        ("integer", "-"),
        ("integer", ""),
        ("integer", "--3"),
        ("integer", "²"),
        ("decimal", "x"),
        ("decimal", {"value": 1.5}),
        ("decimal", True),
        ("decimal", "nan"),
        ("decimal", "inf"),
        ("dateTime", "yesterday"),
        ("dateTime", 1305261754),
        ("dateTime", "2011-13-45T04:42:34Z"),
    ],
)
def test_coerce_rejects_values_of_another_type_as_invalid_value(type_: str, sent: Any) -> None:
    with pytest.raises(InvalidValue):
        coerce(Attribute("n", type_), sent, "n")


def test_coerce_names_the_attribute_in_the_error() -> None:
    with pytest.raises(InvalidValue, match=r"^emails\.primary must be a boolean$"):
        coerce(Attribute("primary", "boolean"), "maybe", "emails.primary")


def test_coerce_treats_null_as_unassigned() -> None:
    assert coerce(Attribute("n", "string"), None, "n") is None
    assert coerce(Attribute("n", "string", multi_valued=True), [None, None], "n") is None


def test_coerce_wraps_a_single_value_of_a_multi_valued_attribute() -> None:
    assert coerce(Attribute("n", "string", multi_valued=True), "x", "n") == ["x"]
    assert coerce(Attribute("n", "string", multi_valued=True), ["x", None, "y"], "n") == ["x", "y"]
