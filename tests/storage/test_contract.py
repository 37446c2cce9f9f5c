"""The storage contract: every backend (SQLite, a real PostgreSQL) passes these unchanged."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from scim_server.scim.casefold import fold
from scim_server.scim.errors import (
    InvalidFilter,
    InvalidValue,
    NotFound,
    PreconditionFailed,
    Uniqueness,
)
from scim_server.scim.filter import parse_filter
from scim_server.scim.limits import MAX_INDEXED_LENGTH, parse_json
from scim_server.scim.patch import MemberChange
from scim_server.scim.projection import parse_projection
from scim_server.scim.query import ListQuery
from scim_server.scim.resource import normalize
from scim_server.scim.schemas import group_type, user_type
from scim_server.storage import Storage

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def user(user_name: str, /, **extra: Any) -> dict[str, Any]:
    return {"userName": user_name, **extra}


def ids(page_resources: list[dict[str, Any]]) -> set[str]:
    return {r["id"] for r in page_resources}


def query(
    storage: Storage, directory: str, text: str | None, kind: str = "User", **kw: Any
) -> list[dict[str, Any]]:
    page = storage.query(directory, kind, ListQuery(filter=parse_filter(text) if text else None, **kw))  # type: ignore[arg-type]
    return page.resources


# -- create / read --------------------------------------------------------------------------


def test_create_then_get_returns_the_same_resource(storage: Storage, directory: str) -> None:
    created = storage.create(directory, "User", user("bjensen", active=True, name={"givenName": "Barbara"}))
    fetched = storage.get(directory, "User", created["id"])
    assert fetched["userName"] == "bjensen"
    assert fetched["name"] == {"givenName": "Barbara"}
    assert fetched["meta"]["resourceType"] == "User"
    assert fetched["meta"]["version"] == 'W/"1"'
    assert fetched["meta"]["created"] == created["meta"]["created"]


def test_get_unknown_id_raises_not_found(storage: Storage, directory: str) -> None:
    with pytest.raises(NotFound):
        storage.get(directory, "User", "does-not-exist")


def test_user_name_is_unique_case_insensitively(storage: Storage, directory: str) -> None:
    storage.create(directory, "User", user("BJensen"))
    with pytest.raises(Uniqueness):
        storage.create(directory, "User", user("bjensen"))


def test_directories_are_isolated(storage: Storage, directory: str) -> None:
    other = f"{directory}-other"
    created = storage.create(directory, "User", user("same"))
    storage.create(other, "User", user("same"))  # no uniqueness clash across directories
    with pytest.raises(NotFound):
        storage.get(other, "User", created["id"])
    assert len(query(storage, other, 'userName eq "same"')) == 1


def test_group_display_name_is_unique(storage: Storage, directory: str) -> None:
    storage.create(directory, "Group", {"displayName": "Admins"})
    with pytest.raises(Uniqueness):
        storage.create(directory, "Group", {"displayName": "admins"})


# -- replace / patch ------------------------------------------------------------------------


def test_replace_bumps_version_and_rejects_a_stale_if_match(storage: Storage, directory: str) -> None:
    created = storage.create(directory, "User", user("a", title="x"))
    updated = storage.replace(directory, "User", created["id"], user("a"), if_match='W/"1"')
    assert updated["meta"]["version"] == 'W/"2"'
    assert "title" not in updated
    with pytest.raises(PreconditionFailed):
        storage.replace(directory, "User", created["id"], user("a"), if_match='W/"1"')
    assert storage.get(directory, "User", created["id"])["meta"]["version"] == 'W/"2"'


def test_replace_onto_a_taken_user_name_fails_and_keeps_data(storage: Storage, directory: str) -> None:
    storage.create(directory, "User", user("taken"))
    mine = storage.create(directory, "User", user("mine", title="keep"))
    with pytest.raises(Uniqueness):
        storage.replace(directory, "User", mine["id"], user("TAKEN"), if_match=None)
    assert storage.get(directory, "User", mine["id"])["title"] == "keep"


def test_concurrent_patches_lose_no_update(storage: Storage, directory: str) -> None:
    created = storage.create(directory, "User", user("busy"))

    def add_email(n: int) -> None:
        def mutate(doc: dict[str, Any]) -> dict[str, Any]:
            return {**doc, "emails": [*doc.get("emails", []), {"value": f"{n}@example.com"}]}

        storage.patch(directory, "User", created["id"], mutate, [], if_match=None, members=False)

    threads = [threading.Thread(target=add_email, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    emails = {e["value"] for e in storage.get(directory, "User", created["id"])["emails"]}
    assert emails == {f"{n}@example.com" for n in range(8)}


# -- groups and membership --------------------------------------------------------------------


def make_users(storage: Storage, directory: str, n: int) -> list[str]:
    return [storage.create(directory, "User", user(f"u{i}", displayName=f"User {i}"))["id"] for i in range(n)]


def member_ids(storage: Storage, directory: str, group_id: str) -> set[str]:
    return {m["value"] for m in storage.get(directory, "Group", group_id).get("members", [])}


def test_group_members_are_a_relation(storage: Storage, directory: str) -> None:
    a, b, c = make_users(storage, directory, 3)
    group = storage.create(directory, "Group", {"displayName": "g", "members": [{"value": a}, {"value": b}]})
    assert member_ids(storage, directory, group["id"]) == {a, b}
    member = next(m for m in storage.get(directory, "Group", group["id"])["members"] if m["value"] == a)
    assert member == {"value": a, "type": "User"}
    storage.patch(
        directory,
        "Group",
        group["id"],
        None,
        [MemberChange("add", (c,))],
        if_match=None,
        members=False,
    )
    storage.patch(
        directory,
        "Group",
        group["id"],
        None,
        [MemberChange("remove", (a,))],
        if_match=None,
        members=False,
    )
    assert member_ids(storage, directory, group["id"]) == {b, c}


def test_removing_listed_members_never_empties_the_group(storage: Storage, directory: str) -> None:
    users = make_users(storage, directory, 4)
    group = storage.create(directory, "Group", {"displayName": "g", "members": [{"value": u} for u in users]})
    storage.patch(
        directory,
        "Group",
        group["id"],
        None,
        [MemberChange("remove", (users[0], "not-a-member"))],
        if_match=None,
        members=False,
    )
    assert member_ids(storage, directory, group["id"]) == set(users[1:])


def test_replace_members_sets_exactly_the_given_members(storage: Storage, directory: str) -> None:
    a, b, c = make_users(storage, directory, 3)
    group = storage.create(directory, "Group", {"displayName": "g", "members": [{"value": a}, {"value": b}]})
    storage.patch(
        directory,
        "Group",
        group["id"],
        None,
        [MemberChange("replace", (b, c))],
        if_match=None,
        members=False,
    )
    assert member_ids(storage, directory, group["id"]) == {b, c}
    storage.patch(
        directory,
        "Group",
        group["id"],
        None,
        [MemberChange("replace", ())],
        if_match=None,
        members=False,
    )
    assert member_ids(storage, directory, group["id"]) == set()


def test_filtered_member_removal(storage: Storage, directory: str) -> None:
    (a,) = make_users(storage, directory, 1)
    nested = storage.create(directory, "Group", {"displayName": "nested"})
    group = storage.create(
        directory, "Group", {"displayName": "g", "members": [{"value": a}, {"value": nested["id"]}]}
    )
    change = MemberChange("remove_where", filter=parse_filter('type eq "Group"'))
    storage.patch(directory, "Group", group["id"], None, [change], if_match=None, members=False)
    assert member_ids(storage, directory, group["id"]) == {a}


def test_unknown_member_is_rejected_and_nothing_changes(storage: Storage, directory: str) -> None:
    (a,) = make_users(storage, directory, 1)
    group = storage.create(directory, "Group", {"displayName": "g"})
    with pytest.raises(InvalidValue):
        storage.patch(
            directory,
            "Group",
            group["id"],
            None,
            [MemberChange("add", (a, "ghost"))],
            if_match=None,
            members=False,
        )
    assert member_ids(storage, directory, group["id"]) == set()
    with pytest.raises(InvalidValue):
        storage.create(directory, "Group", {"displayName": "h", "members": [{"value": "ghost"}]})
    assert query(storage, directory, 'displayName eq "h"', kind="Group") == []


def test_member_change_bumps_the_group_version(storage: Storage, directory: str) -> None:
    (a,) = make_users(storage, directory, 1)
    group = storage.create(directory, "Group", {"displayName": "g"})
    before = storage.get(directory, "Group", group["id"])["meta"]["version"]
    storage.patch(
        directory,
        "Group",
        group["id"],
        None,
        [MemberChange("add", (a,))],
        if_match=None,
        members=False,
    )
    after = storage.get(directory, "Group", group["id"])["meta"]["version"]
    assert after != before


def test_member_change_on_unknown_group_raises_not_found(storage: Storage, directory: str) -> None:
    (a,) = make_users(storage, directory, 1)
    for kind in ("add", "remove"):
        with pytest.raises(NotFound):
            storage.patch(
                directory,
                "Group",
                "nope",
                None,
                [MemberChange(kind, (a,))],
                if_match=None,
                members=False,
            )  # type: ignore[arg-type]


def test_concurrent_member_adds_lose_no_member(storage: Storage, directory: str) -> None:
    users = make_users(storage, directory, 40)
    group = storage.create(directory, "Group", {"displayName": "g"})

    def add(chunk: list[str]) -> None:
        for u in chunk:
            storage.patch(
                directory,
                "Group",
                group["id"],
                None,
                [MemberChange("add", (u,))],
                if_match=None,
                members=False,
            )

    threads = [threading.Thread(target=add, args=(users[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert member_ids(storage, directory, group["id"]) == set(users)


def test_user_shows_its_groups_and_deleting_it_removes_memberships(storage: Storage, directory: str) -> None:
    a, b = make_users(storage, directory, 2)
    group = storage.create(
        directory, "Group", {"displayName": "team", "members": [{"value": a}, {"value": b}]}
    )
    assert storage.get(directory, "User", a)["groups"] == [
        {"value": group["id"], "type": "direct", "display": "team"}
    ]
    version = storage.get(directory, "Group", group["id"])["meta"]["version"]
    storage.delete(directory, "User", a, if_match=None)
    assert member_ids(storage, directory, group["id"]) == {b}
    assert storage.get(directory, "Group", group["id"])["meta"]["version"] != version
    with pytest.raises(NotFound):
        storage.delete(directory, "User", a, if_match=None)


def test_get_without_members_skips_them(storage: Storage, directory: str) -> None:
    (a,) = make_users(storage, directory, 1)
    group = storage.create(directory, "Group", {"displayName": "g", "members": [{"value": a}]})
    assert "members" not in storage.get(directory, "Group", group["id"], members=False)


def test_delete_with_stale_if_match_keeps_the_resource(storage: Storage, directory: str) -> None:
    created = storage.create(directory, "User", user("keep"))
    with pytest.raises(PreconditionFailed):
        storage.delete(directory, "User", created["id"], if_match='W/"7"')
    assert storage.get(directory, "User", created["id"])["userName"] == "keep"


# -- queries ------------------------------------------------------------------------------------


@pytest.fixture
def people(storage: Storage, directory: str) -> dict[str, str]:
    rows = {
        "bjensen": user(
            "bjensen",
            active=True,
            title="Tour Guide",
            name={"givenName": "Barbara", "familyName": "Jensen"},
            emails=[
                {"value": "bjensen@example.com", "type": "work", "primary": True},
                {"value": "babs@home.example", "type": "home"},
            ],
            externalId="ext-1",
            **{ENTERPRISE: {"employeeNumber": "701984", "manager": {"value": "boss"}}},
        ),
        "jsmith": user(
            "jsmith",
            active=False,
            title="Engineer",
            name={"givenName": "John"},
            emails=[{"value": "j_smith@corp.example", "type": "work"}],
        ),
        "100%_real": user("100%_real", active=True),
    }
    return {name: storage.create(directory, "User", doc)["id"] for name, doc in rows.items()}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('userName eq "BJENSEN"', {"bjensen"}),
        ('userName ne "bjensen"', {"jsmith", "100%_real"}),
        ('userName sw "bj"', {"bjensen"}),
        ('userName ew "SMITH"', {"jsmith"}),
        ('userName co "%"', {"100%_real"}),
        ('userName co "_"', {"100%_real"}),
        ('emails.value co "_"', {"jsmith"}),
        ('externalId eq "ext-1"', {"bjensen"}),
        ('externalId eq "EXT-1"', set()),
        ("title pr", {"bjensen", "jsmith"}),
        ("not (title pr)", {"100%_real"}),
        ("active eq true", {"bjensen", "100%_real"}),
        ("active eq false", {"jsmith"}),
        ('name.givenName eq "barbara"', {"bjensen"}),
        ('emails[type eq "work" and value co "@EXAMPLE.com"]', {"bjensen"}),
        ('emails[type eq "home"]', {"bjensen"}),
        ('emails co "corp"', {"jsmith"}),
        ("emails pr", {"bjensen", "jsmith"}),
        ('title eq "Engineer" or userName eq "bjensen" and active eq false', {"jsmith"}),
        ('(title eq "Engineer" or userName eq "bjensen") and active eq true', {"bjensen"}),
        (f'{ENTERPRISE}:employeeNumber eq "701984"', {"bjensen"}),
        (f'{ENTERPRISE}:manager.value eq "boss"', {"bjensen"}),
        ('meta.created gt "2000-01-01T00:00:00Z"', {"bjensen", "jsmith", "100%_real"}),
        ('meta.lastModified lt "2000-01-01T00:00:00Z"', set()),
        ('USERNAME EQ "jsmith"', {"jsmith"}),
    ],
)
def test_filters_select_the_right_users(
    storage: Storage, directory: str, people: dict[str, str], text: str, expected: set[str]
) -> None:
    found = ids(query(storage, directory, text))
    assert found == {people[n] for n in expected}


@pytest.mark.parametrize(
    "text",
    [
        'nosuch eq "x"',
        'name.nosuch eq "x"',
        'urn:example:nope:attr eq "x"',
        "active gt true",
        'name eq "x"',
    ],
)
def test_bad_filters_raise_invalid_filter(storage: Storage, directory: str, text: str) -> None:
    with pytest.raises(InvalidFilter):
        query(storage, directory, text)


def test_group_membership_filters(storage: Storage, directory: str) -> None:
    a, b = make_users(storage, directory, 2)
    g1 = storage.create(directory, "Group", {"displayName": "one", "members": [{"value": a}]})["id"]
    g2 = storage.create(directory, "Group", {"displayName": "two", "members": [{"value": b}]})["id"]
    assert ids(query(storage, directory, f'members.value eq "{a}"', kind="Group")) == {g1}
    assert ids(query(storage, directory, f'members[value eq "{b}"]', kind="Group")) == {g2}
    assert ids(query(storage, directory, f'groups.value eq "{g1}"')) == {a}
    assert ids(query(storage, directory, 'groups.display eq "TWO"')) == {b}
    assert ids(query(storage, directory, 'displayName eq "ONE"', kind="Group")) == {g1}


def test_pagination_and_total_results(storage: Storage, directory: str) -> None:
    created = [storage.create(directory, "User", user(f"p{i:02d}"))["id"] for i in range(7)]
    page = storage.query(directory, "User", ListQuery(start_index=3, count=2))
    assert page.total == 7
    assert [r["id"] for r in page.resources] == created[2:4]
    beyond = storage.query(directory, "User", ListQuery(start_index=50, count=2))
    assert (beyond.total, beyond.resources) == (7, [])
    counted = storage.query(directory, "User", ListQuery(count=0))
    assert (counted.total, counted.resources) == (7, [])


def test_sort_by_user_name_descending(storage: Storage, directory: str) -> None:
    for name in ("b", "C", "a"):
        storage.create(directory, "User", user(name))
    page = storage.query(
        directory,
        "User",
        ListQuery(sort_by=parse_filter("userName pr").path, descending=True),  # type: ignore[union-attr]
    )
    assert [r["userName"] for r in page.resources] == ["C", "b", "a"]


def test_list_without_members_projection_reads_no_members(storage: Storage, directory: str) -> None:
    (a,) = make_users(storage, directory, 1)
    storage.create(directory, "Group", {"displayName": "g", "members": [{"value": a}]})
    projection = parse_projection(group_type(), None, "members")
    page = storage.query(directory, "Group", ListQuery(projection=projection))
    assert page.total == 1
    assert "members" not in page.resources[0]


def test_stats_and_delete_directory(storage: Storage, directory: str) -> None:
    make_users(storage, directory, 3)
    storage.create(directory, "Group", {"displayName": "g"})
    stats = storage.stats(directory)
    assert (stats.users, stats.groups) == (3, 1)
    assert stats.last_change is not None
    storage.create(f"{directory}-keep", "User", user("stays"))
    storage.delete_directory(directory)
    assert (storage.stats(directory).users, storage.stats(directory).groups) == (0, 0)
    assert storage.stats(f"{directory}-keep").users == 1


def test_purge_inactive_deletes_only_deactivated_users_of_the_directory(
    storage: Storage, directory: str
) -> None:
    kept = storage.create(directory, "User", user("active", active=True))["id"]
    unknown = storage.create(directory, "User", user("no-flag"))["id"]
    gone = storage.create(directory, "User", user("left", active=False))["id"]
    other = storage.create(f"{directory}-x", "User", user("left", active=False))["id"]
    group = storage.create(
        directory, "Group", {"displayName": "g", "members": [{"value": kept}, {"value": gone}]}
    )
    assert storage.purge_inactive(directory) == 1
    assert member_ids(storage, directory, group["id"]) == {kept}
    assert storage.get(directory, "Group", group["id"])["meta"]["version"] != group["meta"]["version"]
    with pytest.raises(NotFound):
        storage.get(directory, "User", gone)
    assert storage.get(directory, "User", unknown)["userName"] == "no-flag"
    assert storage.get(f"{directory}-x", "User", other)["active"] is False
    assert storage.purge_inactive(directory) == 0


# -- edge-case values -----------------------------------------------------------------------
#
# What the input policy admits, every backend stores exactly and finds the same way; what
# it refuses, no backend ever sees. A new backend inherits this table.

EDGE_VALUES = {
    "longest-ascii": "a" * MAX_INDEXED_LENGTH,
    "longest-astral": "\U0001f600" * MAX_INDEXED_LENGTH,
    "longest-dotted-capital-i": "\u0130" * MAX_INDEXED_LENGTH,
    "longest-random-cjk": "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(MAX_INDEXED_LENGTH)),
    "greek-final-sigma": "ΝΙΚΟΣ Παπαδόπουλος",
    "mixed-case-latin": "ÄrGER.Ünïcode@Example.COM",
    "mixed-case-cyrillic": "Алексей.ИВАНОВ",
    "like-wildcards": "100%_off\\_[x]*?",
    "quotes-and-backslashes": 'say "hi" \\ bye \\\\',
    "control-characters": "tab\there\nnewline\x1f\x7f",
    "sql-and-json-looking": '\'; DROP TABLE users; -- {"a": [1]}',
    "emoji-sequence": "family 👩\u200d👩\u200d👧 flag 🇺🇦",
    "combining-marks": "e\u0301le\u0300ve",
    "surrogate-pair-character": "\U0010ffff\U0001d11e",
}
REFUSED_VALUES = {
    "nul": "a\x00b",
    "lone-high-surrogate": "a\ud800",
    "lone-low-surrogate": "\udfffz",
}
# "Z00Yoff_[x]*Q" would match the wildcard value's substring if % and _ were not escaped.
DECOYS = ["decoy", "Z00Yoff_[x]*Q", "b" * 10, "zz\u0130zz"]


def admitted(kind: str, doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` as the server would store it: serialised, parsed under the policy, normalized."""
    rt = user_type() if kind == "User" else group_type()
    return normalize(rt, parse_json(json.dumps(doc).encode()))


def literal(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def other_case(value: str) -> str:
    """``value`` with every character's case flipped where that folds back to the same text."""
    return "".join(c.swapcase() if fold(c.swapcase()) == fold(c) else c for c in value)


@pytest.mark.parametrize("value", list(EDGE_VALUES.values()), ids=list(EDGE_VALUES))
def test_edge_values_are_stored_exactly_in_every_attribute(
    storage: Storage, directory: str, value: str
) -> None:
    doc = admitted(
        "User",
        {
            "userName": value,
            "externalId": value,
            "displayName": value,
            "title": value,
            "name": {"givenName": value},
            "emails": [{"value": value, "type": "work"}],
            ENTERPRISE: {"department": value},
        },
    )
    created = storage.create(directory, "User", doc)
    group = storage.create(directory, "Group", admitted("Group", {"displayName": value, "externalId": value}))

    fetched = storage.get(directory, "User", created["id"])
    for name in ("userName", "externalId", "displayName", "title"):
        assert fetched[name] == value
    assert fetched["name"] == {"givenName": value}
    assert fetched["emails"] == [{"value": value, "type": "work"}]
    assert fetched[ENTERPRISE] == {"department": value}
    assert storage.get(directory, "Group", group["id"])["displayName"] == value


@pytest.mark.parametrize("value", list(EDGE_VALUES.values()), ids=list(EDGE_VALUES))
def test_edge_values_are_found_by_every_operator_in_either_case(
    storage: Storage, directory: str, value: str
) -> None:
    for decoy in DECOYS:
        storage.create(directory, "User", admitted("User", {"userName": decoy, "title": decoy}))
    doc = {"userName": value, "externalId": value, "title": value, "emails": [{"value": value}]}
    wanted = {storage.create(directory, "User", admitted("User", doc))["id"]}
    flipped = other_case(value)
    middle = value[1:-1] if len(value) > 2 else value

    for path in ("userName", "title", "emails.value"):
        assert ids(query(storage, directory, f"{path} eq {literal(flipped)}")) == wanted, path
        assert ids(query(storage, directory, f"{path} sw {literal(flipped[:3])}")) == wanted, path
        assert ids(query(storage, directory, f"{path} ew {literal(flipped[-3:])}")) == wanted, path
        assert ids(query(storage, directory, f"{path} co {literal(middle)}")) == wanted, path
    assert ids(query(storage, directory, f"externalId eq {literal(value)}")) == wanted
    if flipped != value:
        assert ids(query(storage, directory, f"externalId eq {literal(flipped)}")) == set()  # caseExact


@pytest.mark.parametrize("value", list(EDGE_VALUES.values()), ids=list(EDGE_VALUES))
def test_edge_values_clash_with_their_other_case_for_unique_names(
    storage: Storage, directory: str, value: str
) -> None:
    storage.create(directory, "User", admitted("User", {"userName": value}))
    storage.create(directory, "Group", admitted("Group", {"displayName": value}))

    with pytest.raises(Uniqueness):
        storage.create(directory, "User", admitted("User", {"userName": other_case(value)}))
    with pytest.raises(Uniqueness):
        storage.create(directory, "Group", admitted("Group", {"displayName": other_case(value)}))


@pytest.mark.parametrize("value", list(REFUSED_VALUES.values()), ids=list(REFUSED_VALUES))
@pytest.mark.parametrize("attribute", ["userName", "title", "emails"])
def test_values_no_backend_can_hold_are_refused_before_storage(value: str, attribute: str) -> None:
    doc: dict[str, Any] = {"userName": "u", attribute: [{"value": value}] if attribute == "emails" else value}
    with pytest.raises(InvalidValue, match="contains"):
        admitted("User", doc)


@pytest.mark.parametrize("name", ["userName", "externalId"])
def test_indexed_values_one_past_the_limit_are_refused_before_storage(name: str) -> None:
    with pytest.raises(InvalidValue, match=f"at most {MAX_INDEXED_LENGTH}"):
        admitted("User", {"userName": "u", name: "\U0001f600" * (MAX_INDEXED_LENGTH + 1)})
