"""Hostile and unusual input gets a precise 4xx, the same on every backend, and stores nothing.

One test (or table row) per class of input that used to end in a 500, a truncated
body being stored, or the backends disagreeing (issue 8). Each rejected request is
checked against a snapshot of the directory taken before it.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from werkzeug.test import TestResponse

from scim_server.config import Settings
from scim_server.scim.filter import MAX_DEPTH
from scim_server.scim.limits import MAX_INDEXED_LENGTH, MAX_JSON_DEPTH, MAX_VALUES
from scim_server.storage import Storage
from tests.api.conftest import ScimClient
from tests.api.test_groups import GROUP, new_group
from tests.api.test_users import PATCH, USER, new_user, patch
from tests.support.snapshot import snapshot

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
MIB = 1024 * 1024


@pytest.fixture
def seeded(scim: ScimClient) -> dict[str, str]:
    """A user in a group, so rejected writes have something they could have damaged."""
    user = new_user(scim, "seed", emails=[{"value": "seed@example.com", "type": "work"}])
    group = new_group(scim, "Seeds", [user["id"]])
    return {"user": user["id"], "group": group["id"]}


@pytest.fixture
def unchanged(storage: Storage, scim: ScimClient, seeded: dict[str, str]) -> Iterator[None]:
    """Fail the test if the directory changed while it ran (use it for rejected requests)."""
    before = snapshot(storage, scim.directory)
    yield
    assert snapshot(storage, scim.directory) == before


def raw(scim: ScimClient, method: str, path: str, body: bytes | str) -> TestResponse:
    data = body.encode() if isinstance(body, str) else body
    return scim._call(method, path, data=data, content_type="application/scim+json")


def error(response: TestResponse, status: int, scim_type: str | None = None) -> str:
    """Assert a SCIM error with this status (and scimType) and return its detail."""
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    body = response.get_json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    assert body.get("scimType") == scim_type
    detail: str = body["detail"]
    return detail


# -- body framing ---------------------------------------------------------------------


def chunked(scim: ScimClient, path: str, body: bytes) -> TestResponse:
    """POST ``body`` without Content-Length, as a server hands a de-chunked body to the app."""
    return scim.post(
        path,
        input_stream=io.BytesIO(body),
        content_type="application/scim+json",
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )


@pytest.mark.usefixtures("unchanged")
def test_an_oversized_chunked_body_is_413_and_nothing_is_stored(scim: ScimClient) -> None:
    valid_then_garbage = json.dumps({"schemas": [USER], "userName": "chunky"}).encode()
    valid_then_garbage += b" " * MIB + b"garbage"

    detail = error(chunked(scim, "/Users", valid_then_garbage), 413)

    assert f"exceeds {MIB} bytes" in detail


def test_a_chunked_body_within_the_limit_is_read_whole(scim: ScimClient) -> None:
    body = json.dumps({"schemas": [USER], "userName": "chunked", "title": "t" * (MIB // 2)}).encode()

    response = chunked(scim, "/Users", body)

    assert response.status_code == 201
    assert len(response.get_json()["title"]) == MIB // 2


# -- JSON edge cases --------------------------------------------------------------------


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_invalid_syntax(scim: ScimClient, constant: str) -> None:
    response = raw(scim, "POST", "/Users", f'{{"userName": "n", "title": {constant}}}')

    assert f"{constant} is not a JSON number" in error(response, 400, "invalidSyntax")


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/Users", '{"userName": "deep", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"),
        (
            "/Users",
            '{"userName": "deep", "x": '
            + '{"a":' * (MAX_JSON_DEPTH + 1)
            + "1"
            + "}" * (MAX_JSON_DEPTH + 1)
            + "}",
        ),
        (
            "/Bulk",
            '{"Operations": [{"method": "POST", "path": "/Users", "data": {"userName": "b", "x": '
            + "[" * 5_000
            + "]" * 5_000
            + "}}]}",
        ),
    ],
    ids=["array-100000", "objects-just-over", "bulk-data-5000"],
)
def test_deep_nesting_is_invalid_syntax_naming_the_limit(scim: ScimClient, path: str, body: str) -> None:
    assert f"deeper than {MAX_JSON_DEPTH} levels" in error(
        raw(scim, "POST", path, body), 400, "invalidSyntax"
    )


# -- text that is not valid Unicode, and NUL ---------------------------------------------


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    ("path", "body", "where", "problem"),
    [
        ("/Users", r'{"userName": "s\ud800"}', "userName", "unpaired surrogate"),
        ("/Users", r'{"userName": "u", "title": "\udfff"}', "title", "unpaired surrogate"),
        ("/Users", r'{"userName": "nul\u0000"}', "userName", "NUL"),
        ("/Users", r'{"userName": "u", "emails": [{"value": "a\u0000@x"}]}', "emails[0].value", "NUL"),
        ("/Groups", r'{"displayName": "g\u0000"}', "displayName", "NUL"),
        (
            "/Bulk",
            r'{"Operations": [{"method": "POST", "path": "/Users", "data": {"userName": "\ud83d"}}]}',
            "Operations[0].data.userName",
            "unpaired surrogate",
        ),
    ],
)
def test_nul_and_lone_surrogates_in_values_are_invalid_value_naming_where(
    scim: ScimClient, path: str, body: str, where: str, problem: str
) -> None:
    detail = error(raw(scim, "POST", path, body), 400, "invalidValue")

    assert where in detail
    assert problem in detail


@pytest.mark.usefixtures("unchanged")
def test_nul_and_lone_surrogates_in_a_patch_value_are_invalid_value(
    scim: ScimClient, seeded: dict[str, str]
) -> None:
    body = r'{"Operations": [{"op": "replace", "path": "title", "value": "\ud800"}]}'

    assert "Operations[0].value" in error(
        raw(scim, "PATCH", f"/Users/{seeded['user']}", body), 400, "invalidValue"
    )


@pytest.mark.usefixtures("unchanged")
def test_cesu_encoded_surrogates_in_raw_bytes_are_invalid_syntax(scim: ScimClient) -> None:
    response = raw(scim, "POST", "/Users", b'{"userName": "c\xed\xa0\x80"}')

    assert "not valid UTF-8" in error(response, 400, "invalidSyntax")


def test_a_surrogate_pair_escape_is_stored_as_the_character_it_encodes(scim: ScimClient) -> None:
    response = raw(scim, "POST", "/Users", r'{"userName": "smile\ud83d\ude00"}')

    assert response.status_code == 201
    assert response.get_json()["userName"] == "smile\U0001f600"


@pytest.mark.parametrize(
    "text",
    [r'userName eq "\ud800"', r'userName eq "a\u0000"', r'emails[value eq "\udfff"]'],
    ids=["surrogate", "nul", "value-path-surrogate"],
)
def test_nul_and_lone_surrogates_in_filter_values_are_invalid_filter(scim: ScimClient, text: str) -> None:
    assert "the string literal contains" in error(
        scim.get("/Users?filter=" + quote(text)), 400, "invalidFilter"
    )
    searched = scim.post("/Users/.search", json={"schemas": [SEARCH], "filter": text})
    assert "the string literal contains" in error(searched, 400, "invalidFilter")


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("resource_id", ["%00", "abc%00def", "x" * 300])
def test_an_id_with_nul_or_too_long_is_404_on_every_method(
    scim: ScimClient, method: str, resource_id: str
) -> None:
    body = {"schemas": [PATCH], "Operations": [{"op": "remove", "path": "title"}]}
    if method == "PUT":
        body = {"schemas": [USER], "userName": "x"}
    response = scim._call(method, f"/Users/{resource_id}", json=body if method in ("PUT", "PATCH") else None)

    assert "no resource has an id like that" in error(response, 404)


# -- indexed attributes ------------------------------------------------------------------

# 4-byte characters, and one whose lower case is longer than itself: the worst cases
# for the B-tree entry of a lower-cased key.
LONGEST = {
    "ascii": "a" * MAX_INDEXED_LENGTH,
    "astral": "\U0001f600" * MAX_INDEXED_LENGTH,
    "dotted-capital-i": "\u0130" * MAX_INDEXED_LENGTH,
    "random-cjk": "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(MAX_INDEXED_LENGTH)),
}


@pytest.mark.parametrize("value", list(LONGEST.values()), ids=list(LONGEST))
def test_indexed_attributes_at_the_maximum_length_are_stored_and_found(scim: ScimClient, value: str) -> None:
    user = new_user(scim, value, externalId=value)
    group = new_group(scim, value)

    found = scim.get("/Users?filter=" + quote(f'userName eq "{value.upper()}"')).get_json()
    assert [r["id"] for r in found["Resources"]] == [user["id"]]
    by_external = scim.get("/Users?filter=" + quote(f'externalId eq "{value}"')).get_json()
    assert by_external["totalResults"] == 1
    groups = scim.get("/Groups?filter=" + quote(f'displayName eq "{value}"')).get_json()
    assert [r["id"] for r in groups["Resources"]] == [group["id"]]


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    ("path", "body", "name"),
    [
        ("/Users", {"userName": "x" * (MAX_INDEXED_LENGTH + 1)}, "userName"),
        ("/Users", {"userName": "ext", "externalId": "\U0001f600" * 5000}, "externalId"),
        ("/Groups", {"displayName": "".join(chr(0x4E00 + i % 20000) for i in range(3000))}, "displayName"),
        ("/Groups", {"displayName": "g", "externalId": "e" * 4000}, "externalId"),
    ],
)
def test_indexed_attributes_over_the_maximum_length_are_invalid_value(
    scim: ScimClient, path: str, body: dict[str, Any], name: str
) -> None:
    detail = error(scim.post(path, json=body), 400, "invalidValue")

    assert f"{name} is" in detail
    assert f"at most {MAX_INDEXED_LENGTH} are allowed" in detail


@pytest.mark.usefixtures("unchanged")
def test_a_patch_that_lengthens_user_name_past_the_limit_is_invalid_value(
    scim: ScimClient, seeded: dict[str, str]
) -> None:
    response = patch(
        scim, f"/Users/{seeded['user']}", {"op": "replace", "path": "userName", "value": "u" * 600}
    )

    assert "userName is 600 characters long" in error(response, 400, "invalidValue")


@pytest.mark.usefixtures("unchanged")
def test_more_values_than_a_multi_valued_attribute_holds_are_invalid_value(
    scim: ScimClient, seeded: dict[str, str]
) -> None:
    emails = [{"value": f"e{i}@example.com"} for i in range(MAX_VALUES + 1)]
    assert f"at most {MAX_VALUES}" in error(
        scim.post("/Users", json={"userName": "many", "emails": emails}), 400, "invalidValue"
    )
    grown = patch(
        scim, f"/Users/{seeded['user']}", {"op": "add", "path": "emails", "value": emails[:MAX_VALUES]}
    )
    assert f"emails has {MAX_VALUES + 1} values" in error(grown, 400, "invalidValue")


# -- numbers out of range -------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "startIndex=" + "9" * 30,
        "count=" + "9" * 30,
        "startIndex=-" + "9" * 30,
        "startIndex=9223372036854775808",
    ],
)
def test_list_parameters_beyond_64_bits_are_invalid_value(scim: ScimClient, query: str) -> None:
    assert "out of range" in error(scim.get(f"/Users?{query}"), 400, "invalidValue")


@pytest.mark.parametrize("name", ["startIndex", "count"])
def test_search_parameters_beyond_64_bits_are_invalid_value(scim: ScimClient, name: str) -> None:
    response = scim.post("/Users/.search", json={"schemas": [SEARCH], name: 10**30})

    assert f"'{name}' is out of range" in error(response, 400, "invalidValue")


def test_list_parameters_at_the_64_bit_bound_answer_an_empty_page(scim: ScimClient) -> None:
    new_user(scim)

    body = scim.get("/Users?startIndex=9223372036854775807&count=9223372036854775807").get_json()

    assert (body["totalResults"], body["itemsPerPage"]) == (1, 0)


# -- filter depth ------------------------------------------------------------------------------


def _alternating(levels: int, leaf: str) -> str:
    text = leaf
    for i in range(levels):
        text = f"{leaf} {('or', 'and')[i % 2]} ({text})"
    return text


DEEPEST = {
    "not": "not (" * (MAX_DEPTH - 1) + 'title eq "x"' + ")" * (MAX_DEPTH - 1),
    "and-or": _alternating(MAX_DEPTH - 1, 'emails.value sw "x"'),
    "value-path": "emails[" + _alternating(MAX_DEPTH - 2, 'type eq "x"') + "]",
}


@pytest.mark.parametrize("text", list(DEEPEST.values()), ids=list(DEEPEST))
def test_filters_at_the_depth_limit_answer_on_every_backend(scim: ScimClient, text: str) -> None:
    new_user(scim)

    response = scim.get("/Users?filter=" + quote(text))

    assert response.status_code == 200, response.get_data(as_text=True)


@pytest.mark.parametrize("levels", [MAX_DEPTH, 40, 400])
def test_filters_nested_beyond_the_limit_are_invalid_filter(scim: ScimClient, levels: int) -> None:
    text = "not (" * levels + 'userName eq "x"' + ")" * levels

    assert "nested too deeply" in error(scim.get("/Users?filter=" + quote(text)), 400, "invalidFilter")


# -- cost -------------------------------------------------------------------------------------


@pytest.mark.usefixtures("unchanged")
def test_a_patch_over_the_operation_limit_is_413_before_any_operation_is_read(
    scim: ScimClient, seeded: dict[str, str]
) -> None:
    operations = [{"op": "remove", "path": f'members[value eq "m{i}"]'} for i in range(10_000)]
    operations[-1] = {"op": "not-an-op"}

    response = patch(scim, f"/Groups/{seeded['group']}", *operations)

    assert "at most 1000 operations; this one has 10000" in error(response, 413)


def test_a_thousand_single_member_operations_apply_as_one_change(scim: ScimClient) -> None:
    users = [new_user(scim, f"m{i}")["id"] for i in range(20)]
    group = new_group(scim, "Many")
    adds = [{"op": "add", "path": "members", "value": [{"value": users[i % 20]}]} for i in range(1000)]

    response = patch(scim, f"/Groups/{group['id']}", *adds)

    assert response.status_code == 204
    listed = scim.get(f"/Groups/{group['id']}").get_json()
    assert {m["value"] for m in listed["members"]} == set(users)
    assert listed["meta"]["version"] != group["meta"]["version"]


# -- semantics ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "remove", "path": 'members[value eq "not-a-member"]'},
        {"op": "remove", "path": 'members[type eq "Group"]'},
        {"op": "remove", "path": "members", "value": [{"value": "not-a-member"}]},
    ],
    ids=["by-value", "by-filter", "by-value-list"],
)
def test_a_remove_matching_no_member_keeps_version_and_last_modified(
    scim: ScimClient, storage: Storage, seeded: dict[str, str], operation: dict[str, Any]
) -> None:
    before = snapshot(storage, scim.directory)

    response = patch(scim, f"/Groups/{seeded['group']}", operation)

    assert response.status_code == 204
    assert response.headers["ETag"] == before["Group"][seeded["group"]]["meta"]["version"]
    assert snapshot(storage, scim.directory) == before


def test_adding_a_member_already_there_keeps_the_version(scim: ScimClient, seeded: dict[str, str]) -> None:
    before = scim.get(f"/Groups/{seeded['group']}").get_json()["meta"]

    response = patch(
        scim,
        f"/Groups/{seeded['group']}",
        {"op": "add", "path": "members", "value": [{"value": seeded["user"]}]},
    )

    assert response.headers["ETag"] == before["version"]
    assert scim.get(f"/Groups/{seeded['group']}").get_json()["meta"] == before


def test_a_user_patch_that_changes_nothing_keeps_the_version(
    scim: ScimClient, seeded: dict[str, str]
) -> None:
    before = scim.get(f"/Users/{seeded['user']}").get_json()["meta"]

    response = patch(scim, f"/Users/{seeded['user']}", {"op": "remove", "path": "title"})

    assert response.get_json()["meta"] == before


@pytest.mark.usefixtures("unchanged")
def test_bulk_over_max_operations_is_413_naming_the_limit(scim: ScimClient) -> None:
    operations = [{"method": "POST", "path": "/Users", "data": {"userName": f"b{i}"}} for i in range(1001)]

    response = scim.post("/Bulk", json={"schemas": [BULK], "Operations": operations})

    assert "more than maxOperations (1000)" in error(response, 413)


@pytest.mark.usefixtures("unchanged")
def test_a_bulk_version_that_is_not_a_string_is_reported_for_that_operation(
    scim: ScimClient, seeded: dict[str, str]
) -> None:
    operations = [{"method": "DELETE", "path": f"/Users/{seeded['user']}", "version": 3}]

    body = scim.post("/Bulk", json={"schemas": [BULK], "Operations": operations}).get_json()

    assert body["Operations"][0]["status"] == "400"
    assert "'version' must be a string" in body["Operations"][0]["response"]["detail"]


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("schemas", [False, 3, "urn:ietf:params:scim:api:messages:2.0:BulkRequest", {}])
def test_a_bulk_request_whose_schemas_is_not_a_list_is_invalid_syntax(scim: ScimClient, schemas: Any) -> None:
    """Found by the fuzz tier: a non-list 'schemas' was a 500."""
    response = scim.post("/Bulk", json={"schemas": schemas, "Operations": []})

    assert "'schemas' must be" in error(response, 400, "invalidSyntax")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/Users", "GET, HEAD, OPTIONS, POST"),
        ("POST", "/Users/some-id", "DELETE, GET, HEAD, OPTIONS, PATCH, PUT"),
        ("GET", "/Bulk", "OPTIONS, POST"),
    ],
)
def test_405_lists_the_allowed_methods(scim: ScimClient, method: str, path: str, allowed: str) -> None:
    response = scim._call(method, path)

    assert response.headers["Allow"] == allowed
    assert f"allowed: {allowed}" in error(response, 405)


def test_service_provider_config_advertises_the_limits_scim_has_fields_for(
    scim: ScimClient, settings: Settings
) -> None:
    """The PATCH limit has no SCIM field: a non-standard one would make the document invalid."""
    config = scim.get("/ServiceProviderConfig").get_json()

    assert config["bulk"]["maxOperations"] == settings.max_bulk_operations
    assert config["bulk"]["maxPayloadSize"] == settings.max_body_bytes == MIB
    assert config["filter"]["maxResults"] == settings.max_page_size
    assert config["patch"] == {"supported": True}


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_a_user_written_without_active_reads_back_active(scim: ScimClient, method: str) -> None:
    body = {"schemas": [USER], "userName": "no-active"}
    if method == "PUT":
        user = new_user(scim, "no-active", active=False)
        written = scim.put(f"/Users/{user['id']}", json=body)
    else:
        written = scim.post("/Users", json=body)

    assert written.get_json()["active"] is True
    stored = scim.get(f"/Users/{written.get_json()['id']}").get_json()
    assert stored["active"] is True
    found = scim.get("/Users?filter=" + quote('active eq true and userName eq "no-active"')).get_json()
    assert found["totalResults"] == 1


def test_a_patch_removing_active_leaves_it_unassigned(scim: ScimClient) -> None:
    user = new_user(scim)

    response = patch(scim, f"/Users/{user['id']}", {"op": "remove", "path": "active"})

    assert "active" not in response.get_json()


def test_a_request_id_that_is_not_a_plain_token_is_replaced(scim: ScimClient) -> None:
    response = scim.get("/Users", headers={"X-Request-Id": "evil\u00e9 id"})

    assert response.headers["X-Request-Id"] != "evil\u00e9 id"
    assert len(response.headers["X-Request-Id"]) == 24


__all__ = ["GROUP"]
