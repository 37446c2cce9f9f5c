"""The ConfigMap backend's pure parts: object names, claims, the JSON, the guards, the limiter."""

from __future__ import annotations

import pytest

from scim_server.scim.errors import InvalidValue
from scim_server.storage.kube.objects import (
    Entry,
    build_object,
    check_id,
    claim_name,
    object_name,
    parse_object,
)
from scim_server.storage.kube.ratelimit import TooManyWrites, WriteLimiter


def entry(**changes: object) -> Entry:
    values: dict[str, object] = {
        "directory": "acme",
        "kind": "Group",
        "id": "6f1c0c4e-0000-4000-8000-000000000001",
        "data": {"displayName": "Ops", "externalId": "x"},
        "created": "2026-01-01T00:00:00.000000Z",
        "modified": "2026-01-02T00:00:00.000000Z",
        "version": 3,
        "members": ("a", "b"),
    }
    values.update(changes)
    return Entry(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("flavour", ["ConfigMap", "Secret"])
def test_an_object_reads_back_as_the_entry_it_stores(flavour: str) -> None:
    original = entry()
    body = build_object(flavour, original, 1024)  # type: ignore[arg-type]
    body["metadata"] |= {"resourceVersion": "42", "uid": "u-1"}
    parsed = parse_object(flavour, body)  # type: ignore[arg-type]
    assert parsed is not None
    assert (parsed.data, parsed.members, parsed.version, parsed.key) == (
        original.data,
        original.members,
        3,
        "ops",
    )
    assert (parsed.name, parsed.resource_version, parsed.uid) == (body["metadata"]["name"], "42", "u-1")


def test_names_are_dns_names_and_claims_fold_case() -> None:
    assert object_name("acme", "User", "abc") == "acme-u-abc"
    assert claim_name("acme", "User", "ΝΙΚΟΣ") == claim_name("acme", "User", "νικοσ")
    assert claim_name("acme", "User", "x") != claim_name("acme", "Group", "x")
    assert len(claim_name("a" * 63, "Group", "x")) <= 253


def test_ids_that_cannot_name_an_object_are_refused() -> None:
    with pytest.raises(InvalidValue):
        check_id("Not/A Name")


def test_the_byte_cap_is_checked_before_sending() -> None:
    with pytest.raises(InvalidValue, match="more than the 64 bytes"):
        build_object("ConfigMap", entry(), 64)


def test_a_foreign_object_is_not_an_entry() -> None:
    assert parse_object("ConfigMap", {"metadata": {"name": "x", "labels": {}}, "data": {}}) is None


def test_the_write_limiter_refuses_a_wait_longer_than_its_bound() -> None:
    limiter = WriteLimiter(rate=1.0, burst=1, max_wait=0.5)
    limiter.acquire()  # the burst: immediate
    with pytest.raises(TooManyWrites) as refused:
        limiter.acquire()
    assert refused.value.status == 429
    assert refused.value.headers == {"Retry-After": "1"}
