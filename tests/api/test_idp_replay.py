"""Replay what Okta, Microsoft Entra ID and OneLogin send, as documentation prints it.

Every file under ``tests/data/idp/`` is one documented request sequence (see
``tests/support/replay.py`` for the format). Each is replayed against a fresh directory,
checking the IdP's documented expectations step by step and, on every response, our own
contract where it is stricter than what the IdP accepts (a Group PATCH answers 204, a
User PATCH 200 with the resource, ...). The tests after the parametrized one prove the
behaviour a sequence implies but the IdP never reads back itself.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.replay import (
    Exchange,
    Replay,
    ScimClient,
    Sequence,
    describe,
    encode_path,
    fill,
    load_sequences,
    run_sequence,
)

SEQUENCES = {sequence.id: sequence for sequence in load_sequences()}

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SCIM_JSON = "application/scim+json"


def assert_kubescim_contract(exchange: Exchange) -> None:
    """Check one response against our contract, beyond what the IdP documents."""
    request, response = exchange.request, exchange.response
    status, where = response.status_code, describe(exchange)
    collection, _, resource_id = request.resource_path.strip("/").partition("/")
    if response.data:
        assert response.mimetype == SCIM_JSON, where
        assert "password" not in json.dumps(exchange.body), f"password returned\n{where}"
    if status >= 400:
        assert ERROR in exchange.body["schemas"], where
        assert exchange.body["status"] == str(status), f"status must be a string\n{where}"
        if status == 409:
            assert exchange.body.get("scimType") == "uniqueness", where
        return
    if request.method == "POST":
        assert status == 201, where
        location = response.headers.get("Location", "")
        assert location.endswith(f"/{collection}/{exchange.body['id']}"), where
    elif request.method == "DELETE":
        assert (status, response.data) == (204, b""), where
    elif request.method == "PATCH" and collection == "Groups":
        if not request.query_names & {"attributes", "excludedAttributes"}:
            assert (status, response.data) == (204, b""), where
    elif request.method in ("PATCH", "PUT"):
        assert status == 200, where
        assert exchange.body["id"] == resource_id, where
    elif request.method == "GET" and not resource_id:
        body = exchange.body
        assert LIST_RESPONSE in body["schemas"], where
        for key in ("totalResults", "startIndex", "itemsPerPage"):
            assert type(body[key]) is int, f"{key} must be an integer\n{where}"
        assert isinstance(body["Resources"], list), where
        assert len(body["Resources"]) == body["itemsPerPage"] <= body["totalResults"], where
    elif request.method == "GET":
        assert exchange.body["id"] == resource_id, where


def replay(scim: ScimClient, sequence_id: str) -> Replay:
    """Replay one data file against the directory behind ``scim``."""
    return run_sequence(scim, SEQUENCES[sequence_id], check=assert_kubescim_contract)


def get_json(scim: ScimClient, path: str) -> Any:
    """GET ``path`` (query values encoded here) and return its body, asserting 200."""
    response = scim.get(encode_path(path))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json(force=True)


def member_ids(scim: ScimClient, group_id: str) -> list[str]:
    """The member ids of a group, in the order the server lists them."""
    return [member["value"] for member in get_json(scim, f"/Groups/{group_id}").get("members", [])]


@pytest.mark.parametrize("sequence", list(SEQUENCES.values()), ids=list(SEQUENCES))
def test_idp_sequence_gets_the_documented_responses(scim: ScimClient, sequence: Sequence) -> None:
    result = run_sequence(scim, sequence, check=assert_kubescim_contract)

    assert [exchange.step for exchange in result.exchanges] == list(sequence.steps)


def test_data_files_cite_their_source_and_resolve_every_placeholder() -> None:
    assert {sequence.id.partition("/")[0] for sequence in SEQUENCES.values()} == {
        "okta",
        "entra",
        "entra-aadoptscim062020",
        "onelogin",
    }
    for sequence in SEQUENCES.values():
        raw = json.loads(sequence.file.read_text(encoding="utf-8"))
        assert raw["retrieved_from"].startswith("github:"), sequence.id
        known = set(sequence.variables)
        for step in sequence.steps:
            assert step.source[0].startswith("https://"), step.name
            assert step.source[1], step.name
            fill(
                [step.request, {k: v for k, v in step.expect.items() if k != "capture"}],
                {name: "x" for name in known},
            )
            known |= set(step.expect.get("capture", {}))
            if step.request["method"] == "PATCH":
                assert step.request["body"]["schemas"] == [PATCH_OP], step.name


# --- Microsoft Entra ID ---------------------------------------------------------------


def test_entra_remove_members_with_a_value_list_keeps_the_other_members(scim: ScimClient) -> None:
    result = replay(scim, "entra/group-membership")

    assert member_ids(scim, result.values["group_id"]) == [result.values["user_c"]]


def test_entra_flagged_remove_by_value_filter_keeps_the_other_member(scim: ScimClient) -> None:
    result = replay(scim, "entra-aadoptscim062020/group-membership")

    assert member_ids(scim, result.values["group_id"]) == [result.values["user_b"]]


def test_entra_string_false_deactivates_the_user_with_a_boolean(scim: ScimClient) -> None:
    result = replay(scim, "entra/user-patch-forms")

    user = get_json(scim, f"/Users/{result.values['user_id']}")
    assert user["active"] is False
    assert user["nickName"] == "Babs"
    assert user[ENTERPRISE]["employeeNumber"] == "Eqpj"


def test_entra_deactivated_user_is_still_found_by_its_matching_attribute(
    scim: ScimClient,
) -> None:
    result = replay(scim, "entra/user-patch-forms")

    found = get_json(scim, '/Users?filter=userName eq "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"')
    assert found["totalResults"] == 1
    assert found["Resources"][0]["id"] == result.values["user_id"]
    assert found["Resources"][0]["active"] is False


def test_entra_flagged_path_less_replace_stores_dotted_and_urn_keys_as_nested_attributes(
    scim: ScimClient,
) -> None:
    result = replay(scim, "entra-aadoptscim062020/user-patch-forms")

    user = get_json(scim, f"/Users/{result.values['user_id']}")
    assert user["displayName"] == "Bjfe"
    assert user["name"]["givenName"] == "Kkom"
    assert user["name"]["familyName"] == "Unua"
    assert user[ENTERPRISE]["employeeNumber"] == "Aklq"
    assert [e["value"] for e in user["emails"]] == ["TestMhvaes@test.microsoft.com"]
    assert "name.givenName" not in user
    assert f"{ENTERPRISE}:employeeNumber" not in user


def test_entra_manager_patches_link_the_manager_and_a_value_filter_remove_clears_it(
    scim: ScimClient,
) -> None:
    result = replay(scim, "entra/user-manager")

    for step in (
        "Example 5. Request from Microsoft Entra ID to an SCIM endpoint to update a user",
        "Add manager by URN path with a bare id (reported Entra request)",
    ):
        assert result.exchange(step).body[ENTERPRISE]["manager"]["value"] == result.values["manager_id"]
    user = get_json(scim, f"/Users/{result.values['user_id']}")
    assert "manager" not in user.get(ENTERPRISE, {})
    assert user["userName"] == "Test_User_22cc22cc-dd33-ee44-ff55-66aa66aa66aa"


def test_entra_work_email_uniqueness_filter_finds_only_the_user_with_that_work_email(
    scim: ScimClient,
) -> None:
    result = replay(scim, "entra/user-uniqueness-filter")
    home = scim.post(
        "/Users",
        json={"userName": "other", "emails": [{"value": "user@contoso.com", "type": "home"}]},
    )
    assert home.status_code == 201

    found = get_json(scim, '/Users?filter=emails[type eq "work"].value eq "user@contoso.com"')
    assert found["totalResults"] == 0
    again = result.exchange("Uniqueness query on the work email: found").request.path
    assert [r["id"] for r in get_json(scim, again)["Resources"]] == [result.values["user_id"]]


def test_entra_deleted_user_is_gone_from_reads_and_filters(scim: ScimClient) -> None:
    result = replay(scim, "entra/user-lifecycle")

    assert scim.get(f"/Users/{result.values['user_id']}").status_code == 404
    found = get_json(scim, '/Users?filter=userName eq "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"')
    assert found["totalResults"] == 0


def test_entra_deleted_group_is_gone_from_reads_and_filters(scim: ScimClient) -> None:
    result = replay(scim, "entra/group-lifecycle")

    assert scim.get(f"/Groups/{result.values['group_id']}").status_code == 404
    found = get_json(
        scim,
        "/Groups?excludedAttributes=members&filter=displayName eq "
        '"1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"',
    )
    assert found["totalResults"] == 0


@pytest.mark.parametrize("query", ["excludedAttributes=members", "attributes=displayName"])
def test_group_patch_answers_with_the_group_when_attributes_are_requested(
    scim: ScimClient, query: str
) -> None:
    group_id = replay(scim, "entra/group-membership").values["group_id"]
    rename = SEQUENCES["entra/group-lifecycle"].steps[3].request["body"]

    response = scim.patch(f"/Groups/{group_id}?{query}", json=rename)

    assert response.status_code == 200
    assert response.mimetype == SCIM_JSON
    group = response.get_json(force=True)
    assert group["id"] == group_id
    assert group["displayName"] == "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"
    assert "members" not in group


def test_group_patch_without_attributes_answers_204_no_content(scim: ScimClient) -> None:
    group_id = replay(scim, "entra/group-membership").values["group_id"]
    rename = SEQUENCES["entra/group-lifecycle"].steps[3].request["body"]

    response = scim.patch(f"/Groups/{group_id}", json=rename)

    assert (response.status_code, response.data) == (204, b"")
    assert get_json(scim, f"/Groups/{group_id}")["displayName"] == rename["Operations"][0]["value"]


# --- OneLogin -------------------------------------------------------------------------


def test_onelogin_users_written_without_active_are_active_and_found_as_active(scim: ScimClient) -> None:
    result = replay(scim, "onelogin/user-template")

    found = get_json(scim, '/Users?filter=active eq true and userName eq "kelly.slater@example.com"')
    assert [r["id"] for r in found["Resources"]] == [result.values["user_id"]]


# --- Okta -----------------------------------------------------------------------------


def test_okta_membership_patch_removes_one_and_does_not_duplicate_the_other(
    scim: ScimClient,
) -> None:
    result = replay(scim, "okta/group-membership")

    assert member_ids(scim, result.values["group_id"]) == [result.values["user_a"]]


def test_okta_group_rename_carrying_its_own_id_keeps_the_id(scim: ScimClient) -> None:
    result = replay(scim, "okta/group-push")

    renamed = result.exchange("Retrieve Groups").body["Resources"][0]
    assert renamed["id"] == result.values["group_id"]
    assert scim.get(f"/Groups/{result.values['group_id']}").status_code == 404


def test_okta_password_is_accepted_but_never_returned(scim: ScimClient) -> None:
    result = replay(scim, "okta/user-lifecycle")

    bodies = [exchange.body for exchange in result.exchanges if exchange.response.data]
    assert bodies
    assert all("password" not in json.dumps(body) for body in bodies)
    user = get_json(scim, f"/Users/{result.values['user_id']}?attributes=password,userName")
    assert "password" not in user


def test_okta_put_replaces_the_user_and_ignores_read_only_attributes(scim: ScimClient) -> None:
    result = replay(scim, "okta/user-lifecycle")

    user = get_json(scim, f"/Users/{result.values['user_id']}")
    assert user["id"] == result.values["user_id"]
    assert user["name"] == {"givenName": "Another", "middleName": "Excited", "familyName": "User"}
    assert user["meta"]["resourceType"] == "User"
    assert user["active"] is True


def test_okta_username_filter_ignores_case(scim: ScimClient) -> None:
    result = replay(scim, "okta/spec-test")

    caps = result.exchange("Required Test: Username Case Sensitivity Check").body
    assert caps["totalResults"] == 1
    assert caps["Resources"][0]["id"] == result.values["idUserOne"]


def test_okta_recreating_a_user_is_a_uniqueness_conflict(scim: ScimClient) -> None:
    result = replay(scim, "okta/spec-test")

    conflict = result.exchange("Required Test: Expect failure when recreating user with same values")
    assert conflict.body["scimType"] == "uniqueness"
    assert conflict.body["status"] == "409"


def test_username_uniqueness_ignores_case(scim: ScimClient) -> None:
    replay(scim, "okta/user-lifecycle")
    create = SEQUENCES["okta/user-lifecycle"].steps[1].request["body"]
    shouting = dict(create, userName=create["userName"].upper())

    response = scim.post("/Users", json=shouting)

    assert response.status_code == 409
    assert response.get_json(force=True)["scimType"] == "uniqueness"
    found = get_json(scim, f'/Users?filter=userName eq "{create["userName"]}"')
    assert found["totalResults"] == 1
