"""The filter and PATCH path grammar (RFC 7644 sections 3.4.2.2 and 3.5.2)."""

from __future__ import annotations

import pytest

from scim_server.scim.errors import InvalidFilter, InvalidPath
from scim_server.scim.filter import (
    COMPARE_OPS,
    MAX_DEPTH,
    MAX_FILTER_LENGTH,
    And,
    AttrPath,
    Compare,
    Filter,
    Not,
    Or,
    PatchPath,
    Present,
    ValuePath,
    parse_attr_path,
    parse_filter,
    parse_patch_path,
)
from scim_server.scim.schemas import ENTERPRISE_SCHEMA, USER_SCHEMA, ResourceType
from tests.support import rfc

RFC_FILTERS: list[str] = rfc.load("rfc7644-3.4.2.2-filters")
RFC_PATHS: list[str] = rfc.load("rfc7644-3.5.2-paths")
LAST_MODIFIED = AttrPath("meta", "lastModified")
EMPLOYEE = Compare(AttrPath("userType"), "eq", "Employee")
EMAILS_CO = Or(
    (
        Compare(AttrPath("emails"), "co", "example.com"),
        Compare(AttrPath("emails", "value"), "co", "example.org"),
    )
)
WORK_EMAILS = ValuePath(
    AttrPath("emails"),
    And((Compare(AttrPath("type"), "eq", "work"), Compare(AttrPath("value"), "co", "@example.com"))),
)

# What each RFC 7644 section 3.4.2.2 example means, in the RFC's order.
RFC_FILTER_TREES: list[Filter] = [
    Compare(AttrPath("userName"), "eq", "bjensen"),
    Compare(AttrPath("name", "familyName"), "co", "O'Malley"),
    Compare(AttrPath("userName"), "sw", "J"),
    Compare(AttrPath("userName", None, USER_SCHEMA), "sw", "J"),
    Present(AttrPath("title")),
    Compare(LAST_MODIFIED, "gt", "2011-05-13T04:42:34Z"),
    Compare(LAST_MODIFIED, "ge", "2011-05-13T04:42:34Z"),
    Compare(LAST_MODIFIED, "lt", "2011-05-13T04:42:34Z"),
    Compare(LAST_MODIFIED, "le", "2011-05-13T04:42:34Z"),
    And((Present(AttrPath("title")), EMPLOYEE)),
    Or((Present(AttrPath("title")), Compare(AttrPath("userType"), "eq", "Intern"))),
    Compare(AttrPath("schemas"), "eq", ENTERPRISE_SCHEMA),
    And((EMPLOYEE, EMAILS_CO)),
    And((Compare(AttrPath("userType"), "ne", "Employee"), Not(EMAILS_CO))),
    And((EMPLOYEE, Compare(AttrPath("emails", "type"), "eq", "work"))),
    And((EMPLOYEE, WORK_EMAILS)),
    Or(
        (
            WORK_EMAILS,
            ValuePath(
                AttrPath("ims"),
                And((Compare(AttrPath("type"), "eq", "xmpp"), Compare(AttrPath("value"), "co", "@foo.com"))),
            ),
        )
    ),
]


def _a(name: str) -> Present:
    return Present(AttrPath(name))


# -- RFC examples -------------------------------------------------------------------


@pytest.mark.parametrize(("text", "tree"), list(zip(RFC_FILTERS, RFC_FILTER_TREES, strict=True)))
def test_rfc_7644_filter_examples_parse_to_what_they_mean(text: str, tree: Filter) -> None:
    assert parse_filter(text) == tree


# -- operators ----------------------------------------------------------------------


@pytest.mark.parametrize("op", sorted(COMPARE_OPS))
def test_every_comparison_operator_parses(op: str) -> None:
    assert parse_filter(f'userName {op} "x"') == Compare(AttrPath("userName"), op, "x")


def test_pr_takes_no_value() -> None:
    assert parse_filter("title pr") == Present(AttrPath("title"))


@pytest.mark.parametrize("spelling", ["eq", "EQ", "Eq", "eQ"])
def test_comparison_operators_are_case_insensitive(spelling: str) -> None:
    assert parse_filter(f'userName {spelling} "john"') == Compare(AttrPath("userName"), "eq", "john")


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("title PR", _a("title")),
        ("title Pr AND nickName pR", And((_a("title"), _a("nickName")))),
        ("title pr Or nickName pr", Or((_a("title"), _a("nickName")))),
        ("NOT (title pr)", Not(_a("title"))),
        ("Not(title pr)", Not(_a("title"))),
    ],
)
def test_logical_operators_and_pr_are_case_insensitive(text: str, tree: Filter) -> None:
    assert parse_filter(text) == tree


def test_attribute_names_keep_their_spelling_for_case_insensitive_resolution(users: ResourceType) -> None:
    """RFC 7644 3.4.2.2: ``userName Eq "john"`` and ``Username eq "john"`` are the same."""
    first = parse_filter('userName Eq "john"')
    second = parse_filter('Username eq "john"')
    assert isinstance(first, Compare)
    assert isinstance(second, Compare)
    assert second.path == AttrPath("Username")
    assert users.resolve(first.path) == users.resolve(second.path)


@pytest.mark.parametrize("op", ["co", "sw", "ew"])
@pytest.mark.parametrize("value", ["5", "true", "null"])
def test_substring_operators_need_a_string(op: str, value: str) -> None:
    with pytest.raises(InvalidFilter, match="needs a string"):
        parse_filter(f"userName {op} {value}")


# -- precedence and grouping --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("a pr or b pr and c pr", Or((_a("a"), And((_a("b"), _a("c")))))),
        ("a pr and b pr or c pr", Or((And((_a("a"), _a("b"))), _a("c")))),
        ("a pr and b pr or c pr and d pr", Or((And((_a("a"), _a("b"))), And((_a("c"), _a("d")))))),
        ("(a pr or b pr) and c pr", And((Or((_a("a"), _a("b"))), _a("c")))),
        ("a pr and (b pr or c pr)", And((_a("a"), Or((_a("b"), _a("c")))))),
        ("a pr and b pr and c pr", And((_a("a"), _a("b"), _a("c")))),
        ("a pr or b pr or c pr", Or((_a("a"), _a("b"), _a("c")))),
        ("not (a pr) and b pr", And((Not(_a("a")), _a("b")))),
        ("not (a pr or b pr)", Not(Or((_a("a"), _a("b"))))),
        ("b pr or not (a pr) and c pr", Or((_a("b"), And((Not(_a("a")), _a("c")))))),
        ("not (not (a pr))", Not(Not(_a("a")))),
        ("((a pr))", _a("a")),
        ("(a pr) or (b pr)", Or((_a("a"), _a("b")))),
    ],
)
def test_and_binds_tighter_than_or_and_parentheses_group(text: str, tree: Filter) -> None:
    assert parse_filter(text) == tree


def test_whitespace_between_tokens_is_free() -> None:
    assert parse_filter('  (userName\teq "x")\n') == Compare(AttrPath("userName"), "eq", "x")


# -- attribute paths ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("userName", AttrPath("userName")),
        ("name.givenName", AttrPath("name", "givenName")),
        ("emails.value", AttrPath("emails", "value")),
        ("members.$ref", AttrPath("members", "$ref")),
        ("$ref", AttrPath("$ref")),
        ("x509Certificates", AttrPath("x509Certificates")),
        ("some-attr_1", AttrPath("some-attr_1")),
        (f"{USER_SCHEMA}:userName", AttrPath("userName", None, USER_SCHEMA)),
        (f"{USER_SCHEMA}:name.familyName", AttrPath("name", "familyName", USER_SCHEMA)),
        (f"{ENTERPRISE_SCHEMA}:employeeNumber", AttrPath("employeeNumber", None, ENTERPRISE_SCHEMA)),
        (f"{ENTERPRISE_SCHEMA}:manager.value", AttrPath("manager", "value", ENTERPRISE_SCHEMA)),
        (f"{ENTERPRISE_SCHEMA.upper()}:manager", AttrPath("manager", None, ENTERPRISE_SCHEMA.upper())),
    ],
)
def test_attribute_paths_may_name_a_sub_attribute_and_a_schema_urn(text: str, path: AttrPath) -> None:
    assert parse_attr_path(text) == path
    assert str(path) == text
    assert parse_filter(f"{text} pr") == Present(path)


@pytest.mark.parametrize(
    "text", ["1name", "name.", "name..x", "a.b.c", "na me", "name.1x", "urn:a:b:", "", '"name"', "name[x]"]
)
@pytest.mark.parametrize("error", [InvalidFilter, InvalidPath])
def test_malformed_attribute_paths_raise_the_callers_error(
    text: str, error: type[InvalidFilter] | type[InvalidPath]
) -> None:
    with pytest.raises(error, match="not an attribute path"):
        parse_attr_path(text, error)


# -- literals -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("0", 0),
        ("42", 42),
        ("-7", -7),
        ("1.5", 1.5),
        ("-0.25", -0.25),
        ("1e3", 1000.0),
        ("2.5E-1", 0.25),
        ("true", True),
        ("false", False),
        ("null", None),
        ("True", True),
        ("FALSE", False),
        ("Null", None),
        ('""', ""),
        ('"O\'Malley"', "O'Malley"),
        (r'"say \"hi\""', 'say "hi"'),
        (r'"back\\slash"', "back\\slash"),
        (r'"caf\u00e9"', "café"),
        (r'"tab\there"', "tab\there"),
        ('"with (parens) and [brackets]"', "with (parens) and [brackets]"),
        ('"and or not"', "and or not"),
    ],
)
def test_literals_are_json_values(literal: str, value: object) -> None:
    node = parse_filter(f"attr eq {literal}")
    assert isinstance(node, Compare)
    assert node.value == value
    assert type(node.value) is type(value)


def test_an_escaped_quote_does_not_end_the_string() -> None:
    assert parse_filter(r'title eq "a\" or b pr" and c pr') == And(
        (Compare(AttrPath("title"), "eq", 'a" or b pr'), _a("c"))
    )


# -- value paths ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ('emails[type eq "work"]', ValuePath(AttrPath("emails"), Compare(AttrPath("type"), "eq", "work"))),
        ("emails[primary eq true]", ValuePath(AttrPath("emails"), Compare(AttrPath("primary"), "eq", True))),
        ("emails[not (type pr)]", ValuePath(AttrPath("emails"), Not(Present(AttrPath("type"))))),
        (
            'emails[type eq "work" or (value co "x" and primary eq false)]',
            ValuePath(
                AttrPath("emails"),
                Or(
                    (
                        Compare(AttrPath("type"), "eq", "work"),
                        And(
                            (Compare(AttrPath("value"), "co", "x"), Compare(AttrPath("primary"), "eq", False))
                        ),
                    )
                ),
            ),
        ),
        (
            f'{USER_SCHEMA}:emails[type eq "work"]',
            ValuePath(AttrPath("emails", None, USER_SCHEMA), Compare(AttrPath("type"), "eq", "work")),
        ),
        (
            'not (emails[type eq "work"])',
            Not(ValuePath(AttrPath("emails"), Compare(AttrPath("type"), "eq", "work"))),
        ),
    ],
)
def test_value_paths_filter_the_values_of_a_multi_valued_attribute(text: str, tree: Filter) -> None:
    assert parse_filter(text) == tree


@pytest.mark.parametrize(
    "text",
    [
        'emails[type[value eq "x"]]',
        'emails[type eq "work" and ims[type eq "x"]]',
        'emails[not (ims[type eq "x"])]',
    ],
)
def test_nested_value_paths_are_rejected(text: str) -> None:
    with pytest.raises(InvalidFilter, match="cannot be nested"):
        parse_filter(text)


WORK = Compare(AttrPath("type"), "eq", "work")


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        # Microsoft Entra ID's uniqueness check on its "emails[type eq "work"].value" mapping.
        (
            'emails[type eq "work"].value eq "user@contoso.com"',
            ValuePath(AttrPath("emails"), And((WORK, Compare(AttrPath("value"), "eq", "user@contoso.com")))),
        ),
        (
            'emails[type eq "work" and primary eq true].value pr',
            ValuePath(
                AttrPath("emails"),
                And((WORK, Compare(AttrPath("primary"), "eq", True), Present(AttrPath("value")))),
            ),
        ),
        (
            'emails[type eq "work" or type eq "home"].VALUE SW "b"',
            ValuePath(
                AttrPath("emails"),
                And(
                    (
                        Or((WORK, Compare(AttrPath("type"), "eq", "home"))),
                        Compare(AttrPath("VALUE"), "sw", "b"),
                    )
                ),
            ),
        ),
        (
            'emails[type eq "work"].value eq "x" and active eq true',
            And(
                (
                    ValuePath(AttrPath("emails"), And((WORK, Compare(AttrPath("value"), "eq", "x")))),
                    Compare(AttrPath("active"), "eq", True),
                )
            ),
        ),
    ],
)
def test_a_sub_attribute_compared_after_a_value_filter_joins_the_filter(text: str, tree: Filter) -> None:
    assert parse_filter(text) == tree


@pytest.mark.parametrize(
    ("literal", "problem"),
    [(r'"\u0000"', "a NUL character"), (r'"a\ud800"', "an unpaired surrogate"), (r'"\udc00"', "unpaired")],
)
def test_string_literals_that_cannot_be_stored_are_invalid_filter(literal: str, problem: str) -> None:
    with pytest.raises(InvalidFilter, match=problem):
        parse_filter(f"userName eq {literal}")
    with pytest.raises(InvalidPath, match=problem):
        parse_patch_path(f"emails[value eq {literal}]")


@pytest.mark.parametrize("number", ["1e999", "-1e999", "9223372036854775808", "-9223372036854775809"])
def test_numbers_beyond_64_bits_or_a_double_are_invalid_filter(number: str) -> None:
    with pytest.raises(InvalidFilter, match="number is out of range at position 9"):
        parse_filter(f"title eq {number}")


def test_numbers_at_the_64_bit_bounds_parse() -> None:
    assert parse_filter("title gt -9223372036854775808") == Compare(AttrPath("title"), "gt", -(2**63))
    assert parse_filter("title lt 9223372036854775807") == Compare(AttrPath("title"), "lt", 2**63 - 1)


# -- errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('userName xx "a"', "at position 9"),
        ("userName eq bjensen", "at position 12"),
        ("userName eq 01", "at position 12"),
        (r'userName eq "\q"', "at position 12"),
        ('userName eq "bjensen', "at position 12"),
        ('"userName" eq "a"', "at position 0"),
        ("userName pr title pr", "at position 12"),
        ("userName pr)", "at position 11"),
        (") userName pr", "at position 0"),
        ('emails[type eq "work"].va.lue eq "x"', "at position 22"),
        ('emails[type eq "work"].value', "at end of input"),
        ('emails.type[value eq "x"]', "at position 11"),
        ('emails[type eq "work"', "at end of input"),
        ("(userName pr", "at end of input"),
        ('userName eq "a" and', "at end of input"),
        ("userName eq", "at end of input"),
        ("userName", "at end of input"),
        ("not (userName pr", "at end of input"),
    ],
)
def test_bad_syntax_is_invalid_filter_with_the_position(text: str, where: str) -> None:
    with pytest.raises(InvalidFilter) as caught:
        parse_filter(text)
    assert caught.value.scim_type == "invalidFilter"
    assert caught.value.status == 400
    assert where in caught.value.detail
    assert repr(text) in caught.value.detail


@pytest.mark.parametrize("text", ["", " ", "\t\n"])
def test_an_empty_filter_is_invalid(text: str) -> None:
    with pytest.raises(InvalidFilter, match="empty"):
        parse_filter(text)


# -- limits ---------------------------------------------------------------------------


def _padded(length: int) -> str:
    head = 'userName eq "'
    return head + "x" * (length - len(head) - 1) + '"'


def test_a_filter_of_the_maximum_length_parses() -> None:
    text = _padded(MAX_FILTER_LENGTH)
    assert len(text) == MAX_FILTER_LENGTH
    assert isinstance(parse_filter(text), Compare)


def test_a_longer_filter_is_rejected_before_parsing() -> None:
    with pytest.raises(InvalidFilter, match=f"longer than {MAX_FILTER_LENGTH}"):
        parse_filter(_padded(MAX_FILTER_LENGTH + 1))


def _nested(opening: str, levels: int, inner: str = "type pr") -> str:
    return opening * levels + inner + ")" * levels


# The top-level expression is one level; a value path's filter is one more.
@pytest.mark.parametrize(
    "text",
    [
        _nested("(", MAX_DEPTH - 1),
        _nested("not (", MAX_DEPTH - 1),
        "emails[" + _nested("(", MAX_DEPTH - 2) + "]",
    ],
    ids=["parentheses", "not", "value-path"],
)
def test_nesting_up_to_the_depth_limit_parses(text: str) -> None:
    assert parse_filter(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        _nested("(", MAX_DEPTH),
        _nested("not (", MAX_DEPTH),
        "emails[" + _nested("(", MAX_DEPTH - 1) + "]",
        _nested("(", 10 * MAX_DEPTH),
    ],
    ids=["parentheses", "not", "value-path", "far-beyond"],
)
def test_nesting_beyond_the_depth_limit_is_rejected(text: str) -> None:
    with pytest.raises(InvalidFilter, match="nested too deeply"):
        parse_filter(text)


def test_long_flat_filters_within_the_length_limit_do_not_hit_the_depth_limit() -> None:
    text = " or ".join(f'userName eq "u{i}"' for i in range(150))
    assert len(text) < MAX_FILTER_LENGTH
    tree = parse_filter(text)
    assert isinstance(tree, Or)
    assert len(tree.terms) == 150


# -- PATCH paths ----------------------------------------------------------------------

RFC_PATH_TREES = [
    PatchPath(AttrPath("members")),
    PatchPath(AttrPath("name", "familyName")),
    PatchPath(AttrPath("addresses"), Compare(AttrPath("type"), "eq", "work")),
    PatchPath(AttrPath("members"), Compare(AttrPath("value"), "eq", "2819c223-7f76-453a-919d-413861904646")),
    PatchPath(
        AttrPath("members"),
        Compare(AttrPath("value"), "eq", "2819c223-7f76-453a-919d-413861904646"),
        "displayName",
    ),
]


@pytest.mark.parametrize(("text", "path"), list(zip(RFC_PATHS, RFC_PATH_TREES, strict=True)))
def test_rfc_7644_patch_path_examples_parse(text: str, path: PatchPath) -> None:
    assert parse_patch_path(text) == path


@pytest.mark.parametrize(
    ("text", "path"),
    [
        (
            'emails[type eq "work"].value',
            PatchPath(AttrPath("emails"), Compare(AttrPath("type"), "eq", "work"), "value"),
        ),
        (
            'EMAILS[TYPE EQ "work"].VALUE',
            PatchPath(AttrPath("EMAILS"), Compare(AttrPath("TYPE"), "eq", "work"), "VALUE"),
        ),
        (
            f"{ENTERPRISE_SCHEMA}:manager.value",
            PatchPath(AttrPath("manager", "value", ENTERPRISE_SCHEMA)),
        ),
        (
            f"{ENTERPRISE_SCHEMA}:employeeNumber",
            PatchPath(AttrPath("employeeNumber", None, ENTERPRISE_SCHEMA)),
        ),
        (
            'members[value eq"2819c223-7f76-453a-919d-413861904646"]',
            PatchPath(
                AttrPath("members"), Compare(AttrPath("value"), "eq", "2819c223-7f76-453a-919d-413861904646")
            ),
        ),
        (
            'emails[type eq "a]b"].value',
            PatchPath(AttrPath("emails"), Compare(AttrPath("type"), "eq", "a]b"), "value"),
        ),
        (
            '  addresses[type eq "work"]  ',
            PatchPath(AttrPath("addresses"), Compare(AttrPath("type"), "eq", "work")),
        ),
        (
            'members[value eq "a" or value eq "b"]',
            PatchPath(
                AttrPath("members"),
                Or((Compare(AttrPath("value"), "eq", "a"), Compare(AttrPath("value"), "eq", "b"))),
            ),
        ),
    ],
)
def test_patch_paths_take_a_value_filter_and_a_trailing_sub_attribute(text: str, path: PatchPath) -> None:
    assert parse_patch_path(text) == path


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        'emails[type eq "work"',
        "emails]",
        "emails[]",
        'emails[type eq "work"]value',
        'emails[type eq "work"].value.display',
        'emails[type eq "work"].',
        'emails[type eq "work"][value eq "x"]',
        'name.givenName[value eq "x"]',
        'emails[type xx "work"]',
        "emails[type eq work]",
        'emails[type[value eq "x"]]',
        "a.b.c",
        "1emails",
        "x" * (MAX_FILTER_LENGTH + 1),
    ],
)
def test_malformed_patch_paths_are_invalid_path_not_invalid_filter(text: str) -> None:
    with pytest.raises(InvalidPath) as caught:
        parse_patch_path(text)
    assert caught.value.scim_type == "invalidPath"
    assert not isinstance(caught.value, InvalidFilter)
