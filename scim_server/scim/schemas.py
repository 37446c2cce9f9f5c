"""Attribute definitions of the resources we serve (RFC 7643 sections 4 and 8.7).

The definitions come from scim2-models' published schemas (``Resource.to_schema()``),
so the RFC's attribute table is typed once, by a maintained library, and we only
record where we deliberately differ. They drive validation, filtering (case rules),
projection (``returned``) and the ``/Schemas`` documents.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any, Final

from scim2_models import EnterpriseUser, Group, User
from scim2_models import Schema as ModelSchema

from .errors import InvalidFilter, ScimError
from .filter import AttrPath

USER_SCHEMA: Final = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA: Final = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_SCHEMA: Final = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_SCHEMA: Final = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST_SCHEMA: Final = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SEARCH_SCHEMA: Final = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
BULK_REQUEST_SCHEMA: Final = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE_SCHEMA: Final = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"


@dataclass(frozen=True, slots=True)
class Attribute:
    """One attribute definition; ``sub`` maps lower-cased names to sub-attributes."""

    name: str
    type: str
    multi_valued: bool = False
    required: bool = False
    case_exact: bool = False
    mutability: str = "readWrite"
    returned: str = "default"
    uniqueness: str = "none"
    description: str = ""
    canonical_values: tuple[str, ...] = ()
    reference_types: tuple[str, ...] = ()
    sub: dict[str, Attribute] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "multiValued": self.multi_valued,
            "description": self.description,
            "required": self.required,
            "caseExact": self.case_exact,
            "mutability": self.mutability,
            "returned": self.returned,
            "uniqueness": self.uniqueness,
        }
        if self.canonical_values:
            out["canonicalValues"] = list(self.canonical_values)
        if self.reference_types:
            out["referenceTypes"] = list(self.reference_types)
        if self.sub:
            out["subAttributes"] = [s.to_json() for s in self.sub.values()]
        return out


@dataclass(frozen=True, slots=True)
class Schema:
    id: str
    name: str
    description: str
    attributes: dict[str, Attribute]

    def to_json(self) -> dict[str, Any]:
        return {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": [a.to_json() for a in self.attributes.values()],
        }


@dataclass(frozen=True, slots=True)
class Resolved:
    """An attribute path bound to its definitions.

    ``schema`` is None for core and common attributes, else the extension URN under
    which the value is stored.
    """

    schema: str | None
    attr: Attribute
    sub: Attribute | None

    @property
    def leaf(self) -> Attribute:
        return self.sub or self.attr


@dataclass(frozen=True, slots=True)
class ResourceType:
    """A resource type: its endpoint, core schema and extensions."""

    name: str
    endpoint: str
    schema: Schema
    extensions: tuple[Schema, ...]
    description: str

    @property
    def schema_ids(self) -> tuple[str, ...]:
        return (self.schema.id, *(e.id for e in self.extensions))

    def extension(self, urn: str) -> Schema | None:
        lowered = urn.lower()
        for ext in self.extensions:
            if ext.id.lower() == lowered:
                return ext
        return None

    def resolve(self, path: AttrPath, error: type[ScimError] = InvalidFilter) -> Resolved:
        """Bind ``path`` to this type's definitions. Raises ``error`` for unknown names."""
        schema_urn: str | None = None
        if path.uri is not None:
            if path.uri.lower() == self.schema.id.lower():
                attrs = self.schema.attributes
            else:
                ext = self.extension(path.uri)
                if ext is None:
                    raise error(f"unknown schema {path.uri!r} in {str(path)!r}")
                attrs = ext.attributes
                schema_urn = ext.id
            attr = attrs.get(path.attr.lower()) or (
                COMMON_ATTRIBUTES.get(path.attr.lower()) if schema_urn is None else None
            )
        else:
            attr = COMMON_ATTRIBUTES.get(path.attr.lower()) or self.schema.attributes.get(path.attr.lower())
            if attr is None:
                # Entra sends extension attributes unqualified ("path": "manager").
                for ext in self.extensions:
                    if path.attr.lower() in ext.attributes:
                        attr, schema_urn = ext.attributes[path.attr.lower()], ext.id
                        break
        if attr is None:
            raise error(f"unknown attribute {str(path)!r} for {self.name}")
        sub = None
        if path.sub_attr is not None:
            sub = attr.sub.get(path.sub_attr.lower())
            if sub is None:
                raise error(f"unknown attribute {str(path)!r} for {self.name}")
        return Resolved(schema_urn, attr, sub)


def _from_model(schema: ModelSchema, overrides: dict[str, dict[str, Any]]) -> Schema:
    def convert(a: Any, prefix: str) -> Attribute:
        key = f"{prefix}{a.name}"
        sub = {s.name.lower(): convert(s, f"{key}.") for s in (a.sub_attributes or [])}
        values = {
            "name": a.name,
            "type": a.type.value,
            "multi_valued": bool(a.multi_valued),
            "required": bool(a.required),
            "case_exact": bool(a.case_exact),
            "mutability": a.mutability.value,
            "returned": a.returned.value,
            "uniqueness": a.uniqueness.value,
            "description": " ".join((a.description or "").split()),
            "canonical_values": tuple(a.canonical_values or ()),
            "reference_types": tuple(a.reference_types or ()),
            "sub": sub,
        }
        values.update(overrides.get(key, {}))
        return Attribute(**values)

    return Schema(
        id=schema.id or "",
        name=schema.name or "",
        description=schema.description or "",
        attributes={(a.name or "").lower(): convert(a, "") for a in schema.attributes or []},
    )


def _meta_attribute() -> Attribute:
    def ro(name: str, type_: str, case_exact: bool = False) -> Attribute:
        return Attribute(name, type_, mutability="readOnly", case_exact=case_exact)

    return Attribute(
        "meta",
        "complex",
        mutability="readOnly",
        description="Resource metadata.",
        sub={
            "resourcetype": ro("resourceType", "string", True),
            "created": ro("created", "dateTime"),
            "lastmodified": ro("lastModified", "dateTime"),
            "location": ro("location", "reference", True),
            "version": ro("version", "string", True),
        },
    )


COMMON_ATTRIBUTES: Final[dict[str, Attribute]] = {
    "id": Attribute(
        "id",
        "string",
        case_exact=True,
        mutability="readOnly",
        returned="always",
        uniqueness="server",
        description="Unique identifier of the resource, issued by the service provider.",
    ),
    "externalid": Attribute(
        "externalId",
        "string",
        case_exact=True,
        description="Identifier of the resource as defined by the provisioning client.",
    ),
    "meta": _meta_attribute(),
}


@cache
def user_type() -> ResourceType:
    user = _from_model(
        User.to_schema(),
        {
            # RFC 7643 4.1.2: returned "default"; derived from group memberships.
            "groups": {"returned": "default"},
        },
    )
    enterprise = _from_model(
        EnterpriseUser.to_schema(),
        {
            # RFC 7643 8.7.1 lists neither as required; Entra sends only the value.
            "manager.value": {"required": False},
            "manager.$ref": {"required": False},
        },
    )
    return ResourceType("User", "/Users", user, (enterprise,), "User Account")


@cache
def group_type() -> ResourceType:
    group = _from_model(
        Group.to_schema(),
        # We enforce displayName uniqueness per directory, and say so.
        {"displayName": {"uniqueness": "server"}},
    )
    # Membership is a relation of ids: a client-sent member "display" is not stored, so
    # it is not published (RFC 7643 8.7.1 lists only value, $ref and type).
    members = group.attributes["members"]
    group.attributes["members"] = replace(
        members, sub={k: v for k, v in members.sub.items() if k != "display"}
    )
    return ResourceType("Group", "/Groups", group, (), "Group")


def resource_types() -> tuple[ResourceType, ...]:
    return (user_type(), group_type())


def all_schemas() -> tuple[Schema, ...]:
    out: list[Schema] = []
    for rt in resource_types():
        out.append(rt.schema)
        out.extend(rt.extensions)
    return tuple(out)


__all__ = [
    "COMMON_ATTRIBUTES",
    "ENTERPRISE_SCHEMA",
    "GROUP_SCHEMA",
    "USER_SCHEMA",
    "Attribute",
    "Resolved",
    "ResourceType",
    "Schema",
    "all_schemas",
    "group_type",
    "resource_types",
    "user_type",
]
