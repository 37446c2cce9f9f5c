"""A resource as ``export`` wrote it, taken apart for ``Storage.restore``.

Every backend restores from the same parts: the id, the canonical attributes (the
resource without ``id``, ``schemas``, ``meta`` and the derived ``groups``), the two
timestamps, the version number a weak ETag carries, and a Group's member ids.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..scim.errors import InvalidValue
from .base import Kind

#: Not attributes: the server's own (``id``, ``meta``), the envelope, derived or related.
NOT_ATTRIBUTES = frozenset({"id", "schemas", "meta", "groups", "members"})
_VERSION = re.compile(r'W/"(\d{1,18})"')


@dataclass(frozen=True, slots=True)
class Exported:
    id: str
    data: dict[str, Any]
    created: datetime
    last_modified: datetime
    #: The number of a ``W/"n"`` ETag, None when the exporting backend versions otherwise.
    version: int | None
    #: A Group's member ids, duplicates dropped, in order; empty for a User.
    members: tuple[str, ...]


def _time(meta: dict[str, Any], name: str, id: str) -> datetime:
    value = meta.get(name)
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise InvalidValue(f"resource {id!r}: meta.{name} must be an xsd:dateTime")
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _is_member(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("value"), str)


def exported(kind: Kind, doc: dict[str, Any]) -> Exported:
    """Read an exported resource. Raises InvalidValue when a part is missing or malformed."""
    id = doc.get("id")
    if not isinstance(id, str) or not id:
        raise InvalidValue("an exported resource needs its 'id'")
    meta = doc.get("meta")
    if not isinstance(meta, dict):
        raise InvalidValue(f"resource {id!r}: 'meta' with created and lastModified is required")
    version = meta.get("version")
    match = _VERSION.fullmatch(version) if isinstance(version, str) else None
    name = "userName" if kind == "User" else "displayName"
    if not isinstance(doc.get(name), str):
        raise InvalidValue(f"resource {id!r}: {name!r} is required")
    members: tuple[str, ...] = ()
    if kind == "Group":
        raw = doc.get("members") or []
        if not isinstance(raw, list) or not all(_is_member(m) for m in raw):
            raise InvalidValue(f"resource {id!r}: 'members' must be a list of objects with a 'value'")
        members = tuple(dict.fromkeys(m["value"] for m in raw))
    return Exported(
        id=id,
        data={k: v for k, v in doc.items() if k not in NOT_ATTRIBUTES},
        created=_time(meta, "created", id),
        last_modified=_time(meta, "lastModified", id),
        version=int(match.group(1)) if match else None,
        members=members,
    )
