"""Attribute definitions (RFC 7643 sections 3, 4 and 8.7) and path resolution."""

from __future__ import annotations

from typing import Any

import pytest

from scim_server.scim.errors import InvalidFilter, InvalidPath, InvalidValue, ScimError
from scim_server.scim.filter import AttrPath, parse_attr_path
from scim_server.scim.schemas import (
    COMMON_ATTRIBUTES,
    ENTERPRISE_SCHEMA,
    GROUP_SCHEMA,
    USER_SCHEMA,
    Attribute,
    ResourceType,
    all_schemas,
    group_type,
    resource_types,
    user_type,
)


def _types() -> dict[str, ResourceType]:
    return {"User": user_type(), "Group": group_type()}


# -- resource types -----------------------------------------------------------------


def test_we_serve_users_and_groups_and_the_enterprise_extension() -> None:
    assert [(rt.name, rt.endpoint) for rt in resource_types()] == [("User", "/Users"), ("Group", "/Groups")]
    assert user_type().schema_ids == (USER_SCHEMA, ENTERPRISE_SCHEMA)
    assert group_type().schema_ids == (GROUP_SCHEMA,)
    assert [s.id for s in all_schemas()] == [USER_SCHEMA, ENTERPRISE_SCHEMA, GROUP_SCHEMA]


def test_resource_types_are_built_once() -> None:
    assert user_type() is user_type()
    assert group_type() is group_type()


@pytest.mark.parametrize("urn", [ENTERPRISE_SCHEMA, ENTERPRISE_SCHEMA.lower(), ENTERPRISE_SCHEMA.upper()])
def test_extensions_are_found_by_urn_in_any_case(users: ResourceType, urn: str) -> None:
    ext = users.extension(urn)
    assert ext is not None
    assert ext.id == ENTERPRISE_SCHEMA


@pytest.mark.parametrize("urn", [USER_SCHEMA, GROUP_SCHEMA, "urn:example:other", ""])
def test_the_core_schema_and_unknown_urns_are_not_extensions(users: ResourceType, urn: str) -> None:
    assert users.extension(urn) is None


# -- RFC 7643 characteristics -------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "path", "expected"),
    [
        # RFC 7643 3.1: common attributes
        (
            "User",
            "id",
            {"case_exact": True, "mutability": "readOnly", "returned": "always", "uniqueness": "server"},
        ),
        ("Group", "id", {"case_exact": True, "mutability": "readOnly", "returned": "always"}),
        ("User", "externalId", {"case_exact": True, "mutability": "readWrite"}),
        ("User", "meta", {"type": "complex", "mutability": "readOnly"}),
        ("User", "meta.lastModified", {"type": "dateTime", "mutability": "readOnly"}),
        ("User", "meta.version", {"mutability": "readOnly", "case_exact": True}),
        # RFC 7643 4.1 / 8.7.1: User
        ("User", "userName", {"required": True, "uniqueness": "server", "case_exact": False}),
        ("User", "name", {"type": "complex", "multi_valued": False}),
        ("User", "name.givenName", {"type": "string"}),
        ("User", "active", {"type": "boolean"}),
        ("User", "profileUrl", {"type": "reference"}),
        ("User", "password", {"mutability": "writeOnly", "returned": "never"}),
        ("User", "emails", {"type": "complex", "multi_valued": True}),
        ("User", "emails.type", {"canonical_values": ("work", "home", "other")}),
        ("User", "emails.primary", {"type": "boolean"}),
        (
            "User",
            "phoneNumbers.type",
            {"canonical_values": ("work", "home", "mobile", "fax", "pager", "other")},
        ),
        ("User", "groups", {"multi_valued": True, "mutability": "readOnly", "returned": "default"}),
        ("User", "groups.value", {"mutability": "readOnly"}),
        ("User", "x509Certificates.value", {"type": "binary", "case_exact": True}),
        # RFC 7643 4.3: the enterprise extension; manager.value is optional as Entra sends it
        (
            "User",
            f"{ENTERPRISE_SCHEMA}:employeeNumber",
            {"type": "string", "mutability": "readWrite"},
        ),
        (
            "User",
            f"{ENTERPRISE_SCHEMA}:manager",
            {"type": "complex", "multi_valued": False},
        ),
        ("User", f"{ENTERPRISE_SCHEMA}:manager.value", {"required": False}),
        ("User", f"{ENTERPRISE_SCHEMA}:manager.$ref", {"required": False, "type": "reference"}),
        ("User", f"{ENTERPRISE_SCHEMA}:manager.displayName", {"mutability": "readOnly"}),
        # RFC 7643 4.2: Group; displayName is unique per directory (our choice, documented)
        ("Group", "displayName", {"required": True, "uniqueness": "server"}),
        ("Group", "members", {"type": "complex", "multi_valued": True, "mutability": "readWrite"}),
        ("Group", "members.value", {"mutability": "immutable", "case_exact": True}),
        ("Group", "members.type", {"mutability": "immutable", "canonical_values": ("User", "Group")}),
        ("Group", "members.$ref", {"mutability": "immutable", "reference_types": ("User", "Group")}),
    ],
)
def test_attributes_have_their_rfc_7643_characteristics(
    kind: str, path: str, expected: dict[str, Any]
) -> None:
    leaf = _types()[kind].resolve(parse_attr_path(path)).leaf
    assert {key: getattr(leaf, key) for key in expected} == expected


def test_descriptions_are_single_spaced_prose() -> None:
    for schema in all_schemas():
        for attr in schema.attributes.values():
            for item in (attr, *attr.sub.values()):
                assert "\n" not in item.description
                assert "  " not in item.description


# -- resolution -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "schema", "attr", "sub"),
    [
        ("userName", None, "userName", None),
        ("USERNAME", None, "userName", None),
        ("name.givenName", None, "name", "givenName"),
        ("NAME.GIVENNAME", None, "name", "givenName"),
        ("id", None, "id", None),
        ("externalId", None, "externalId", None),
        ("meta.lastModified", None, "meta", "lastModified"),
        ("emails.value", None, "emails", "value"),
        (f"{USER_SCHEMA}:userName", None, "userName", None),
        (f"{USER_SCHEMA.lower()}:name.familyName", None, "name", "familyName"),
        (f"{USER_SCHEMA}:id", None, "id", None),
        (f"{ENTERPRISE_SCHEMA}:employeeNumber", ENTERPRISE_SCHEMA, "employeeNumber", None),
        (f"{ENTERPRISE_SCHEMA.lower()}:EMPLOYEENUMBER", ENTERPRISE_SCHEMA, "employeeNumber", None),
        (f"{ENTERPRISE_SCHEMA}:manager.value", ENTERPRISE_SCHEMA, "manager", "value"),
        # Entra sends extension attributes unqualified ("path": "manager").
        ("manager", ENTERPRISE_SCHEMA, "manager", None),
        ("department", ENTERPRISE_SCHEMA, "department", None),
    ],
)
def test_user_paths_resolve_case_insensitively_to_their_schema(
    users: ResourceType, path: str, schema: str | None, attr: str, sub: str | None
) -> None:
    resolved = users.resolve(parse_attr_path(path))
    assert resolved.schema == schema
    assert resolved.attr.name == attr
    assert (resolved.sub.name if resolved.sub else None) == sub
    assert resolved.leaf is (resolved.sub or resolved.attr)


def test_core_attributes_win_over_extension_attributes_of_the_same_name(users: ResourceType) -> None:
    assert users.resolve(AttrPath("userName")).schema is None


@pytest.mark.parametrize(
    "path",
    [
        "favoriteColor",
        "name.nickname",
        "emails.nope",
        "userName.value",
        "urn:example:unknown:2.0:User:userName",
        f"{ENTERPRISE_SCHEMA}:userName",
        f"{ENTERPRISE_SCHEMA}:id",
        f"{GROUP_SCHEMA}:displayName",
        f"{ENTERPRISE_SCHEMA}:manager.nope",
    ],
)
@pytest.mark.parametrize("error", [InvalidFilter, InvalidPath, InvalidValue])
def test_unknown_names_raise_the_callers_error(
    users: ResourceType, path: str, error: type[ScimError]
) -> None:
    with pytest.raises(error):
        users.resolve(parse_attr_path(path), error)


def test_resolution_defaults_to_invalid_filter(users: ResourceType) -> None:
    with pytest.raises(InvalidFilter, match="favoriteColor"):
        users.resolve(AttrPath("favoriteColor"))


@pytest.mark.parametrize(
    "path", ["displayName", "members", "members.value", "MEMBERS.TYPE", f"{GROUP_SCHEMA}:members"]
)
def test_group_paths_resolve(groups: ResourceType, path: str) -> None:
    assert groups.resolve(parse_attr_path(path)).schema is None


@pytest.mark.parametrize("path", ["userName", "emails", f"{USER_SCHEMA}:userName", "manager"])
def test_user_attributes_are_unknown_on_groups(groups: ResourceType, path: str) -> None:
    with pytest.raises(InvalidPath):
        groups.resolve(parse_attr_path(path), InvalidPath)


def test_sub_attributes_resolve_case_insensitively(users: ResourceType) -> None:
    resolved = users.resolve(AttrPath("emails", "VALUE"))
    assert resolved.sub is not None
    assert resolved.sub.name == "value"
    with pytest.raises(InvalidPath, match="nope"):
        users.resolve(AttrPath("emails", "nope"), InvalidPath)


# -- /Schemas documents ---------------------------------------------------------------


def test_schema_documents_are_rfc_7643_section_7_shaped(users: ResourceType) -> None:
    doc = users.schema.to_json()
    assert doc["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:Schema"]
    assert (doc["id"], doc["name"]) == (USER_SCHEMA, "User")
    names = [a["name"] for a in doc["attributes"]]
    assert "userName" in names
    assert "id" not in names  # common attributes are not part of a schema (RFC 7643 3.1)


REQUIRED_KEYS = {
    "name",
    "type",
    "multiValued",
    "description",
    "required",
    "caseExact",
    "mutability",
    "returned",
    "uniqueness",
}


def _walk(attrs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for attr in attrs:
        out.append(attr)
        out.extend(_walk(attr.get("subAttributes", [])))
    return out


@pytest.mark.parametrize("schema", all_schemas(), ids=lambda s: s.name)
def test_every_attribute_document_carries_every_characteristic(schema: Any) -> None:
    for attr in _walk(schema.to_json()["attributes"]):
        assert attr.keys() >= REQUIRED_KEYS, attr["name"]
        assert attr["mutability"] in {"readOnly", "readWrite", "immutable", "writeOnly"}
        assert attr["returned"] in {"always", "never", "default", "request"}
        assert attr["uniqueness"] in {"none", "server", "global"}
        assert ("subAttributes" in attr) == (attr["type"] == "complex")


def test_optional_characteristics_appear_only_when_set() -> None:
    plain = Attribute("nickName", "string").to_json()
    assert "canonicalValues" not in plain
    assert "referenceTypes" not in plain
    assert "subAttributes" not in plain
    members = group_type().schema.attributes["members"].to_json()
    ref = next(s for s in members["subAttributes"] if s["name"] == "$ref")
    assert ref["referenceTypes"] == ["User", "Group"]


def test_common_attributes_are_keyed_by_lower_case_name() -> None:
    assert set(COMMON_ATTRIBUTES) == {"id", "externalid", "meta"}
    assert COMMON_ATTRIBUTES["externalid"].name == "externalId"
