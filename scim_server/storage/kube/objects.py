"""How a SCIM resource is kept in one ConfigMap (or Secret): names, labels, the JSON in
``data`` and the byte cap. Pure functions, no API calls.

One object per resource, named ``<directory>-u-<id>`` / ``<directory>-g-<id>``; its
``data.resource`` is the resource's JSON (attributes, ``id`` and ``meta`` with a version
counter) and a Group's ``data.members`` the JSON list of its member ids. Labels say only
which directory and type an object belongs to: never a ``userName`` or an email.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from ...scim.casefold import fold
from ...scim.errors import InvalidValue
from ..base import Kind

Flavour = Literal["ConfigMap", "Secret"]

MANAGED_BY: Final = "app.kubernetes.io/managed-by"
MANAGER: Final = "kubescim"
LABEL_DIRECTORY: Final = "storage.kubescim.io/directory"
LABEL_TYPE: Final = "storage.kubescim.io/type"
TYPES: Final[dict[Kind, str]] = {"User": "user", "Group": "group"}
KINDS: Final[dict[str, Kind]] = {v: k for k, v in TYPES.items()}
CLAIM: Final = "claim"
RESOURCE_SELECTOR: Final = f"{MANAGED_BY}={MANAGER},{LABEL_TYPE} in (user,group)"
CLAIM_SELECTOR: Final = f"{MANAGED_BY}={MANAGER},{LABEL_TYPE}={CLAIM}"

#: Stored ids become part of object names: DNS-label characters only.
_ID: Final = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\Z")
_PREFIX: Final[dict[Kind, str]] = {"User": "u", "Group": "g"}


@dataclass(slots=True)
class Entry:
    """One stored resource as the cache holds it."""

    directory: str
    kind: Kind
    id: str
    data: dict[str, Any]
    created: str
    modified: str
    version: int
    members: tuple[str, ...] = ()
    name: str = ""
    resource_version: str = ""
    uid: str = ""
    key: str = field(default="")
    """The folded unique name (``userName`` or a Group's ``displayName``)."""


def object_name(directory: str, kind: Kind, id: str) -> str:
    """The object holding resource ``id`` of ``directory``."""
    return f"{directory}-{_PREFIX[kind]}-{id}"


def check_id(id: str) -> str:
    """Return ``id`` if it can be part of an object name. Raises InvalidValue."""
    if not _ID.match(id):
        raise InvalidValue(f"id {id!r} cannot be stored here: use lowercase letters, digits and '-'")
    return id


def unique_value(kind: Kind, data: dict[str, Any]) -> str:
    """The value that must be unique in a directory (case-insensitively)."""
    return str(data["userName"] if kind == "User" else data["displayName"])


def claim_name(directory: str, kind: Kind, value: str) -> str:
    """The claim object that reserves ``value`` (folded) for one resource of ``directory``."""
    digest = hashlib.sha256(f"{kind}\x00{fold(value)}".encode()).hexdigest()[:40]
    return f"{directory}-{_PREFIX[kind]}n-{digest}"


def labels(directory: str, type_: str) -> dict[str, str]:
    return {MANAGED_BY: MANAGER, LABEL_DIRECTORY: directory, LABEL_TYPE: type_}


def encode(flavour: Flavour, values: dict[str, str]) -> dict[str, str]:
    """``data`` of an object: ConfigMaps hold text, Secrets base64."""
    if flavour == "ConfigMap":
        return values
    return {k: base64.b64encode(v.encode()).decode() for k, v in values.items()}


def decode(flavour: Flavour, data: dict[str, str] | None) -> dict[str, str]:
    data = data or {}
    if flavour == "ConfigMap":
        return data
    return {k: base64.b64decode(v).decode() for k, v in data.items()}


def resource_values(entry: Entry) -> dict[str, str]:
    """The text values of ``data`` that store ``entry``; never a password."""
    doc = {k: v for k, v in entry.data.items() if k != "password"}
    body = {
        "id": entry.id,
        **doc,
        "meta": {"created": entry.created, "lastModified": entry.modified, "version": entry.version},
    }
    values = {"resource": json.dumps(body, ensure_ascii=False, separators=(",", ":"))}
    if entry.kind == "Group":
        values["members"] = json.dumps(list(entry.members), separators=(",", ":"))
    return values


def check_size(values: dict[str, str], cap: int, what: str) -> None:
    """Refuse an object whose data would pass ``cap`` bytes, before it is sent."""
    size = sum(len(v.encode()) for v in values.values())
    if size > cap:
        raise InvalidValue(
            f"{what} would take {size} bytes, more than the {cap} bytes one object may hold in "
            "ConfigMap storage; store this directory in PostgreSQL"
        )


def build_object(flavour: Flavour, entry: Entry, cap: int) -> dict[str, Any]:
    """The ConfigMap or Secret body for ``entry`` (with its resourceVersion, if known)."""
    values = resource_values(entry)
    check_size(values, cap, f"{entry.kind} {entry.id!r}")
    metadata: dict[str, Any] = {
        "name": entry.name or object_name(entry.directory, entry.kind, entry.id),
        "labels": labels(entry.directory, TYPES[entry.kind]),
    }
    if entry.resource_version:
        metadata["resourceVersion"] = entry.resource_version
    body: dict[str, Any] = {"apiVersion": "v1", "kind": flavour, "metadata": metadata}
    body["data"] = encode(flavour, values)
    if flavour == "Secret":
        body["type"] = "Opaque"
    return body


def parse_object(flavour: Flavour, obj: dict[str, Any]) -> Entry | None:
    """The entry an object stores, or None for an object that is not one of ours."""
    metadata = obj.get("metadata") or {}
    obj_labels = metadata.get("labels") or {}
    kind = KINDS.get(obj_labels.get(LABEL_TYPE, ""))
    directory = obj_labels.get(LABEL_DIRECTORY)
    if kind is None or not directory:
        return None
    try:
        values = decode(flavour, obj.get("data"))
        body = json.loads(values["resource"])
        members = tuple(json.loads(values["members"])) if "members" in values else ()
        meta = body.pop("meta")
        id_ = body.pop("id")
    except (KeyError, ValueError, TypeError):
        return None
    return Entry(
        directory=directory,
        kind=kind,
        id=id_,
        data=body,
        created=meta["created"],
        modified=meta["lastModified"],
        version=int(meta["version"]),
        members=members,
        name=metadata.get("name", ""),
        resource_version=metadata.get("resourceVersion", ""),
        uid=metadata.get("uid", ""),
        key=fold(unique_value(kind, body)),
    )


def claim_object(flavour: Flavour, directory: str, kind: Kind, value: str, id: str) -> dict[str, Any]:
    """A claim on ``value`` for resource ``id``: its name is the lock, its data says whose."""
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": flavour,
        "metadata": {"name": claim_name(directory, kind, value), "labels": labels(directory, CLAIM)},
        "data": encode(flavour, {"kind": kind, "id": id}),
    }
    if flavour == "Secret":
        body["type"] = "Opaque"
    return body


def claim_owner(flavour: Flavour, obj: dict[str, Any]) -> tuple[Kind, str] | None:
    """Which resource a claim object reserves its name for."""
    try:
        values = decode(flavour, obj.get("data"))
        kind = values["kind"]
        if kind in ("User", "Group"):
            return kind, values["id"]  # type: ignore[return-value]
    except (KeyError, ValueError):
        return None
    return None


def owner_reference(flavour: Flavour, name: str, uid: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": flavour, "name": name, "uid": uid}
