"""The export file: NDJSON, a header line, then one SCIM resource per line.

Line 1 is the header (format, version, directory, counts, export time): its counts let
an import notice a truncated file. Then every User, then every Group, each as the
storage returns it (``id``, attributes, ``meta`` with created, lastModified and version,
a Group's ``members``), minus a User's ``groups``, which the groups' members imply.
Resources are in the store's listing order (creation order on SQL), members in id order.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ..scim.errors import ScimError
from ..scim.limits import parse_json
from ..scim.resource import normalize
from ..scim.schemas import GROUP_SCHEMA, USER_SCHEMA, ResourceType, group_type, user_type
from ..storage.base import Kind
from ..storage.exported import NOT_ATTRIBUTES, exported

FORMAT = "kubescim.io/directory-export"
VERSION = 1
#: The ids every kubescim backend generates (lowercase UUIDs) are DNS labels; a
#: ConfigMap's name is built from one, so nothing else is accepted.
_ID = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_KINDS: dict[str, Kind] = {USER_SCHEMA.lower(): "User", GROUP_SCHEMA.lower(): "Group"}


class LineError(ValueError):
    """A line the import refuses; ``str()`` is ``line N: why``."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


@dataclass(frozen=True, slots=True)
class Header:
    directory: str
    users: int
    groups: int
    exported_at: str
    generator: str = "kubescim"

    def line(self) -> str:
        return _dumps(
            {
                "format": FORMAT,
                "version": VERSION,
                "directory": self.directory,
                "exportedAt": self.exported_at,
                "counts": {"users": self.users, "groups": self.groups},
                "generator": self.generator,
            }
        )


@dataclass(frozen=True, slots=True)
class Entry:
    """One validated resource line."""

    line: int
    kind: Kind
    id: str
    name: str
    #: Member ids with the type the line gives them (None when it gives none).
    members: tuple[tuple[str, str | None], ...]
    #: The resource to restore, as compact JSON (a large import keeps text, not dicts).
    text: str


def _dumps(doc: Any) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def resource_line(kind: Kind, resource: dict[str, Any]) -> str:
    """The export line of a resource as the storage returned it: ``schemas`` and ``id``
    first, ``meta`` last, attributes in name order and members in id order between, so
    two exports of the same directory are the same text whichever backend wrote them."""
    attributes = {k: v for k, v in resource.items() if k not in NOT_ATTRIBUTES}
    line: dict[str, Any] = {"schemas": resource["schemas"], "id": resource["id"], **_sorted(attributes)}
    if kind == "Group" and resource.get("members"):
        line["members"] = sorted((_sorted(m) for m in resource["members"]), key=lambda m: str(m["value"]))
    line["meta"] = resource["meta"]
    return _dumps(line)


def _parse(line: int, text: str) -> Any:
    try:
        return parse_json(text.encode("utf-8", "surrogatepass"))
    except ScimError as exc:
        raise LineError(line, exc.detail.replace("the request body", "the line")) from None


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def read_header(text: str) -> Header:
    """Read line 1. Raises LineError unless it is a header of a version we read."""
    doc = _parse(1, text)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise LineError(1, f"not a kubescim export: the first line must be a header with format {FORMAT!r}")
    if doc.get("version") != VERSION:
        version = doc.get("version")
        raise LineError(1, f"export format version {version!r} is not supported (this reads {VERSION})")
    counts = doc.get("counts")
    users = _count(counts.get("users")) if isinstance(counts, dict) else None
    groups = _count(counts.get("groups")) if isinstance(counts, dict) else None
    if users is None or groups is None:
        raise LineError(1, "the header needs counts.users and counts.groups (non-negative integers)")
    directory, at = doc.get("directory"), doc.get("exportedAt")
    return Header(str(directory or ""), users, groups, str(at or ""), str(doc.get("generator") or ""))


def _kind(line: int, schemas: Any) -> tuple[Kind, ResourceType]:
    if not isinstance(schemas, list) or not schemas or not all(isinstance(s, str) for s in schemas):
        raise LineError(line, "'schemas' must be a non-empty list of schema URNs")
    kinds = {_KINDS[s.lower()] for s in schemas if s.lower() in _KINDS}
    if len(kinds) != 1:
        raise LineError(line, f"'schemas' must name exactly one of {USER_SCHEMA!r} and {GROUP_SCHEMA!r}")
    kind = kinds.pop()
    rt = user_type() if kind == "User" else group_type()
    known = {s.lower() for s in rt.schema_ids}
    for schema in schemas:
        if schema.lower() not in known:
            raise LineError(line, f"unknown schema {schema!r} for a {kind}")
    return kind, rt


def _attributes(line: int, rt: ResourceType, doc: dict[str, Any]) -> dict[str, Any]:
    """The canonical attributes; refuses what the store would not keep exactly as given."""
    given = {k: v for k, v in doc.items() if k not in NOT_ATTRIBUTES}
    try:
        canonical = normalize(rt, given)
    except ScimError as exc:
        raise LineError(line, exc.detail) from None
    for key in given.keys() | canonical.keys():
        if key not in canonical:
            raise LineError(line, f"attribute {key!r} is not in the {rt.name} schema (or is read-only)")
        if given.get(key) != canonical[key]:
            raise LineError(line, f"attribute {key!r} is not in canonical form (as an export writes it)")
    return canonical


def _members(line: int, raw: Any) -> tuple[tuple[str, str | None], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise LineError(line, "'members' must be a list")
    out: dict[str, str | None] = {}
    for member in raw:
        value = member.get("value") if isinstance(member, dict) else None
        if not isinstance(value, str) or not _ID.fullmatch(value):
            raise LineError(line, f"member {member!r} needs a 'value' that is a resource id")
        kind = member.get("type")
        if kind not in (None, "User", "Group"):
            raise LineError(line, f"member {value!r} has type {kind!r} (User or Group)")
        out.setdefault(value, kind)
    return tuple(out.items())


def read_resource(line: int, text: str) -> Entry:
    """Validate one resource line. Raises LineError naming the line and what is wrong."""
    doc = _parse(line, text)
    if not isinstance(doc, dict):
        raise LineError(line, "a resource line must be a JSON object")
    kind, rt = _kind(line, doc.get("schemas"))
    id = doc.get("id")
    if not isinstance(id, str) or not _ID.fullmatch(id):
        raise LineError(line, f"'id' must be a resource id (lowercase letters, digits, '-'), not {id!r}")
    meta = doc.get("meta")
    if isinstance(meta, dict) and meta.get("resourceType", kind) != kind:
        raise LineError(line, f"meta.resourceType {meta.get('resourceType')!r} does not match the schemas")
    attributes = _attributes(line, rt, doc)
    members = _members(line, doc.get("members")) if kind == "Group" else ()
    clean: dict[str, Any] = {"schemas": doc["schemas"], "id": id, **attributes}
    if members:
        clean["members"] = [{"value": m, "type": t} if t else {"value": m} for m, t in members]
    clean["meta"] = meta
    try:
        exported(kind, clean)
    except ScimError as exc:
        raise LineError(line, exc.detail) from None
    name = attributes["userName" if kind == "User" else "displayName"]
    return Entry(line, kind, id, name, members, _dumps(clean))
