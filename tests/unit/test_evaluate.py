"""In-memory value filters: which values of one multi-valued attribute a PATCH path selects."""

from __future__ import annotations

from typing import Any

import pytest

from scim_server.scim.errors import InvalidPath
from scim_server.scim.evaluate import entry_matches, equality_template
from scim_server.scim.filter import parse_filter
from scim_server.scim.schemas import Attribute, group_type, user_type

EMAILS = user_type().schema.attributes["emails"]
MEMBERS = group_type().schema.attributes["members"]
CERTIFICATES = user_type().schema.attributes["x509certificates"]
WORK = {"value": "Babs@Jensen.org", "type": "work", "primary": True}


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ('type eq "work"', True),
        ('type eq "home"', False),
        ('type ne "home"', True),
        ('value co "jensen"', True),
        ('value sw "babs@"', True),
        ('value ew ".org"', True),
        ('value ew ".com"', False),
        ('value gt "a"', True),
        ('value ge "babs@jensen.org"', True),
        ('value lt "a"', False),
        ('value le "babs@jensen.org"', True),
        ("type pr", True),
        ("display pr", False),
        ("display eq null", True),
        ("type ne null", True),
        ("primary eq true", True),
        ("primary eq false", False),
        ('primary eq "True"', True),
        ('type eq "work" and value ew "jensen.org"', True),
        ('type eq "work" and value ew "example.com"', False),
        ('type eq "home" or primary eq true', True),
        ('not (type eq "home")', True),
        ('not (type eq "work" or display pr)', False),
    ],
)
def test_every_operator_selects_values(text: str, matches: bool) -> None:
    assert entry_matches(EMAILS, WORK, parse_filter(text)) is matches


@pytest.mark.parametrize(
    "text",
    [
        'type eq "WORK"',
        'value eq "babs@jensen.org"',
        'value co "JENSEN"',
        'VALUE EQ "BABS@JENSEN.ORG"',
        'Type Eq "Work"',
    ],
)
def test_case_insensitive_sub_attributes_compare_without_case(text: str) -> None:
    assert entry_matches(EMAILS, WORK, parse_filter(text))


@pytest.mark.parametrize(
    ("attr", "value", "other_case", "same_case"),
    [
        (MEMBERS, "ABC-123", 'value eq "abc-123"', 'value eq "ABC-123"'),
        (CERTIFICATES, "TUlJQw==", 'value eq "tuljqw=="', 'value eq "TUlJQw=="'),
        (CERTIFICATES, "TUlJQw==", 'value sw "tulj"', 'value sw "TUlJ"'),
    ],
)
def test_case_exact_sub_attributes_compare_with_case(
    attr: Attribute, value: str, other_case: str, same_case: str
) -> None:
    assert not entry_matches(attr, {"value": value}, parse_filter(other_case))
    assert entry_matches(attr, {"value": value}, parse_filter(same_case))


@pytest.mark.parametrize("text", ["value gt 5", "value le 5", "value eq 5", "value ne 5"])
def test_comparing_a_string_with_a_number_never_errs(text: str) -> None:
    assert entry_matches(EMAILS, WORK, parse_filter(text)) is (text == "value ne 5")


def test_a_missing_sub_attribute_matches_only_ne_and_null() -> None:
    entry = {"value": "a@b"}
    assert entry_matches(EMAILS, entry, parse_filter('type ne "work"'))
    assert entry_matches(EMAILS, entry, parse_filter("type eq null"))
    assert not entry_matches(EMAILS, entry, parse_filter('type eq "work"'))
    assert not entry_matches(EMAILS, entry, parse_filter('type co "w"'))


@pytest.mark.parametrize(
    "text",
    [
        'nope eq "x"',
        'value.sub eq "x"',
        'emails[type eq "work"]',
        'type eq "work" and nope pr',
        "not (nope pr)",
    ],
)
def test_a_filter_naming_what_the_attribute_lacks_is_invalid_path(text: str) -> None:
    with pytest.raises(InvalidPath):
        entry_matches(EMAILS, WORK, parse_filter(text))


def test_simple_multi_valued_attributes_are_filtered_by_value() -> None:
    tags = Attribute("tags", "string", multi_valued=True)
    assert entry_matches(tags, "Blue", parse_filter('value eq "blue"'))
    with pytest.raises(InvalidPath):
        entry_matches(tags, "Blue", parse_filter('type eq "blue"'))


@pytest.mark.parametrize(
    ("text", "template"),
    [
        ('type eq "work"', {"type": "work"}),
        ('TYPE eq "work"', {"type": "work"}),
        ('type eq "work" and primary eq true', {"type": "work", "primary": True}),
        ('value eq "a@b" and type eq "home"', {"value": "a@b", "type": "home"}),
        ('type eq "work" or type eq "home"', None),
        ('type co "work"', None),
        ('type ne "work"', None),
        ("type pr", None),
        ('not (type eq "work")', None),
        ('nope eq "work"', None),
        ('type.sub eq "work"', None),
    ],
)
def test_the_equality_template_is_the_value_an_eq_filter_describes(
    text: str, template: dict[str, Any] | None
) -> None:
    assert equality_template(EMAILS, parse_filter(text)) == template
