"""``attributes`` and ``excludedAttributes`` (RFC 7644 sections 3.4.2.5 and 3.9)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from scim_server.scim.projection import Projection, parse_projection, project
from scim_server.scim.schemas import ENTERPRISE_SCHEMA, USER_SCHEMA, ResourceType
from tests.support import rfc

ALWAYS = {"schemas", "id"}


@pytest.fixture
def stored(enterprise_bjensen: dict[str, Any]) -> dict[str, Any]:
    """The RFC 7643 8.3 User as storage returns it: no password, ``schemas`` listing both."""
    enterprise_bjensen.pop("password")
    return enterprise_bjensen


@pytest.fixture
def minimal_enterprise() -> dict[str, Any]:
    return {
        "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
        "id": "u1",
        "userName": "b",
        ENTERPRISE_SCHEMA: {"department": "d"},
    }


def shown(
    rt: ResourceType, resource: dict[str, Any], attributes: Any = None, excluded: Any = None
) -> dict[str, Any]:
    return project(rt, resource, parse_projection(rt, attributes, excluded))


def test_the_rfc_7644_section_3_9_partial_response(users: ResourceType) -> None:
    """GET /Users/2819c223-...?attributes=userName answers schemas, id and userName."""
    resource = rfc.load("rfc7644-3.4.1-user")
    assert shown(users, resource, "userName") == rfc.load("rfc7644-3.9-user-partial-response")


@pytest.mark.parametrize("excluded", [None, "", []])
@pytest.mark.parametrize("attributes", [None, "", []])
def test_without_parameters_the_resource_is_returned_whole(
    users: ResourceType, stored: dict[str, Any], attributes: Any, excluded: Any
) -> None:
    projection = parse_projection(users, attributes, excluded)
    assert projection.is_default
    assert project(users, stored, projection) is stored


# -- attributes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ("userName", {"userName": "bjensen@example.com"}),
        ("USERNAME", {"userName": "bjensen@example.com"}),
        ("userName,displayName", {"userName": "bjensen@example.com", "displayName": "Babs Jensen"}),
        (" userName , displayName ", {"userName": "bjensen@example.com", "displayName": "Babs Jensen"}),
        (["userName", "displayName"], {"userName": "bjensen@example.com", "displayName": "Babs Jensen"}),
        ("name.givenName", {"name": {"givenName": "Barbara"}}),
        ("name.givenName,name.familyName", {"name": {"familyName": "Jensen", "givenName": "Barbara"}}),
        (
            "name,name.givenName",
            {
                "name": {
                    "formatted": "Ms. Barbara J Jensen, III",
                    "familyName": "Jensen",
                    "givenName": "Barbara",
                    "middleName": "Jane",
                    "honorificPrefix": "Ms.",
                    "honorificSuffix": "III",
                }
            },
        ),
        (
            "emails.value",
            {"emails": [{"value": "bjensen@example.com"}, {"value": "babs@jensen.org"}]},
        ),
        (f"{USER_SCHEMA}:userName", {"userName": "bjensen@example.com"}),
        (f"{USER_SCHEMA}:name.familyName", {"name": {"familyName": "Jensen"}}),
        (f"{ENTERPRISE_SCHEMA}:department", {ENTERPRISE_SCHEMA: {"department": "Tour Operations"}}),
        (
            f"{ENTERPRISE_SCHEMA}:manager.value",
            {ENTERPRISE_SCHEMA: {"manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}}},
        ),
        ("department", {ENTERPRISE_SCHEMA: {"department": "Tour Operations"}}),
        ("meta.resourceType", {"meta": {"resourceType": "User"}}),
        ("id", {}),
        ("favoriteColor", {}),
        ("name.nickname", {}),
        ("userName,favoriteColor", {"userName": "bjensen@example.com"}),
    ],
)
def test_attributes_returns_only_those_plus_id_and_schemas(
    users: ResourceType, stored: dict[str, Any], attributes: Any, expected: dict[str, Any]
) -> None:
    result = shown(users, stored, attributes)
    assert result == {"schemas": stored["schemas"], "id": stored["id"], **expected}


@pytest.mark.parametrize("urn", [ENTERPRISE_SCHEMA, ENTERPRISE_SCHEMA.lower()])
def test_an_extension_urn_in_attributes_returns_the_whole_extension(
    users: ResourceType, stored: dict[str, Any], urn: str
) -> None:
    result = shown(users, stored, f"userName,{urn}")
    assert result == {
        "schemas": stored["schemas"],
        "id": stored["id"],
        "userName": stored["userName"],
        ENTERPRISE_SCHEMA: stored[ENTERPRISE_SCHEMA],
    }


def test_the_core_schema_urn_alone_selects_nothing_more(users: ResourceType, stored: dict[str, Any]) -> None:
    assert shown(users, stored, USER_SCHEMA) == {"schemas": stored["schemas"], "id": stored["id"]}


def test_a_selected_sub_attribute_absent_from_every_value_drops_the_attribute(
    users: ResourceType, stored: dict[str, Any]
) -> None:
    assert "emails" not in shown(users, stored, "emails.display")


# -- excludedAttributes ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("excluded", "gone"),
    [
        ("emails", {"emails"}),
        ("EMAILS,x509Certificates", {"emails", "x509Certificates"}),
        (["emails", "groups"], {"emails", "groups"}),
        ("meta", {"meta"}),
        (f"{USER_SCHEMA}:nickName", {"nickName"}),
        (ENTERPRISE_SCHEMA, {ENTERPRISE_SCHEMA}),
        ("favoriteColor", set()),
    ],
)
def test_excluded_attributes_removes_those_from_the_full_resource(
    users: ResourceType, stored: dict[str, Any], excluded: Any, gone: set[str]
) -> None:
    result = shown(users, stored, excluded=excluded)
    assert result.keys() == stored.keys() - gone


@pytest.mark.parametrize("excluded", ["id", "schemas", "id,schemas,userName", f"{USER_SCHEMA}:id"])
def test_id_and_schemas_are_never_excluded(
    users: ResourceType, stored: dict[str, Any], excluded: str
) -> None:
    """RFC 7644 3.4.2.5: excludedAttributes has no effect on "returned": "always"."""
    assert shown(users, stored, excluded=excluded).keys() >= ALWAYS


def test_excluding_a_sub_attribute_keeps_the_rest(users: ResourceType, stored: dict[str, Any]) -> None:
    result = shown(users, stored, excluded="name.givenName,emails.type")
    assert result["name"] == {k: v for k, v in stored["name"].items() if k != "givenName"}
    assert result["emails"] == [
        {"value": "bjensen@example.com", "primary": True},
        {"value": "babs@jensen.org"},
    ]


def test_excluding_an_extension_attribute_keeps_the_rest_of_the_extension(
    users: ResourceType, stored: dict[str, Any]
) -> None:
    result = shown(users, stored, excluded=f"{ENTERPRISE_SCHEMA}:manager")
    assert result[ENTERPRISE_SCHEMA] == {k: v for k, v in stored[ENTERPRISE_SCHEMA].items() if k != "manager"}


def test_an_extension_emptied_by_exclusion_is_left_out(
    users: ResourceType, minimal_enterprise: dict[str, Any]
) -> None:
    assert ENTERPRISE_SCHEMA not in shown(
        users, minimal_enterprise, excluded=f"{ENTERPRISE_SCHEMA}:department"
    )


def test_attributes_wins_when_both_parameters_are_given(users: ResourceType, stored: dict[str, Any]) -> None:
    assert shown(users, stored, "userName", "userName") == {
        "schemas": stored["schemas"],
        "id": stored["id"],
        "userName": stored["userName"],
    }


def test_projection_never_modifies_the_resource(users: ResourceType, stored: dict[str, Any]) -> None:
    before = copy.deepcopy(stored)
    shown(users, stored, "emails.value,name.givenName")
    shown(users, stored, excluded="emails.type,name.givenName," + ENTERPRISE_SCHEMA)
    assert stored == before


# -- wants: what storage must load ----------------------------------------------------


@pytest.mark.parametrize(
    ("attributes", "excluded", "wanted"),
    [
        (None, None, True),
        ("members", None, True),
        ("members.value", None, True),
        ("MEMBERS", None, True),
        ("displayName", None, False),
        (None, "members", False),
        (None, "members.display", True),
        (None, "displayName", True),
    ],
)
def test_wants_tells_whether_members_must_be_loaded(
    groups: ResourceType, attributes: str | None, excluded: str | None, wanted: bool
) -> None:
    assert parse_projection(groups, attributes, excluded).wants(None, "members") is wanted


def test_wants_an_attribute_of_a_wholly_requested_extension(users: ResourceType) -> None:
    projection = parse_projection(users, ENTERPRISE_SCHEMA, None)
    assert projection.wants(ENTERPRISE_SCHEMA, "manager")
    assert not projection.wants(None, "userName")


def test_member_sub_attributes_can_be_selected(groups: ResourceType, tour_guides: dict[str, Any]) -> None:
    result = shown(groups, tour_guides, "members.value")
    assert result == {
        "schemas": tour_guides["schemas"],
        "id": tour_guides["id"],
        "members": [{"value": m["value"]} for m in tour_guides["members"]],
    }


def test_default_projection_is_empty() -> None:
    assert Projection().is_default
    assert Projection().wants(None, "anything")
