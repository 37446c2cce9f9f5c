"""The PATCH engine (RFC 7644 section 3.5.2) and the dialects Okta and Entra send."""

from __future__ import annotations

from typing import Any

import pytest

from scim_server.scim.errors import (
    InvalidPath,
    InvalidSyntax,
    InvalidValue,
    Mutability,
    NoTarget,
    PayloadTooLarge,
    ScimError,
)
from scim_server.scim.filter import AttrPath, Compare, PatchPath
from scim_server.scim.patch import (
    MemberChange,
    Operation,
    apply_operations,
    parse_operations,
    split_group_operations,
)
from scim_server.scim.schemas import ENTERPRISE_SCHEMA, GROUP_SCHEMA, PATCH_SCHEMA, USER_SCHEMA, ResourceType
from tests.support import rfc

BABS = "2819c223-7f76-453a-919d-413861904646"
JAMES = "08e1d05d-121c-4561-8b96-473d93df9210"
RFC_PATCH_MESSAGES = [
    "rfc7644-3.5.2.1-add-member",
    "rfc7644-3.5.2.1-add-emails-and-nickname",
    "rfc7644-3.5.2.2-remove-one-member",
    "rfc7644-3.5.2.2-remove-all-members",
    "rfc7644-3.5.2.2-remove-work-emails",
    "rfc7644-3.5.2.2-remove-and-add-member",
    "rfc7644-3.5.2.3-remove-then-add-all-members",
    "rfc7644-3.5.2.3-replace-members",
    "rfc7644-3.5.2.3-replace-work-address",
    "rfc7644-3.5.2.3-replace-street-address",
    "rfc7644-3.5.2.3-replace-emails-and-nickname",
]


def message(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_SCHEMA], "Operations": list(operations)}


def patched(rt: ResourceType, resource: dict[str, Any], *operations: dict[str, Any]) -> dict[str, Any]:
    return apply_operations(rt, resource, parse_operations(message(*operations)))


def member_changes(rt: ResourceType, *operations: dict[str, Any]) -> list[MemberChange]:
    attr_ops, changes = split_group_operations(rt, parse_operations(message(*operations)))
    assert attr_ops == []
    return changes


@pytest.fixture
def babs() -> dict[str, Any]:
    """RFC 7644 section 3.4.1's User: one work email, no nickName."""
    return rfc.load_object("rfc7644-3.4.1-user")


@pytest.fixture
def minimal() -> dict[str, Any]:
    return {"id": "u1", "userName": "bjensen", "meta": {"resourceType": "User", "version": 'W/"1"'}}


# -- reading the PatchOp message ------------------------------------------------------


@pytest.mark.parametrize("name", RFC_PATCH_MESSAGES)
def test_every_rfc_7644_patch_message_parses(name: str) -> None:
    body = rfc.load(name)
    ops = parse_operations(body)
    assert [op.op for op in ops] == [raw["op"] for raw in body["Operations"]]


@pytest.mark.parametrize(
    ("sent", "read"),
    [
        ("add", "add"),
        ("Add", "add"),
        ("ADD", "add"),
        ("replace", "replace"),
        ("Replace", "replace"),
        ("REPLACE", "replace"),
        ("remove", "remove"),
        ("Remove", "remove"),
        ("rEmOvE", "remove"),
    ],
)
def test_op_names_are_read_in_any_case(sent: str, read: str) -> None:
    """Entra sends ``Replace``, ``Add`` and ``Remove``."""
    (op,) = parse_operations(message({"op": sent, "path": "title", "value": "x"}))
    assert op.op == read


def test_message_member_names_are_read_in_any_case() -> None:
    body = {
        "SCHEMAS": [PATCH_SCHEMA.upper()],
        "operations": [{"OP": "add", "PATH": "title", "VALUE": "Guide"}],
    }
    assert parse_operations(body) == [Operation("add", PatchPath(AttrPath("title")), "Guide")]


def test_schemas_may_be_left_out() -> None:
    assert parse_operations({"Operations": [{"op": "remove", "path": "title"}]}) == [
        Operation("remove", PatchPath(AttrPath("title")), None)
    ]


def test_operations_keep_their_order() -> None:
    ops = parse_operations(
        message(
            {"op": "remove", "path": "title"},
            {"op": "add", "path": "nickName", "value": "Babs"},
            {"op": "replace", "value": {"title": "Guide"}},
        )
    )
    assert [(op.op, op.path, op.value) for op in ops] == [
        ("remove", PatchPath(AttrPath("title")), None),
        ("add", PatchPath(AttrPath("nickName")), "Babs"),
        ("replace", None, {"title": "Guide"}),
    ]


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        "remove title",
        {"schemas": [PATCH_SCHEMA]},
        {"schemas": [PATCH_SCHEMA], "Operations": []},
        {"schemas": [PATCH_SCHEMA], "Operations": {"op": "remove", "path": "title"}},
        {"schemas": [USER_SCHEMA], "Operations": [{"op": "remove", "path": "title"}]},
        {"schemas": PATCH_SCHEMA, "Operations": [{"op": "remove", "path": "title"}]},
        {"schemas": [PATCH_SCHEMA], "Operations": ["remove title"]},
        message({"path": "title", "value": "x"}),
        message({"op": "move", "path": "title", "value": "x"}),
        message({"op": "copy", "path": "title", "value": "x"}),
        message({"op": None, "path": "title"}),
        message({"op": "add", "path": "title"}),
        message({"op": "replace", "path": "title"}),
        message({"op": "add", "value": "x"}),
        message({"op": "replace", "value": ["title", "x"]}),
        message({"op": "replace", "value": None}),
        message({"op": "remove", "path": "title"}, {"op": "add"}),
    ],
)
def test_malformed_messages_are_invalid_syntax(body: Any) -> None:
    with pytest.raises(InvalidSyntax) as caught:
        parse_operations(body)
    assert caught.value.scim_type == "invalidSyntax"


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "remove"},
        {"op": "remove", "path": None},
        {"op": "remove", "path": ""},
        {"op": "Remove", "value": "x"},
    ],
)
def test_remove_without_a_path_is_no_target(operation: dict[str, Any]) -> None:
    """RFC 7644 3.5.2.2: "If "path" is unspecified, the operation fails ... noTarget"."""
    with pytest.raises(NoTarget) as caught:
        parse_operations(message(operation))
    assert caught.value.scim_type == "noTarget"


@pytest.mark.parametrize(
    "path",
    [
        42,
        ["title"],
        {"attr": "title"},
        'emails[type eq "work"',
        "emails[type xx 1]",
        "a.b.c",
        'emails[type eq "w"]x',
    ],
)
def test_a_path_that_is_not_a_path_is_invalid_path(path: Any) -> None:
    with pytest.raises(InvalidPath) as caught:
        parse_operations(message({"op": "remove", "path": path}))
    assert caught.value.scim_type == "invalidPath"


# -- the RFC 7644 examples, on Users --------------------------------------------------


def test_rfc_add_without_path_merges_emails_and_reads_nickname_as_nick_name(
    users: ResourceType, babs: dict[str, Any]
) -> None:
    result = apply_operations(
        users, babs, parse_operations(rfc.load("rfc7644-3.5.2.1-add-emails-and-nickname"))
    )
    assert result["emails"] == [
        {"value": "bjensen@example.com", "type": "work"},
        {"value": "babs@jensen.org", "type": "home"},
    ]
    assert result["nickName"] == "Babs"
    assert "nickname" not in result
    assert result["name"] == babs["name"]


def test_rfc_remove_with_a_complex_filter_removes_only_the_matching_values(
    users: ResourceType, bjensen: dict[str, Any]
) -> None:
    result = apply_operations(
        users, bjensen, parse_operations(rfc.load("rfc7644-3.5.2.2-remove-work-emails"))
    )
    assert result["emails"] == [{"value": "babs@jensen.org", "type": "home"}]


def test_rfc_replace_of_a_filtered_address_replaces_only_that_address(
    users: ResourceType, bjensen: dict[str, Any]
) -> None:
    body = rfc.load("rfc7644-3.5.2.3-replace-work-address")
    result = apply_operations(users, bjensen, parse_operations(body))
    assert result["addresses"] == [body["Operations"][0]["value"], bjensen["addresses"][1]]


def test_rfc_replace_setting_primary_resets_primary_on_the_other_values(
    users: ResourceType, bjensen: dict[str, Any]
) -> None:
    """RFC 7644 3.5.2.3: by setting "primary" to true the others are reset to false."""
    bjensen["addresses"][0]["primary"] = False
    bjensen["addresses"][1]["primary"] = True
    result = apply_operations(
        users, bjensen, parse_operations(rfc.load("rfc7644-3.5.2.3-replace-work-address"))
    )
    assert [(a["type"], a["primary"]) for a in result["addresses"]] == [("work", True), ("home", False)]


def test_rfc_replace_of_a_filtered_sub_attribute_changes_only_that_sub_attribute(
    users: ResourceType, bjensen: dict[str, Any]
) -> None:
    result = apply_operations(
        users, bjensen, parse_operations(rfc.load("rfc7644-3.5.2.3-replace-street-address"))
    )
    assert result["addresses"][0] == {**bjensen["addresses"][0], "streetAddress": "1010 Broadway Ave"}
    assert result["addresses"][1] == bjensen["addresses"][1]


def test_rfc_replace_without_path_replaces_the_named_attributes_only(
    users: ResourceType, babs: dict[str, Any]
) -> None:
    body = rfc.load("rfc7644-3.5.2.3-replace-emails-and-nickname")
    result = apply_operations(users, babs, parse_operations(body))
    assert result["emails"] == body["Operations"][0]["value"]["emails"]
    assert result["nickName"] == "Babs"
    assert result["phoneNumbers"] == babs["phoneNumbers"]
    assert result["name"] == babs["name"]


# -- add, replace and remove semantics --------------------------------------------------


def test_add_to_a_single_valued_attribute_replaces_it(users: ResourceType, bjensen: dict[str, Any]) -> None:
    assert patched(users, bjensen, {"op": "add", "path": "title", "value": "Chief"})["title"] == "Chief"


@pytest.mark.parametrize("op", ["add", "replace"])
def test_add_and_replace_on_a_complex_attribute_keep_unnamed_sub_attributes(
    users: ResourceType, bjensen: dict[str, Any], op: str
) -> None:
    """RFC 7644 3.5.2.3: sub-attributes not specified in "value" are left unchanged."""
    result = patched(users, bjensen, {"op": op, "path": "name", "value": {"givenName": "Babs"}})
    assert result["name"] == {**bjensen["name"], "givenName": "Babs"}


@pytest.mark.parametrize("op", ["add", "replace"])
def test_a_sub_attribute_path_sets_just_that_sub_attribute(
    users: ResourceType, minimal: dict[str, Any], op: str
) -> None:
    result = patched(users, minimal, {"op": op, "path": "name.familyName", "value": "Jensen"})
    assert result["name"] == {"familyName": "Jensen"}


def test_add_to_a_multi_valued_attribute_appends(users: ResourceType, bjensen: dict[str, Any]) -> None:
    result = patched(
        users, bjensen, {"op": "add", "path": "emails", "value": [{"value": "b@x.org", "type": "other"}]}
    )
    assert result["emails"] == [*bjensen["emails"], {"value": "b@x.org", "type": "other"}]


def test_add_of_a_value_already_present_changes_nothing(users: ResourceType, bjensen: dict[str, Any]) -> None:
    """RFC 7644 3.5.2.1: if the target already contains the value, no change SHOULD be made."""
    result = patched(users, bjensen, {"op": "add", "path": "emails", "value": [bjensen["emails"][1]]})
    assert result["emails"] == bjensen["emails"]


def test_add_compares_case_insensitive_values_without_case(
    users: ResourceType, bjensen: dict[str, Any]
) -> None:
    result = patched(users, bjensen, {"op": "add", "path": "emails", "value": [{"value": "BABS@Jensen.ORG"}]})
    assert [e["value"].lower() for e in result["emails"]] == ["bjensen@example.com", "babs@jensen.org"]


def test_add_of_a_present_value_with_new_sub_attributes_merges_them(
    users: ResourceType, bjensen: dict[str, Any]
) -> None:
    result = patched(
        users,
        bjensen,
        {"op": "add", "path": "emails", "value": [{"value": "babs@jensen.org", "display": "Babs"}]},
    )
    assert result["emails"][1] == {"value": "babs@jensen.org", "type": "home", "display": "Babs"}
    assert len(result["emails"]) == 2


def test_add_compares_case_exact_values_exactly(users: ResourceType, minimal: dict[str, Any]) -> None:
    """x509Certificates.value is caseExact (base64): certificates differing in case are distinct."""
    minimal["x509Certificates"] = [{"value": "TUlJQ0VSVA=="}]
    result = patched(
        users, minimal, {"op": "add", "path": "x509Certificates", "value": [{"value": "tUlJQ0VSVA=="}]}
    )
    assert result["x509Certificates"] == [{"value": "TUlJQ0VSVA=="}, {"value": "tUlJQ0VSVA=="}]


def test_replace_of_a_multi_valued_attribute_replaces_every_value(
    users: ResourceType, bjensen: dict[str, Any]
) -> None:
    result = patched(users, bjensen, {"op": "replace", "path": "emails", "value": [{"value": "new@x.org"}]})
    assert result["emails"] == [{"value": "new@x.org"}]


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "remove", "path": "emails"},
        {"op": "replace", "path": "emails", "value": []},
        {"op": "replace", "path": "emails", "value": None},
        {"op": "replace", "value": {"emails": []}},
        {"op": "remove", "path": "emails[type pr]"},
    ],
)
def test_emptying_a_multi_valued_attribute_unassigns_it(
    users: ResourceType, bjensen: dict[str, Any], operation: dict[str, Any]
) -> None:
    assert "emails" not in patched(users, bjensen, operation)


@pytest.mark.parametrize(
    ("operation", "gone"),
    [
        ({"op": "remove", "path": "title"}, "title"),
        ({"op": "replace", "path": "title", "value": None}, "title"),
        ({"op": "remove", "path": "name"}, "name"),
        ({"op": "remove", "path": "x509Certificates"}, "x509Certificates"),
    ],
)
def test_remove_unassigns_the_attribute(
    users: ResourceType, bjensen: dict[str, Any], operation: dict[str, Any], gone: str
) -> None:
    assert gone in bjensen
    assert gone not in patched(users, bjensen, operation)


def test_removing_the_last_sub_attribute_unassigns_the_complex_attribute(
    users: ResourceType, minimal: dict[str, Any]
) -> None:
    minimal["name"] = {"givenName": "Barbara"}
    assert "name" not in patched(users, minimal, {"op": "remove", "path": "name.givenName"})


def test_a_sub_attribute_path_without_filter_reaches_every_value(
    users: ResourceType, bjensen: dict[str, Any]
) -> None:
    removed = patched(users, bjensen, {"op": "remove", "path": "emails.type"})
    assert [e.get("type") for e in removed["emails"]] == [None, None]
    replaced = patched(users, bjensen, {"op": "replace", "path": "emails.type", "value": "other"})
    assert [e["type"] for e in replaced["emails"]] == ["other", "other"]


def test_a_filtered_remove_that_matches_nothing_changes_nothing(
    users: ResourceType, bjensen: dict[str, Any]
) -> None:
    result = patched(users, bjensen, {"op": "remove", "path": 'emails[type eq "other"]'})
    assert result["emails"] == bjensen["emails"]


def test_a_filtered_sub_attribute_remove_keeps_the_rest_of_the_value(
    users: ResourceType, bjensen: dict[str, Any]
) -> None:
    result = patched(users, bjensen, {"op": "remove", "path": 'emails[type eq "work"].value'})
    assert result["emails"] == [{"type": "work", "primary": True}, bjensen["emails"][1]]


@pytest.mark.parametrize("op", ["add", "replace"])
def test_a_filtered_sub_attribute_path_changes_every_matching_value(
    users: ResourceType, bjensen: dict[str, Any], op: str
) -> None:
    result = patched(
        users, bjensen, {"op": op, "path": 'phoneNumbers[type ne "fax"].display', "value": "call"}
    )
    assert [p.get("display") for p in result["phoneNumbers"]] == ["call", "call"]
    assert [p["value"] for p in result["phoneNumbers"]] == ["555-555-5555", "555-555-4444"]


def test_filters_in_paths_follow_case_exactness(users: ResourceType, bjensen: dict[str, Any]) -> None:
    result = patched(
        users, bjensen, {"op": "replace", "path": 'emails[value eq "BABS@JENSEN.ORG"].type', "value": "other"}
    )
    assert result["emails"][1]["type"] == "other"


@pytest.mark.parametrize(
    ("operation", "key", "value"),
    [
        ({"op": "replace", "path": "NAME.FAMILYNAME", "value": "Smith"}, "name", {"familyName": "Smith"}),
        (
            {"op": "add", "path": 'EMAILS[TYPE EQ "work"].VALUE', "value": "b@x.org"},
            "emails",
            [{"type": "work", "value": "b@x.org"}],
        ),
        ({"op": "add", "path": "NICKNAME", "value": "Babs"}, "nickName", "Babs"),
        ({"op": "replace", "path": f"{USER_SCHEMA.lower()}:title", "value": "Chief"}, "title", "Chief"),
        ({"op": "add", "value": {"DisplayName": "Babs"}}, "displayName", "Babs"),
        ({"op": "add", "value": {"NAME.GIVENNAME": "Barbara"}}, "name", {"givenName": "Barbara"}),
    ],
)
def test_paths_are_read_in_any_case_and_written_canonically(
    users: ResourceType, minimal: dict[str, Any], operation: dict[str, Any], key: str, value: Any
) -> None:
    result = patched(users, minimal, operation)
    assert result == {"userName": "bjensen", key: value}


def test_operations_apply_in_order(users: ResourceType, minimal: dict[str, Any]) -> None:
    result = patched(
        users,
        minimal,
        {"op": "add", "path": "title", "value": "First"},
        {"op": "remove", "path": "title"},
        {"op": "add", "path": "nickName", "value": "Babs"},
        {"op": "replace", "path": "nickName", "value": "B"},
    )
    assert "title" not in result
    assert result["nickName"] == "B"


def test_the_input_resource_is_never_modified(users: ResourceType, bjensen: dict[str, Any]) -> None:
    before = rfc.load("rfc7643-8.2-user-full")
    patched(
        users,
        bjensen,
        {"op": "remove", "path": "emails"},
        {"op": "replace", "path": "name.givenName", "value": "B"},
    )
    with pytest.raises(ScimError):
        patched(
            users,
            bjensen,
            {"op": "remove", "path": "addresses"},
            {"op": "replace", "path": "nope", "value": 1},
        )
    assert bjensen == before


def test_the_result_is_canonical_and_keeps_no_server_owned_attributes(
    users: ResourceType, bjensen: dict[str, Any]
) -> None:
    result = patched(users, bjensen, {"op": "replace", "path": "title", "value": "Chief"})
    assert not {"id", "meta", "groups", "schemas", "password"} & result.keys()


def test_a_password_is_accepted_and_never_kept(users: ResourceType, minimal: dict[str, Any]) -> None:
    for operation in (
        {"op": "replace", "path": "password", "value": "s3cret"},
        {"op": "add", "value": {"password": "x"}},
    ):
        assert "password" not in patched(users, minimal, operation)


# -- value-path targets that match nothing -------------------------------------------


@pytest.mark.parametrize("op", ["add", "replace", "Add", "Replace"])
@pytest.mark.parametrize(
    ("path", "value", "created"),
    [
        ('emails[type eq "work"].value', "b@x.org", {"type": "work", "value": "b@x.org"}),
        ('phoneNumbers[type eq "mobile"].value', "555-0100", {"type": "mobile", "value": "555-0100"}),
        (
            'addresses[type eq "work"].streetAddress',
            "1 Main St",
            {"type": "work", "streetAddress": "1 Main St"},
        ),
        (
            'emails[type eq "work" and primary eq true].value',
            "b@x.org",
            {"type": "work", "primary": True, "value": "b@x.org"},
        ),
        ('addresses[type eq "home"]', {"locality": "Hollywood"}, {"type": "home", "locality": "Hollywood"}),
        ('roles[value eq "admin"].display', "Admin", {"value": "admin", "display": "Admin"}),
    ],
)
def test_an_equality_value_path_that_matches_nothing_creates_the_value_it_describes(
    users: ResourceType, minimal: dict[str, Any], op: str, path: str, value: Any, created: dict[str, Any]
) -> None:
    """Entra adds a user's first work email as ``emails[type eq "work"].value``."""
    attr = path.partition("[")[0]
    assert patched(users, minimal, {"op": op, "path": path, "value": value})[attr] == [created]


def test_a_created_value_joins_the_existing_ones(users: ResourceType, bjensen: dict[str, Any]) -> None:
    result = patched(
        users, bjensen, {"op": "add", "path": 'emails[type eq "other"].value', "value": "o@x.org"}
    )
    assert result["emails"] == [*bjensen["emails"], {"type": "other", "value": "o@x.org"}]


@pytest.mark.parametrize("op", ["add", "replace"])
@pytest.mark.parametrize(
    "path",
    [
        'emails[type co "oth"].value',
        'emails[type eq "other" or type eq "pager"].value',
        'emails[not (type eq "work")].display',
        "emails[display pr].value",
        'emails[type ne "work"].value',
    ],
)
def test_any_other_value_path_that_matches_nothing_is_no_target(
    users: ResourceType, babs: dict[str, Any], op: str, path: str
) -> None:
    """RFC 7644 3.5.2.3: a value filter without a match fails with noTarget."""
    with pytest.raises(NoTarget) as caught:
        patched(users, babs, {"op": op, "path": path, "value": "x"})
    assert caught.value.scim_type == "noTarget"


# -- remove with a value list ---------------------------------------------------------


def test_remove_with_a_value_list_removes_only_those_values(
    users: ResourceType, bjensen: dict[str, Any]
) -> None:
    result = patched(
        users, bjensen, {"op": "remove", "path": "emails", "value": [{"value": "BABS@jensen.org"}]}
    )
    assert result["emails"] == [bjensen["emails"][0]]


def test_remove_with_a_single_value_object_removes_that_value(
    users: ResourceType, bjensen: dict[str, Any]
) -> None:
    result = patched(
        users, bjensen, {"op": "Remove", "path": "phoneNumbers", "value": {"value": "555-555-4444"}}
    )
    assert result["phoneNumbers"] == [bjensen["phoneNumbers"][0]]


# -- primary --------------------------------------------------------------------------


def test_adding_a_primary_value_demotes_the_previous_primary(
    users: ResourceType, bjensen: dict[str, Any]
) -> None:
    result = patched(
        users, bjensen, {"op": "add", "path": "emails", "value": [{"value": "n@x.org", "primary": "True"}]}
    )
    assert [(e["value"], e.get("primary")) for e in result["emails"]] == [
        ("bjensen@example.com", False),
        ("babs@jensen.org", None),
        ("n@x.org", True),
    ]


def test_making_a_present_value_primary_demotes_the_previous_primary(
    users: ResourceType, bjensen: dict[str, Any]
) -> None:
    result = patched(
        users, bjensen, {"op": "replace", "path": 'emails[type eq "home"].primary', "value": True}
    )
    assert [e.get("primary") for e in result["emails"]] == [False, True]


@pytest.mark.parametrize(
    "operation",
    [
        {
            "op": "add",
            "path": "emails",
            "value": [{"value": "a@x", "primary": True}, {"value": "b@x", "primary": True}],
        },
        {
            "op": "replace",
            "path": "emails",
            "value": [{"value": "a@x", "primary": "true"}, {"value": "b@x", "primary": True}],
        },
        {
            "op": "replace",
            "value": {"emails": [{"value": "a@x", "primary": True}, {"value": "b@x", "primary": True}]},
        },
    ],
)
def test_more_than_one_primary_in_a_value_is_invalid_value(
    users: ResourceType, bjensen: dict[str, Any], operation: dict[str, Any]
) -> None:
    with pytest.raises(InvalidValue, match="primary"):
        patched(users, bjensen, operation)


# -- IdP dialects ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "active"),
    [
        ({"op": "Replace", "path": "active", "value": "False"}, False),
        ({"op": "Replace", "path": "active", "value": "True"}, True),
        ({"op": "replace", "path": "active", "value": False}, False),
        ({"op": "replace", "value": {"active": False}}, False),
        ({"op": "replace", "value": {"active": "false"}}, False),
        ({"op": "Add", "value": {"Active": "TRUE"}}, True),
    ],
)
def test_booleans_may_arrive_as_strings(
    users: ResourceType, minimal: dict[str, Any], operation: dict[str, Any], active: bool
) -> None:
    """Entra sends ``"value": "False"``; Okta deactivates with a path-less replace."""
    assert patched(users, minimal, operation)["active"] is active


def test_pathless_values_may_use_dotted_and_urn_qualified_keys(
    users: ResourceType, minimal: dict[str, Any]
) -> None:
    """Entra with ``aadOptscim062020`` sends one path-less replace with keys like these."""
    result = patched(
        users,
        minimal,
        {
            "op": "replace",
            "value": {
                "displayName": "Babs",
                "name.givenName": "Barbara",
                "name.familyName": "Jensen",
                f"{ENTERPRISE_SCHEMA}:employeeNumber": "701984",
                f"{ENTERPRISE_SCHEMA}:manager": "boss-id",
                f"{USER_SCHEMA}:title": "Tour Guide",
            },
        },
    )
    assert result["name"] == {"givenName": "Barbara", "familyName": "Jensen"}
    assert result["title"] == "Tour Guide"
    assert result[ENTERPRISE_SCHEMA] == {"employeeNumber": "701984", "manager": {"value": "boss-id"}}


@pytest.mark.parametrize("urn", [ENTERPRISE_SCHEMA, ENTERPRISE_SCHEMA.lower()])
def test_a_pathless_extension_object_may_hold_dotted_keys(
    users: ResourceType, enterprise_bjensen: dict[str, Any], urn: str
) -> None:
    result = patched(
        users,
        enterprise_bjensen,
        {"op": "replace", "value": {urn: {"department": "Sales", "manager.value": "boss"}}},
    )
    assert result[ENTERPRISE_SCHEMA]["department"] == "Sales"
    assert result[ENTERPRISE_SCHEMA]["manager"] == {
        "value": "boss",
        "$ref": "https://example.com/v2/Users/26118915-6090-4610-87e4-49d8ca9f808d",
    }
    assert result[ENTERPRISE_SCHEMA]["costCenter"] == "4130"


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "Add", "path": f"{ENTERPRISE_SCHEMA}:manager", "value": "boss-id"},
        {"op": "add", "path": f"{ENTERPRISE_SCHEMA}:manager", "value": {"value": "boss-id"}},
        {"op": "Add", "path": "manager", "value": [{"$ref": None, "value": "boss-id"}]},
        {"op": "replace", "path": f"{ENTERPRISE_SCHEMA}:manager.value", "value": "boss-id"},
        {"op": "add", "value": {ENTERPRISE_SCHEMA: {"manager": "boss-id"}}},
    ],
)
def test_entra_manager_forms_all_set_the_manager_value(
    users: ResourceType, minimal: dict[str, Any], operation: dict[str, Any]
) -> None:
    assert patched(users, minimal, operation)[ENTERPRISE_SCHEMA] == {"manager": {"value": "boss-id"}}


# Entra clears a manager with a value filter on the single-valued manager attribute
# (quoted from live traffic in thomaspoignant/scim-patch#453).
@pytest.mark.parametrize(
    "path", ['manager[value eq "boss-id"]', f'{ENTERPRISE_SCHEMA}:manager[value eq "boss-id"]']
)
def test_a_value_filter_on_the_manager_removes_it_when_it_matches(
    users: ResourceType, minimal: dict[str, Any], path: str
) -> None:
    minimal[ENTERPRISE_SCHEMA] = {"manager": {"value": "boss-id"}, "department": "Tours"}
    assert patched(users, minimal, {"op": "remove", "path": path})[ENTERPRISE_SCHEMA] == {
        "department": "Tours"
    }


def test_a_value_filter_on_the_manager_that_does_not_match_removes_nothing(
    users: ResourceType, minimal: dict[str, Any]
) -> None:
    minimal[ENTERPRISE_SCHEMA] = {"manager": {"value": "boss-id"}}
    result = patched(users, minimal, {"op": "remove", "path": 'manager[value eq "someone-else"]'})
    assert result[ENTERPRISE_SCHEMA] == {"manager": {"value": "boss-id"}}


def test_a_value_filter_on_a_single_valued_complex_attribute_selects_its_sub_attribute(
    users: ResourceType, minimal: dict[str, Any]
) -> None:
    minimal["name"] = {"givenName": "Barbara", "familyName": "Jensen"}
    result = patched(
        users, minimal, {"op": "replace", "path": 'name[givenName eq "barbara"].familyName', "value": "J"}
    )
    assert result["name"] == {"givenName": "Barbara", "familyName": "J"}
    removed = patched(users, minimal, {"op": "remove", "path": 'name[givenName eq "Barbara"].familyName'})
    assert removed["name"] == {"givenName": "Barbara"}


def test_adding_through_a_value_filter_sets_the_value_it_describes_when_there_is_none(
    users: ResourceType, minimal: dict[str, Any]
) -> None:
    ref = "https://example.com/v2/Users/boss-id"
    result = patched(
        users, minimal, {"op": "add", "path": 'manager[value eq "boss-id"]', "value": {"$ref": ref}}
    )
    assert result[ENTERPRISE_SCHEMA] == {"manager": {"value": "boss-id", "$ref": ref}}


def test_replacing_through_a_value_filter_that_does_not_match_the_value_is_no_target(
    users: ResourceType, minimal: dict[str, Any]
) -> None:
    minimal[ENTERPRISE_SCHEMA] = {"manager": {"value": "boss-id"}}
    with pytest.raises(NoTarget):
        patched(users, minimal, {"op": "replace", "path": 'manager[value eq "x"].value', "value": "y"})


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "remove", "path": f"{ENTERPRISE_SCHEMA}:department"},
        {"op": "replace", "path": f"{ENTERPRISE_SCHEMA}:department", "value": None},
        {"op": "remove", "path": "department"},
    ],
)
def test_removing_the_last_extension_attribute_drops_the_extension(
    users: ResourceType, minimal: dict[str, Any], operation: dict[str, Any]
) -> None:
    minimal[ENTERPRISE_SCHEMA] = {"department": "Tours"}
    assert ENTERPRISE_SCHEMA not in patched(users, minimal, operation)


@pytest.mark.parametrize(
    "value",
    [
        {"id": "client-id", "title": "Guide"},
        {"meta": {"version": 'W/"9"'}, "title": "Guide"},
        {"schemas": [USER_SCHEMA], "title": "Guide"},
        {"groups": [{"value": "g1"}], "title": "Guide"},
        {f"{ENTERPRISE_SCHEMA}:manager.displayName": "John", "title": "Guide"},
    ],
)
def test_pathless_values_may_repeat_server_owned_attributes_which_are_ignored(
    users: ResourceType, minimal: dict[str, Any], value: dict[str, Any]
) -> None:
    """Okta's path-less replace repeats the resource's ``id``."""
    result = patched(users, minimal, {"op": "replace", "value": value})
    assert result == {"userName": "bjensen", "title": "Guide"}


# -- errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "favoriteColor", "value": "blue"},
        {"op": "remove", "path": "favoriteColor"},
        {"op": "replace", "path": "name.nickname", "value": "x"},
        {"op": "replace", "path": "emails.nope", "value": "x"},
        {"op": "replace", "path": 'emails[type eq "work"].nope', "value": "x"},
        {"op": "replace", "path": 'emails[nope eq "work"].value', "value": "x"},
        {"op": "remove", "path": 'emails[value.sub eq "x"]'},
        {"op": "replace", "path": "urn:example:unknown:2.0:User:title", "value": "x"},
        {"op": "replace", "path": f"{ENTERPRISE_SCHEMA}:userName", "value": "x"},
        {"op": "replace", "value": {"favoriteColor": "blue"}},
        {"op": "add", "value": {"name.nickname": "x"}},
        {"op": "add", "value": {ENTERPRISE_SCHEMA: {"favoriteColor": "blue"}}},
    ],
)
def test_an_unknown_attribute_is_invalid_path(
    users: ResourceType, bjensen: dict[str, Any], operation: dict[str, Any]
) -> None:
    with pytest.raises(InvalidPath) as caught:
        patched(users, bjensen, operation)
    assert caught.value.scim_type == "invalidPath"


@pytest.mark.parametrize("path", ['title[value eq "x"]', 'userName[value eq "x"].value'])
def test_a_value_filter_on_a_single_valued_simple_attribute_is_invalid_path(
    users: ResourceType, bjensen: dict[str, Any], path: str
) -> None:
    with pytest.raises(InvalidPath):
        patched(users, bjensen, {"op": "replace", "path": path, "value": "x"})


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "active", "value": "yes"},
        {"op": "replace", "path": "active", "value": 1},
        {"op": "replace", "path": "userName", "value": {"value": "b"}},
        {"op": "replace", "path": "userName", "value": ["a", "b"]},
        {"op": "replace", "path": "name", "value": "Barbara Jensen"},
        {"op": "add", "path": "emails", "value": [{"value": "a@x", "primary": "maybe"}]},
        {"op": "add", "path": 'emails[type eq "work"]', "value": ["a@x"]},
        {"op": "replace", "path": 'emails[type eq "work"].primary', "value": "sometimes"},
        {"op": "replace", "value": {"active": "yes"}},
        {"op": "add", "value": {ENTERPRISE_SCHEMA: {"manager": ["a", "b"]}}},
        {"op": "replace", "path": "userName", "value": ""},
    ],
)
def test_a_value_of_the_wrong_type_is_invalid_value(
    users: ResourceType, bjensen: dict[str, Any], operation: dict[str, Any]
) -> None:
    with pytest.raises(InvalidValue) as caught:
        patched(users, bjensen, operation)
    assert caught.value.scim_type == "invalidValue"


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "id", "value": "other"},
        {"op": "remove", "path": "id"},
        {"op": "replace", "path": f"{USER_SCHEMA}:id", "value": "other"},
        {"op": "remove", "path": "meta"},
        {"op": "replace", "path": "meta.lastModified", "value": "2020-01-01T00:00:00Z"},
        {"op": "add", "path": "groups", "value": [{"value": "g1"}]},
        {"op": "remove", "path": 'groups[value eq "e9e30dba-f08f-4109-8486-d5c6a331660a"]'},
        {"op": "replace", "path": "groups.display", "value": "x"},
        {"op": "replace", "path": f"{ENTERPRISE_SCHEMA}:manager.displayName", "value": "John"},
    ],
)
def test_an_explicit_path_to_a_read_only_attribute_is_mutability(
    users: ResourceType, bjensen: dict[str, Any], operation: dict[str, Any]
) -> None:
    """RFC 7644 3.5.2: a client MUST NOT modify a "readOnly" attribute."""
    with pytest.raises(Mutability) as caught:
        patched(users, bjensen, operation)
    assert caught.value.scim_type == "mutability"


@pytest.mark.parametrize(
    ("kind", "operation"),
    [
        ("User", {"op": "remove", "path": "userName"}),
        ("User", {"op": "replace", "path": "userName", "value": None}),
        ("User", {"op": "replace", "value": {"userName": None}}),
        ("Group", {"op": "remove", "path": "displayName"}),
    ],
)
def test_unassigning_a_required_attribute_is_mutability(
    users: ResourceType,
    groups: ResourceType,
    bjensen: dict[str, Any],
    tour_guides: dict[str, Any],
    kind: str,
    operation: dict[str, Any],
) -> None:
    """RFC 7644 3.5.2.2: an attribute that is removed or becomes unassigned and is required
    SHALL fail with scimType "mutability"."""
    rt, resource = (users, bjensen) if kind == "User" else (groups, tour_guides)
    with pytest.raises(Mutability) as caught:
        patched(rt, resource, operation)
    assert caught.value.scim_type == "mutability"


# -- Groups: membership changes --------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "changes"),
    [
        ("rfc7644-3.5.2.1-add-member", [MemberChange("add", (BABS,), (None,))]),
        ("rfc7644-3.5.2.2-remove-one-member", [MemberChange("remove", ("2819c223-7f76-...413861904646",))]),
        ("rfc7644-3.5.2.2-remove-all-members", [MemberChange("replace")]),
        (
            "rfc7644-3.5.2.2-remove-and-add-member",
            [MemberChange("remove", (BABS,)), MemberChange("add", (JAMES,), (None,))],
        ),
        (
            "rfc7644-3.5.2.3-remove-then-add-all-members",
            [MemberChange("replace"), MemberChange("add", (BABS, JAMES), (None, None))],
        ),
        (
            "rfc7644-3.5.2.3-replace-members",
            [MemberChange("replace", ("2819c223...413861904646", "08e1d05d...473d93df9210"), (None, None))],
        ),
    ],
)
def test_rfc_member_operations_become_membership_changes(
    groups: ResourceType, name: str, changes: list[MemberChange]
) -> None:
    attr_ops, got = split_group_operations(groups, parse_operations(rfc.load(name)))
    assert attr_ops == []
    assert got == changes


@pytest.mark.parametrize(
    ("operation", "change"),
    [
        # Entra, as its provisioning docs print it ("$ref": null, no type)
        (
            {"op": "Add", "path": "members", "value": [{"$ref": None, "value": "u1"}]},
            MemberChange("add", ("u1",), (None,)),
        ),
        (
            {"op": "Remove", "path": "members", "value": [{"$ref": None, "value": "u1"}, {"value": "u2"}]},
            MemberChange("remove", ("u1", "u2"), (None, None)),
        ),
        # Okta
        (
            {"op": "replace", "path": "members", "value": [{"value": "u1", "display": "a@okta.local"}]},
            MemberChange("replace", ("u1",), (None,)),
        ),
        ({"op": "remove", "path": 'members[value eq "u2"]'}, MemberChange("remove", ("u2",))),
        # a single member object, and bare ids
        ({"op": "add", "path": "members", "value": {"value": "u1"}}, MemberChange("add", ("u1",), (None,))),
        (
            {"op": "add", "path": "members", "value": ["u1", "u2"]},
            MemberChange("add", ("u1", "u2"), (None, None)),
        ),
        # member types, in any case
        (
            {
                "op": "add",
                "path": "members",
                "value": [{"value": "u1", "type": "user"}, {"value": "g1", "TYPE": "GROUP"}],
            },
            MemberChange("add", ("u1", "g1"), ("User", "Group")),
        ),
        ({"op": "add", "path": "MEMBERS", "value": [{"VALUE": "u1"}]}, MemberChange("add", ("u1",), (None,))),
        (
            {"op": "add", "path": f"{GROUP_SCHEMA}:members", "value": [{"value": "u1"}]},
            MemberChange("add", ("u1",), (None,)),
        ),
    ],
)
def test_idp_member_operations_become_membership_changes(
    groups: ResourceType, operation: dict[str, Any], change: MemberChange
) -> None:
    assert member_changes(groups, operation) == [change]


@pytest.mark.parametrize(
    ("value", "change"),
    [
        ([], MemberChange("replace")),
        (None, MemberChange("replace")),
        ([{"value": "u1"}, {"value": "u2"}], MemberChange("replace", ("u1", "u2"), (None, None))),
    ],
)
def test_replace_members_sets_the_whole_membership(
    groups: ResourceType, value: Any, change: MemberChange
) -> None:
    assert member_changes(groups, {"op": "replace", "path": "members", "value": value}) == [change]


@pytest.mark.parametrize(
    ("path", "change"),
    [
        ('members[value eq "u1"]', MemberChange("remove", ("u1",))),
        ('members[VALUE EQ "u1"]', MemberChange("remove", ("u1",))),
        ('members[value eq "u1" or value eq "u2"]', MemberChange("remove", ("u1", "u2"))),
        ('members[value eq "U1"]', MemberChange("remove", ("U1",))),
    ],
)
def test_filtered_member_removes_by_id_remove_just_those_ids(
    groups: ResourceType, path: str, change: MemberChange
) -> None:
    assert member_changes(groups, {"op": "remove", "path": path}) == [change]


@pytest.mark.parametrize(
    "path",
    [
        'members[type eq "Group"]',
        'members[value eq "u1" and type eq "User"]',
        'members[value ne "u1"]',
        'members[value sw "u"]',
        'members[not (type eq "User")]',
        'members[value eq "u1" or type eq "Group"]',
    ],
)
def test_other_filtered_member_removes_carry_their_filter(groups: ResourceType, path: str) -> None:
    (change,) = member_changes(groups, {"op": "remove", "path": path})
    assert change.kind == "remove_where"
    assert change.filter is not None
    assert change.ids == ()


@pytest.mark.parametrize(
    "path",
    [
        'members[nope eq "u1"]',
        'members[display co "Babs"]',
        'members[value.x eq "u1"]',
        "members[not (nope pr)]",
        'members[value eq "u1" or nope pr]',
    ],
)
def test_a_member_filter_on_an_unknown_sub_attribute_is_invalid_path(groups: ResourceType, path: str) -> None:
    with pytest.raises(InvalidPath):
        member_changes(groups, {"op": "remove", "path": path})


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": 'members[value eq "u1"]', "value": {"value": "u2"}},
        {"op": "add", "path": 'members[value eq "u1"]', "value": {"value": "u2"}},
        {"op": "replace", "path": 'members[value eq "u1"].value', "value": "u2"},
        {"op": "replace", "path": "members.value", "value": "u2"},
        {"op": "replace", "path": f'members[value eq "{BABS}"].displayName', "value": "Babs"},
    ],
)
def test_members_cannot_be_modified_in_place(groups: ResourceType, operation: dict[str, Any]) -> None:
    """members.value and members.type are immutable (RFC 7643 8.7.1)."""
    with pytest.raises(Mutability):
        member_changes(groups, operation)


@pytest.mark.parametrize(
    "value",
    [
        [{"display": "no value"}],
        [{"value": ""}],
        [{"value": 42}],
        [{"value": None}],
        [{"value": "u1", "type": "Robot"}],
        [42],
        [["u1"]],
    ],
)
@pytest.mark.parametrize("op", ["add", "replace", "remove"])
def test_a_member_without_a_string_id_or_with_an_unknown_type_is_invalid_value(
    groups: ResourceType, value: Any, op: str
) -> None:
    with pytest.raises(InvalidValue):
        member_changes(groups, {"op": op, "path": "members", "value": value})


def test_pathless_group_values_split_members_from_attributes(groups: ResourceType) -> None:
    """Okta's path-less replace carries the id and displayName; members may ride along."""
    attr_ops, changes = split_group_operations(
        groups,
        parse_operations(
            message(
                {
                    "op": "replace",
                    "value": {"id": "g1", "displayName": "Tour Guides", "Members": [{"value": "u1"}]},
                },
                {"op": "add", "value": {"members": [{"value": "u2"}]}},
            )
        ),
    )
    assert attr_ops == [Operation("replace", None, {"id": "g1", "displayName": "Tour Guides"})]
    assert changes == [MemberChange("replace", ("u1",), (None,)), MemberChange("add", ("u2",), (None,))]


def test_group_attribute_and_member_operations_each_keep_their_order(groups: ResourceType) -> None:
    attr_ops, changes = split_group_operations(
        groups,
        parse_operations(
            message(
                {"op": "remove", "path": "members"},
                {"op": "replace", "path": "displayName", "value": "A"},
                {"op": "add", "path": "members", "value": [{"value": "u1"}]},
                {"op": "replace", "path": "externalId", "value": "e"},
                {"op": "remove", "path": "members", "value": [{"value": "u1"}]},
            )
        ),
    )
    assert [(op.op, str(op.path.attr) if op.path else None) for op in attr_ops] == [
        ("replace", "displayName"),
        ("replace", "externalId"),
    ]
    assert [c.kind for c in changes] == ["replace", "add", "remove"]


def test_group_attribute_operations_apply_to_the_group_document(
    groups: ResourceType, tour_guides: dict[str, Any]
) -> None:
    attr_ops, _ = split_group_operations(
        groups,
        parse_operations(
            message(
                {"op": "Replace", "path": "displayName", "value": "Guides"},
                {"op": "replace", "value": {"id": tour_guides["id"], "externalId": "ext-1"}},
            )
        ),
    )
    result = apply_operations(groups, {k: v for k, v in tour_guides.items() if k != "members"}, attr_ops)
    assert result == {"displayName": "Guides", "externalId": "ext-1"}


def test_a_filtered_member_remove_keeps_the_parsed_filter(groups: ResourceType) -> None:
    (change,) = member_changes(groups, {"op": "remove", "path": 'members[type eq "Group"]'})
    assert change.filter == Compare(AttrPath("type"), "eq", "Group")


def test_adjacent_member_adds_and_removes_merge_into_one_change(groups: ResourceType) -> None:
    """10,000 one-member operations cost one statement, not 10,000."""
    changes = member_changes(
        groups,
        *({"op": "add", "path": "members", "value": [{"value": f"u{i}"}]} for i in range(3)),
        *({"op": "remove", "path": f'members[value eq "u{i}"]'} for i in range(2)),
        {"op": "add", "path": "members", "value": [{"value": "u9", "type": "User"}]},
    )
    assert changes == [
        MemberChange("add", ("u0", "u1", "u2"), (None, None, None)),
        MemberChange("remove", ("u0", "u1")),
        MemberChange("add", ("u9",), ("User",)),
    ]


def test_more_operations_than_the_limit_are_refused_before_any_is_read() -> None:
    operations = [{"op": "remove", "path": "title"}] * 3 + [{"op": "bogus"}]
    assert len(parse_operations(message(*operations[:3]), max_operations=3)) == 3
    with pytest.raises(PayloadTooLarge, match="at most 3 operations; this one has 4"):
        parse_operations(message(*operations), max_operations=3)
