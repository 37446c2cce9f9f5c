"""Property-based fuzzing of the SCIM endpoints, on every backend.

For every generated request (hostile bodies, attribute values, filters, PATCH paths,
query parameters, headers, Bulk documents; see ``strategies.py``):

- the answer is never a 5xx;
- a rejected request (4xx) changes nothing stored, nor does a GET, nor a Bulk request
  whose every operation failed: a snapshot of the directory taken before is compared
  with one taken after;
- an error answer is a SCIM Error body whose ``status`` matches the HTTP status.

Every example starts from the same seeded directory (reseeded when the previous example
changed it), so a failure replays and shrinks deterministically.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from scim_server.storage import Storage
from tests.api.conftest import ScimClient
from tests.fuzz.conftest import record
from tests.fuzz.strategies import ENTERPRISE, GROUP, USER, Request, requests
from tests.support.snapshot import Snapshot, snapshot

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"

SURFACES = {
    "resources": ("create", "replace", "get", "list", "delete"),
    "patch": ("patch",),
    "queries": ("list", "search", "root", "get"),
    "bulk": ("bulk",),
    "anything": ("raw", "discovery", "create", "patch", "search", "delete"),
}


class World:
    """One directory in a known state, and the client that talks to it."""

    def __init__(self, scim: ScimClient, storage: Storage, backend: str) -> None:
        self.scim, self.storage, self.backend = scim, storage, backend
        self.user_ids: list[str] = []
        self.group_ids: list[str] = []
        self.seeded: Snapshot | None = None
        self.current: Snapshot | None = None

    def _create(self, path: str, body: dict[str, Any]) -> str:
        response = self.scim.post(path, json=body)
        assert response.status_code == 201, response.get_data(as_text=True)
        resource_id: str = response.get_json()["id"]
        return resource_id

    def reset(self) -> Snapshot:
        """Bring the directory back to the seed state (only if it left it) and return it."""
        if self.current is not None and self.current == self.seeded:
            return self.current
        self.storage.delete_directory(self.scim.directory)
        boss = self._create("/Users", {"schemas": [USER], "userName": "Boss", "active": True})
        report = self._create(
            "/Users",
            {
                "schemas": [USER, ENTERPRISE],
                "userName": "ΝΙΚΟΣ.\u0130\U0001f600@example.com",
                "externalId": "100%_off",
                "name": {"givenName": "Νίκος", "familyName": "Ölçer"},
                "emails": [
                    {"value": "nikos@example.com", "type": "work", "primary": True},
                    {"value": "n@home.example", "type": "home"},
                ],
                ENTERPRISE: {"manager": {"value": boss}, "department": "Tours"},
            },
        )
        inner = self._create(
            "/Groups", {"schemas": [GROUP], "displayName": "Inner", "members": [{"value": boss}]}
        )
        outer = self._create(
            "/Groups",
            {"schemas": [GROUP], "displayName": "Outer", "members": [{"value": report}, {"value": inner}]},
        )
        self.user_ids, self.group_ids = [boss, report], [inner, outer]
        self.seeded = self.current = snapshot(self.storage, self.scim.directory)
        return self.current

    def send(self, request: Request) -> TestResponse:
        kwargs: dict[str, Any] = {"headers": dict(request.headers)}
        if request.content_type is not None:
            kwargs["content_type"] = request.content_type
        if request.body is not None and request.chunked:
            kwargs["input_stream"] = io.BytesIO(request.body)
            kwargs["headers"]["Transfer-Encoding"] = "chunked"
            kwargs["environ_overrides"] = {"wsgi.input_terminated": True}
        elif request.body is not None:
            kwargs["data"] = request.body
        response = self.scim._call(request.method, request.path, **kwargs)
        record(self.backend, response.status_code)
        return response


@pytest.fixture
def world(fuzz_client: ScimClient, storage: Storage, backend: str) -> World:
    return World(fuzz_client, storage, backend)


def describe(request: Request, response: TestResponse) -> str:
    body = request.body[:300] if request.body is not None else None
    return (
        f"{request.method} {request.path[:300]} headers={request.headers} "
        f"content-type={request.content_type} "
        f"chunked={request.chunked}\nbody={body!r}\n-> {response.status_code} {response.get_data()[:500]!r}"
    )


def all_bulk_operations_failed(response: TestResponse) -> bool:
    if response.status_code != 200 or response.mimetype != "application/scim+json":
        return False
    operations = (response.get_json(silent=True) or {}).get("Operations")
    return isinstance(operations, list) and all(int(op["status"]) >= 400 for op in operations)


def check(world: World, request: Request) -> None:
    before = world.reset()
    response = world.send(request)
    where = describe(request, response)
    assert response.status_code < 500, where
    after = snapshot(world.storage, world.scim.directory)
    world.current = after
    rejected = response.status_code >= 400
    if (
        rejected
        or request.method in ("GET", "HEAD")
        or (request.path == "/Bulk" and all_bulk_operations_failed(response))
    ):
        assert after == before, f"stored data changed\n{where}"
    if rejected and request.method != "HEAD":
        body = json.loads(response.get_data())
        assert body["schemas"] == [ERROR], where
        assert body["status"] == str(response.status_code), where


@pytest.mark.parametrize("surface", list(SURFACES))
@settings(settings.get_profile("kubescim-fuzz"))
@given(data=st.data())
def test_no_request_gets_a_5xx_and_a_rejected_one_changes_nothing(
    world: World, surface: str, data: st.DataObject
) -> None:
    world.reset()
    request = data.draw(requests(world.user_ids, world.group_ids, SURFACES[surface]), label="request")
    check(world, request)
