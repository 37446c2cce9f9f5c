"""Directory users and groups as applications see them, from stored SCIM resources.

The shapes follow what hosted directory-sync APIs return (``directory_user``,
``directory_group``), so application code ports. A directory's policy adds
``custom_attributes`` (SCIM paths mapped to names) and roles (groups mapped to role
slugs). Events store SCIM snapshots; they are normalized here when read, under the
directory's current policy.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .model import StoredEvent

_NOT_RAW = frozenset(("id", "meta", "groups", "members", "schemas"))
_FILTERED = re.compile(
    r'(?P<attr>[^\[\]]+)\[(?P<key>\w+) eq (?P<value>"[^"]*"|true|false)\](?:\.(?P<sub>\w+))?\Z'
)


@dataclass(frozen=True, slots=True)
class DirectoryPolicy:
    """What a ScimDirectory's spec says about the objects applications see.

    ``custom_attributes`` maps a name to a SCIM path (``title``, ``name.givenName``,
    ``urn:...:enterprise:2.0:User:department``, ``emails[type eq "work"].value``);
    ``roles`` maps group display names to role slugs, first match first;
    ``inactive_users`` is ``Keep`` (state ``inactive``) or ``Delete``.
    """

    custom_attributes: Mapping[str, str] = field(default_factory=dict)
    roles: tuple[tuple[str, str], ...] = ()
    default_role: str | None = None
    inactive_users: Literal["Keep", "Delete"] = "Keep"


DEFAULT_POLICY = DirectoryPolicy()


def _get(obj: Any, name: str) -> Any:
    """An attribute of a SCIM object by case-insensitive name."""
    if not isinstance(obj, Mapping):
        return None
    if name in obj:
        return obj[name]
    lowered = name.lower()
    return next((v for k, v in obj.items() if k.lower() == lowered), None)


def scim_path(resource: Mapping[str, Any], path: str) -> Any:
    """The value at ``path`` in a SCIM resource, or None. Extension URNs are prefixes."""
    target: Any = resource
    if path.lower().startswith("urn:"):
        urn, _, path = path.rpartition(":")
        target = _get(resource, urn)
    head, _, rest = path.partition(".")
    filtered = _FILTERED.match(path)
    if filtered is not None:
        wanted = filtered["value"]
        value: Any = wanted.strip('"') if wanted.startswith('"') else wanted == "true"
        entries = _get(target, filtered["attr"]) or []
        match = next(
            (e for e in entries if isinstance(e, Mapping) and _get(e, filtered["key"]) == value), None
        )
        return _get(match, filtered["sub"]) if filtered["sub"] and match is not None else match
    value = _get(target, head)
    return scim_path(value, rest) if rest and isinstance(value, Mapping) else (None if rest else value)


def _emails(resource: Mapping[str, Any]) -> list[dict[str, Any]]:
    raw = [e for e in _get(resource, "emails") or [] if isinstance(e, Mapping) and _get(e, "value")]
    ordered = sorted(raw, key=lambda e: not _get(e, "primary"))
    return [
        {"primary": bool(_get(e, "primary")), "type": _get(e, "type"), "value": _get(e, "value")}
        for e in ordered
    ]


def _roles(group_names: list[str], policy: DirectoryPolicy) -> list[dict[str, str]]:
    names = {n.lower() for n in group_names}
    slugs = [slug for group, slug in policy.roles if group.lower() in names]
    if not slugs and policy.default_role:
        slugs = [policy.default_role]
    return [{"slug": s} for s in dict.fromkeys(slugs)]


def raw_attributes(resource: Mapping[str, Any]) -> dict[str, Any]:
    """The SCIM attributes the identity provider sent (no id, meta, or relations)."""
    return {k: v for k, v in resource.items() if k not in _NOT_RAW}


def directory_group(
    resource: Mapping[str, Any], directory_id: str, organization_id: str | None
) -> dict[str, Any]:
    """A stored SCIM Group as a ``directory_group``."""
    meta = resource.get("meta") or {}
    return {
        "object": "directory_group",
        "id": resource["id"],
        "idp_id": resource.get("externalId") or "",
        "directory_id": directory_id,
        "organization_id": organization_id,
        "name": resource.get("displayName", ""),
        "created_at": meta.get("created"),
        "updated_at": meta.get("lastModified"),
        "raw_attributes": raw_attributes(resource),
    }


def directory_user(
    resource: Mapping[str, Any],
    directory_id: str,
    organization_id: str | None,
    policy: DirectoryPolicy = DEFAULT_POLICY,
) -> dict[str, Any]:
    """A stored SCIM User (with its ``groups``) as a ``directory_user``."""
    meta = resource.get("meta") or {}
    name = _get(resource, "name") or {}
    emails = _emails(resource)
    groups = [
        {
            "object": "directory_group",
            "id": g["value"],
            "directory_id": directory_id,
            "organization_id": organization_id,
            "name": g.get("display", ""),
        }
        for g in resource.get("groups") or []
    ]
    roles = _roles([g["name"] for g in groups], policy)
    active = _get(resource, "active")
    return {
        "object": "directory_user",
        "id": resource["id"],
        "idp_id": resource.get("externalId") or "",
        "directory_id": directory_id,
        "organization_id": organization_id,
        "first_name": _get(name, "givenName"),
        "last_name": _get(name, "familyName"),
        "email": emails[0]["value"] if emails else None,
        "emails": emails,
        "username": resource.get("userName"),
        "state": "inactive" if active is False else "active",
        "groups": groups,
        "custom_attributes": {k: scim_path(resource, p) for k, p in policy.custom_attributes.items()},
        "raw_attributes": raw_attributes(resource),
        "role": roles[0] if roles else None,
        "roles": roles,
        "created_at": meta.get("created"),
        "updated_at": meta.get("lastModified"),
    }


def previous_attributes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """The top-level attributes an update changed, with their old values.

    ``raw_attributes`` and ``custom_attributes`` list only their changed keys (a key the
    update added has the old value None). Timestamps are not attributes.
    """
    out: dict[str, Any] = {}
    for key, old in before.items():
        new = after.get(key)
        if key in ("updated_at", "created_at") or old == new:
            continue
        if key in ("raw_attributes", "custom_attributes") and isinstance(old, dict) and isinstance(new, dict):
            out[key] = {k: old.get(k) for k in old.keys() | new.keys() if old.get(k) != new.get(k)}
        else:
            out[key] = old
    return out


def event_object(
    event: StoredEvent, organization_id: str | None, policy: DirectoryPolicy = DEFAULT_POLICY
) -> dict[str, Any]:
    """An event as the API lists it and webhooks deliver it."""
    directory, data = event.directory, event.data
    payload: dict[str, Any]
    if "user" in data:
        payload = {
            "directory_id": directory,
            "organization_id": organization_id,
            "user": directory_user(data["user"], directory, organization_id, policy),
            "group": directory_group(data["group"], directory, organization_id),
        }
    elif "resource" in data:
        is_user = event.type.startswith("dsync.user.")

        def normalize(resource: Mapping[str, Any]) -> dict[str, Any]:
            if is_user:
                return directory_user(resource, directory, organization_id, policy)
            return directory_group(resource, directory, organization_id)

        payload = normalize(data["resource"])
        if "previous" in data:
            payload["previous_attributes"] = previous_attributes(normalize(data["previous"]), payload)
    else:
        state = "deleted" if event.type == "dsync.deleted" else "active"
        payload = {"object": "directory", "id": directory, "organization_id": organization_id, "state": state}
    return {
        "object": "event",
        "id": event.id,
        "event": event.type,
        "data": payload,
        "created_at": event.occurred_at.isoformat().replace("+00:00", "Z"),
    }
