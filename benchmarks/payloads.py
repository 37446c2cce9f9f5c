"""The SCIM bodies every target is loaded with, so that all of them do the same work.

One module builds them for the in-process seeding of scim2-server, the HTTP seeding of
kubescim and the wrk plans; ``{n}`` in a template is replaced by a unique suffix.
"""

from __future__ import annotations

import json
from typing import Any

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SCIM_JSON = "application/scim+json"


def user_name(n: str | int) -> str:
    """The userName of the user with suffix ``n``."""
    return f"user-{n}@example.com"


def user_body(n: str | int) -> dict[str, Any]:
    """A user as Okta and Entra send it on creation (core attributes only)."""
    name = user_name(n)
    return {
        "schemas": [USER_SCHEMA],
        "userName": name,
        "externalId": f"ext-{n}",
        "name": {"givenName": "Barbara", "familyName": f"Jensen-{n}"},
        "displayName": f"Barbara Jensen {n}",
        "emails": [{"value": name, "type": "work", "primary": True}],
        "active": True,
    }


def group_body(n: str | int, member_ids: list[str]) -> dict[str, Any]:
    """A group with the given members."""
    body: dict[str, Any] = {"schemas": [GROUP_SCHEMA], "displayName": f"group-{n}"}
    if member_ids:
        body["members"] = [{"value": i} for i in member_ids]
    return body


def add_members_body(member_ids: list[str]) -> dict[str, Any]:
    """The PATCH that Okta and Entra send to add members to a group."""
    return {
        "schemas": [PATCH_SCHEMA],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": i} for i in member_ids]}],
    }


def template(body: dict[str, Any], placeholder: str) -> str:
    """Serialize a body built with ``placeholder`` as its variable part, for a wrk plan.

    Raises ValueError when the placeholder does not survive serialization verbatim.
    """
    text = json.dumps(body, separators=(",", ":"))
    if placeholder not in text:
        raise ValueError(f"placeholder {placeholder!r} lost in {text!r}")
    return text
