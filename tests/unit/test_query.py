"""List and search parameters (RFC 7644 sections 3.4.2 and 3.4.3)."""

from __future__ import annotations

from typing import Any

import pytest

from scim_server.scim.errors import InvalidFilter, InvalidPath, InvalidSyntax, InvalidValue, ScimError
from scim_server.scim.filter import AttrPath, Compare, Present
from scim_server.scim.projection import Projection
from scim_server.scim.query import ListQuery, parse_list_query, search_params
from scim_server.scim.schemas import ENTERPRISE_SCHEMA, SEARCH_SCHEMA, ResourceType
from tests.support import rfc

DEFAULT_COUNT = 50
MAX_COUNT = 200


def query(rt: ResourceType, **params: Any) -> ListQuery:
    return parse_list_query(rt, params, default_count=DEFAULT_COUNT, max_count=MAX_COUNT)


def test_no_parameters_mean_the_first_default_sized_page_of_everything(users: ResourceType) -> None:
    assert query(users) == ListQuery(None, None, False, 1, DEFAULT_COUNT, Projection())


def test_the_rfc_7644_section_3_4_3_search_request(users: ResourceType) -> None:
    params = search_params(rfc.load("rfc7644-3.4.3-search-request"))
    q = parse_list_query(users, params, default_count=DEFAULT_COUNT, max_count=MAX_COUNT)
    assert q.filter == Compare(AttrPath("displayName"), "sw", "smith")
    assert (q.start_index, q.count) == (1, 10)
    assert q.projection.include == frozenset({(None, "displayName", None), (None, "userName", None)})


def test_every_parameter_is_read(users: ResourceType) -> None:
    q = query(
        users,
        filter='userName eq "bjensen"',
        sortBy="name.familyName",
        sortOrder="descending",
        startIndex="11",
        count="10",
        excludedAttributes="emails",
    )
    assert q.filter == Compare(AttrPath("userName"), "eq", "bjensen")
    assert q.sort_by == AttrPath("name", "familyName")
    assert q.descending is True
    assert (q.start_index, q.count) == (11, 10)
    assert q.projection.exclude == frozenset({(None, "emails", None)})


@pytest.mark.parametrize(
    "params",
    [
        {"FILTER": "title pr", "SORTBY": "title", "SORTORDER": "DESCENDING", "STARTINDEX": "2", "COUNT": "3"},
        {"Filter": "title pr", "SortBy": "title", "SortOrder": "Descending", "StartIndex": 2, "Count": 3},
    ],
)
def test_parameter_names_and_sort_order_are_read_in_any_case(
    users: ResourceType, params: dict[str, Any]
) -> None:
    q = query(users, **params)
    assert (q.filter, q.sort_by, q.descending, q.start_index, q.count) == (
        Present(AttrPath("title")),
        AttrPath("title"),
        True,
        2,
        3,
    )


@pytest.mark.parametrize("filter_", [None, ""])
def test_an_absent_or_empty_filter_matches_everything(users: ResourceType, filter_: str | None) -> None:
    assert query(users, filter=filter_).filter is None


@pytest.mark.parametrize("order", [None, "", "ascending", "Ascending"])
def test_sort_order_defaults_to_ascending(users: ResourceType, order: str | None) -> None:
    assert query(users, sortBy="userName", sortOrder=order).descending is False


@pytest.mark.parametrize(
    ("sort_by", "path"),
    [
        ("userName", AttrPath("userName")),
        ("meta.lastModified", AttrPath("meta", "lastModified")),
        (f"{ENTERPRISE_SCHEMA}:employeeNumber", AttrPath("employeeNumber", None, ENTERPRISE_SCHEMA)),
    ],
)
def test_sort_by_takes_an_attribute_path(users: ResourceType, sort_by: str, path: AttrPath) -> None:
    assert query(users, sortBy=sort_by).sort_by == path


# -- paging (RFC 7644 3.4.2.4) ---------------------------------------------------------


@pytest.mark.parametrize(("sent", "start"), [("1", 1), (5, 5), ("0", 1), ("-3", 1), (None, 1)])
def test_start_index_below_one_is_read_as_one(users: ResourceType, sent: Any, start: int) -> None:
    assert query(users, startIndex=sent).start_index == start


@pytest.mark.parametrize(
    ("sent", "count"),
    [
        ("10", 10),
        (0, 0),
        ("-1", 0),
        (str(MAX_COUNT), MAX_COUNT),
        (MAX_COUNT + 1, MAX_COUNT),
        (None, DEFAULT_COUNT),
    ],
)
def test_count_is_clamped_to_zero_and_the_server_maximum(users: ResourceType, sent: Any, count: int) -> None:
    """A negative count is read as 0; more than the maximum gives the maximum."""
    assert query(users, count=sent).count == count


@pytest.mark.parametrize("name", ["startIndex", "count"])
@pytest.mark.parametrize("value", ["ten", "1.5", "", True, False, [1], {"n": 1}, 1.5, 2.7], ids=repr)
def test_paging_parameters_must_be_integers(users: ResourceType, name: str, value: Any) -> None:
    with pytest.raises(InvalidValue, match=name):
        query(users, **{name: value})


# -- errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["userName eq", 'userName xx "a"', "(title pr", "emails[type eq", 'a eq "x" b']
)
def test_a_bad_filter_is_invalid_filter(users: ResourceType, text: str) -> None:
    with pytest.raises(InvalidFilter):
        query(users, filter=text)


@pytest.mark.parametrize("value", [5, ["title pr"], {"filter": "title pr"}, True])
def test_a_filter_that_is_not_a_string_is_invalid_value(users: ResourceType, value: Any) -> None:
    with pytest.raises(InvalidValue, match="filter"):
        query(users, filter=value)


@pytest.mark.parametrize(
    ("sort_by", "error"),
    [
        ("favoriteColor", InvalidValue),
        ("name.nickname", InvalidValue),
        ("urn:example:unknown:2.0:User:userName", InvalidValue),
        ("a.b.c", InvalidPath),
        ("1userName", InvalidPath),
        (5, InvalidValue),
        (["userName"], InvalidValue),
    ],
)
def test_sort_by_must_name_a_known_attribute(
    users: ResourceType, sort_by: Any, error: type[ScimError]
) -> None:
    with pytest.raises(error):
        query(users, sortBy=sort_by)


@pytest.mark.parametrize("order", ["up", "desc", "asc", "1"])
def test_sort_order_must_be_ascending_or_descending(users: ResourceType, order: str) -> None:
    with pytest.raises(InvalidValue, match="sortOrder"):
        query(users, sortBy="userName", sortOrder=order)


def test_group_queries_resolve_against_the_group_schema(groups: ResourceType) -> None:
    assert query(groups, sortBy="displayName").sort_by == AttrPath("displayName")
    with pytest.raises(InvalidValue):
        query(groups, sortBy="userName")


# -- POST .search bodies --------------------------------------------------------------


def test_a_search_body_yields_its_parameters_without_schemas() -> None:
    body = rfc.load("rfc7644-3.4.3-search-request")
    assert search_params(body) == {
        "attributes": ["displayName", "userName"],
        "filter": 'displayName sw "smith"',
        "startIndex": 1,
        "count": 10,
    }


@pytest.mark.parametrize("schemas", [[SEARCH_SCHEMA], [SEARCH_SCHEMA.lower()]])
def test_a_search_body_names_the_search_request_schema_in_any_case(schemas: list[str]) -> None:
    assert search_params({"schemas": schemas, "count": 1}) == {"count": 1}


def test_a_search_body_may_leave_out_schemas() -> None:
    assert search_params({"filter": "title pr"}) == {"filter": "title pr"}


@pytest.mark.parametrize("body", [None, [], "filter=title pr", 5])
def test_a_search_body_that_is_not_an_object_is_invalid_syntax(body: Any) -> None:
    with pytest.raises(InvalidSyntax):
        search_params(body)


@pytest.mark.parametrize(
    "schemas",
    [["urn:ietf:params:scim:api:messages:2.0:PatchOp"], [], SEARCH_SCHEMA, 5, {"id": SEARCH_SCHEMA}],
)
def test_a_search_body_with_other_schemas_is_invalid_syntax(schemas: Any) -> None:
    with pytest.raises(InvalidSyntax):
        search_params({"schemas": schemas})
