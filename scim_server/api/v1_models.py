"""The directory API's request and response shapes (pydantic): the OpenAPI document's source.

Shapes follow what hosted directory-sync APIs return, so application code ports.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ORDER = Literal["asc", "desc"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Email(_Model):
    primary: bool
    type: str | None
    value: str


class Role(_Model):
    slug: str


class GroupSummary(_Model):
    object: Literal["directory_group"]
    id: str
    directory_id: str
    organization_id: str | None
    name: str


class DirectoryUser(_Model):
    """A user of a directory, normalized from its SCIM resource."""

    object: Literal["directory_user"]
    id: str
    idp_id: str = Field(description="the identity provider's id (SCIM externalId)")
    directory_id: str
    organization_id: str | None
    first_name: str | None
    last_name: str | None
    email: str | None = Field(description="the primary email (else the first)")
    emails: list[Email]
    username: str | None
    state: Literal["active", "inactive"]
    groups: list[GroupSummary]
    custom_attributes: dict[str, Any] = Field(description="SCIM paths mapped by the directory's policy")
    raw_attributes: dict[str, Any] = Field(description="the SCIM attributes the identity provider sent")
    role: Role | None
    roles: list[Role]
    created_at: str
    updated_at: str


class DirectoryGroup(_Model):
    """A group of a directory."""

    object: Literal["directory_group"]
    id: str
    idp_id: str
    directory_id: str
    organization_id: str | None
    name: str
    created_at: str
    updated_at: str
    raw_attributes: dict[str, Any]


class Directory(_Model):
    """A SCIM directory of the organization, with its counts and last change."""

    object: Literal["directory"]
    id: str
    organization_id: str | None
    name: str
    state: Literal["active", "inactive"]
    user_count: int
    group_count: int
    last_sync_at: str | None = Field(description="when the identity provider last changed anything")


class Event(_Model):
    """A change event; ``data`` is the object it is about (updates add ``previous_attributes``)."""

    object: Literal["event"]
    id: str
    event: str
    data: dict[str, Any]
    created_at: str


class ListMetadata(_Model):
    before: str | None = Field(description="pass as `before` for the previous page (null: none)")
    after: str | None = Field(description="pass as `after` for the next page (null: none)")


class EventListMetadata(_Model):
    after: str | None = Field(description="pass as `after` to continue after the last event")


class DirectoryList(_Model):
    object: Literal["list"]
    data: list[Directory]
    list_metadata: ListMetadata


class UserList(_Model):
    object: Literal["list"]
    data: list[DirectoryUser]
    list_metadata: ListMetadata


class GroupList(_Model):
    object: Literal["list"]
    data: list[DirectoryGroup]
    list_metadata: ListMetadata


class EventList(_Model):
    object: Literal["list"]
    data: list[Event]
    list_metadata: EventListMetadata


class Error(_Model):
    code: str
    message: str


# -- query parameters (validated by ``v1_params``, described by ``openapi``) ----------------

MAX_LIMIT = 100
DEFAULT_LIMIT = 10
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$"
EVENTS_CURSOR_PATTERN = r"^[A-Za-z0-9_-]{1,4096}$"
