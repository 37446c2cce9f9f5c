"""The input policy: strict JSON, bounded nesting, storable text, bounded lengths and integers."""

from __future__ import annotations

import pytest

from scim_server.scim.errors import InvalidSyntax, InvalidValue
from scim_server.scim.limits import (
    MAX_ID_LENGTH,
    MAX_INDEXED_LENGTH,
    MAX_JSON_DEPTH,
    check_indexed_lengths,
    is_possible_id,
    parse_json,
)


def nested(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


@pytest.mark.parametrize(
    "body",
    [b'{"a": NaN}', b'{"a": Infinity}', b'{"a": -Infinity}', b'{"a": [1, NaN]}'],
    ids=["NaN", "Infinity", "-Infinity", "in-a-list"],
)
def test_non_json_numbers_are_invalid_syntax(body: bytes) -> None:
    with pytest.raises(InvalidSyntax, match="is not a JSON number"):
        parse_json(body)


def test_a_number_beyond_a_double_is_invalid_value() -> None:
    with pytest.raises(InvalidValue, match="1e999 is out of range"):
        parse_json(b'{"title": 1e999}')


def test_nesting_up_to_the_limit_parses() -> None:
    assert parse_json(nested(MAX_JSON_DEPTH)) is not None


@pytest.mark.parametrize("levels", [MAX_JSON_DEPTH + 1, 5_000, 200_000])
def test_nesting_beyond_the_limit_is_invalid_syntax_at_any_depth(levels: int) -> None:
    with pytest.raises(InvalidSyntax, match=f"deeper than {MAX_JSON_DEPTH} levels"):
        parse_json(nested(levels))


def test_objects_count_toward_the_depth_like_arrays() -> None:
    body = b'{"a":' * (MAX_JSON_DEPTH + 1) + b"1" + b"}" * (MAX_JSON_DEPTH + 1)
    with pytest.raises(InvalidSyntax, match="deeper than"):
        parse_json(body)


@pytest.mark.parametrize(
    ("body", "where", "problem"),
    [
        (b'{"userName": "a\\u0000b"}', "the value at userName", "a NUL character"),
        (b'{"userName": "\\ud800"}', "the value at userName", "an unpaired surrogate"),
        (b'{"userName": "\\udfff x"}', "the value at userName", "an unpaired surrogate"),
        (b'{"emails": [{"value": "\\u0000"}]}', "the value at emails[0].value", "a NUL character"),
        (b'{"Operations": [{"value": {"title": "\\ud83d"}}]}', "Operations[0].value.title", "unpaired"),
        (b'{"a\\u0000": 1}', "an attribute name in the request body", "a NUL character"),
        (b'["\\u0000"]', "the value at [0]", "a NUL character"),
    ],
)
def test_nul_and_lone_surrogates_are_invalid_value_naming_where(
    body: bytes, where: str, problem: str
) -> None:
    with pytest.raises(InvalidValue) as caught:
        parse_json(body)
    assert where in caught.value.detail
    assert problem in caught.value.detail


def test_a_surrogate_pair_escape_is_one_valid_character() -> None:
    assert parse_json(b'{"displayName": "\\ud83d\\ude00 \\u00e9"}') == {"displayName": "\U0001f600 \u00e9"}


@pytest.mark.parametrize(
    "body",
    [b'{"userName": "\xed\xa0\x80"}', b'{"userName": "\xff"}', b'{"userName": "\xc3"}'],
    ids=["cesu-encoded-surrogate", "invalid-byte", "truncated-sequence"],
)
def test_bytes_that_are_not_strict_utf8_are_invalid_syntax(body: bytes) -> None:
    with pytest.raises(InvalidSyntax, match="not valid UTF-8: byte 14"):
        parse_json(body)


def test_a_byte_order_mark_is_ignored() -> None:
    assert parse_json(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}


def test_an_escaped_backslash_before_u0000_is_text_not_a_nul() -> None:
    assert parse_json(b'{"a": "\\\\u0000"}') == {"a": "\\u0000"}


@pytest.mark.parametrize(
    ("kind", "doc"),
    [
        ("User", {"userName": "x" * (MAX_INDEXED_LENGTH + 1)}),
        ("User", {"userName": "u", "externalId": "e" * (MAX_INDEXED_LENGTH + 1)}),
        ("Group", {"displayName": "g" * (MAX_INDEXED_LENGTH + 1)}),
        ("Group", {"displayName": "g", "externalId": "e" * (MAX_INDEXED_LENGTH + 1)}),
    ],
)
def test_indexed_attributes_longer_than_the_limit_are_invalid_value(kind: str, doc: dict[str, str]) -> None:
    with pytest.raises(InvalidValue, match=f"at most {MAX_INDEXED_LENGTH} are allowed"):
        check_indexed_lengths(kind, doc)


def test_indexed_attributes_at_the_limit_and_other_long_attributes_pass() -> None:
    check_indexed_lengths("User", {"userName": "\U0001f600" * MAX_INDEXED_LENGTH, "title": "t" * 100_000})


@pytest.mark.parametrize(
    ("value", "possible"),
    [("2819c223-7f76-453a-919d-413861904646", True), ("a\x00b", False), ("x" * (MAX_ID_LENGTH + 1), False)],
)
def test_ids_with_a_nul_or_too_long_cannot_name_a_resource(value: str, possible: bool) -> None:
    assert is_possible_id(value) is possible
