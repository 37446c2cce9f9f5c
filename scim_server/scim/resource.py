"""Turning a client's resource JSON into our canonical form, and back.

Canonical form: core attributes under their schema-defined names, extension
attributes under the extension URN, values coerced to their declared types, nulls
and empty lists dropped, read-only attributes removed. IdP quirks are tolerated here:
names in any case, booleans sent as strings, a single object where a list is expected,
a bare string where a complex value with a ``value`` sub-attribute is expected.

A User without ``active`` is stored as active (``with_defaults``): IdPs such as
OneLogin never send it and treat every provisioned user as active.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from .errors import InvalidSyntax, InvalidValue
from .filter import parse_attr_path
from .limits import check_indexed_lengths, check_value_count
from .schemas import COMMON_ATTRIBUTES, Attribute, ResourceType

_TRUE = {"true": True, "false": False}
_DEFAULTS: dict[str, dict[str, Any]] = {"User": {"active": True}, "Group": {}}


def coerce(attr: Attribute, value: Any, where: str) -> Any:
    """Coerce ``value`` to ``attr``'s type. Returns None for "unassigned".

    Raises InvalidValue when the value cannot be read as that type.
    """
    if value is None:
        return None
    if attr.multi_valued:
        items = value if isinstance(value, list) else [value]
        out = [v for v in (coerce_single(attr, item, where) for item in items) if v is not None]
        if attr.type == "complex":
            primaries = sum(1 for v in out if v.get("primary") is True)
            if primaries > 1:
                raise InvalidValue(f"more than one {where} value is primary")
        return out or None
    if isinstance(value, list):
        if len(value) == 1:
            return coerce_single(attr, value[0], where)
        raise InvalidValue(f"{where} is single-valued, got a list")
    return coerce_single(attr, value, where)


def coerce_single(attr: Attribute, value: Any, where: str) -> Any:
    t = attr.type
    if value is None:
        return None
    if t == "complex":
        if not isinstance(value, dict):
            if isinstance(value, str | int | float | bool) and "value" in attr.sub:
                value = {"value": value}
            else:
                raise InvalidValue(f"{where} must be an object")
        out: dict[str, Any] = {}
        for key, item in value.items():
            sub = attr.sub.get(key.lower())
            if sub is None or sub.mutability in ("readOnly", "writeOnly"):
                continue
            coerced = coerce(sub, item, f"{where}.{sub.name}")
            if coerced is not None:
                out[sub.name] = coerced
        return out or None
    if t == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE:
            return _TRUE[value.strip().lower()]
        raise InvalidValue(f"{where} must be a boolean")
    if t in ("string", "reference", "binary"):
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise InvalidValue(f"{where} must be a string")
    if t == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().isascii():
            try:
                return int(value)
            except ValueError:
                pass
        raise InvalidValue(f"{where} must be an integer")
    if t == "decimal":
        number: float | None = None
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                number = None
        if number is None or not math.isfinite(number):
            raise InvalidValue(f"{where} must be a finite decimal")
        return value if isinstance(value, int | float) else number
    if t == "dateTime":
        if isinstance(value, str):
            try:
                datetime.fromisoformat(value)
            except ValueError:
                raise InvalidValue(f"{where} must be an xsd:dateTime") from None
            return value
        raise InvalidValue(f"{where} must be an xsd:dateTime")
    return value


def normalize(rt: ResourceType, payload: Any) -> dict[str, Any]:
    """Validate a POST/PUT body (or a patched resource) and return its canonical form.

    Raises InvalidSyntax for a body that is not a resource of this type, and
    InvalidValue for values of the wrong type, a missing required attribute or an
    indexed attribute longer than the policy allows (``limits.MAX_INDEXED_LENGTH``).
    """
    if not isinstance(payload, dict):
        raise InvalidSyntax("the request body must be a JSON object")
    schemas = payload.get("schemas")
    if schemas is not None:
        if not isinstance(schemas, list) or not all(isinstance(s, str) for s in schemas):
            raise InvalidSyntax("'schemas' must be a list of schema URNs")
        if rt.schema.id.lower() not in {s.lower() for s in schemas}:
            raise InvalidSyntax(f"'schemas' must contain {rt.schema.id!r}")
    out: dict[str, Any] = {}
    core = rt.schema.attributes
    for key, value in payload.items():
        lowered = key.lower()
        if lowered == "schemas":
            continue
        attr = core.get(lowered) or COMMON_ATTRIBUTES.get(lowered)
        if attr is not None:
            # Read-only values are the server's; write-only ones (password) are never
            # stored: kubescim does not authenticate users, so it keeps no secret of theirs.
            if attr.mutability in ("readOnly", "writeOnly"):
                continue
            coerced = coerce(attr, value, attr.name)
            if coerced is not None:
                out[attr.name] = coerced
            continue
        if lowered.startswith("urn:"):
            ext = rt.extension(key)
            if ext is not None:
                if value is None:
                    continue
                if not isinstance(value, dict):
                    raise InvalidValue(f"{ext.id} must be an object")
                _merge_extension(out, ext.id, ext.attributes, value)
                continue
            _set_qualified(rt, out, key, value)
    for attr in core.values():
        if attr.required and attr.name not in out:
            raise InvalidValue(f"missing required attribute {attr.name!r}")
    for attr in core.values():
        if attr.required and isinstance(out[attr.name], str) and not out[attr.name].strip():
            raise InvalidValue(f"required attribute {attr.name!r} is empty")
    check_indexed_lengths(rt.name, out)
    for name, value in out.items():
        # A Group's members are a relation (stored apart, any number); other lists are bounded.
        if isinstance(value, list) and not (rt.name == "Group" and name == "members"):
            check_value_count(name, value)
    return out


def with_defaults(rt: ResourceType, doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with the values an attribute left out of a POST or PUT takes (a User's ``active``).

    A PATCH that removes the attribute leaves it unassigned (RFC 7644 section 3.5.2.2).
    """
    for name, value in _DEFAULTS[rt.name].items():
        doc.setdefault(name, value)
    return doc


def _merge_extension(
    out: dict[str, Any], urn: str, attrs: dict[str, Attribute], value: dict[str, Any]
) -> None:
    target: dict[str, Any] = out.setdefault(urn, {})
    for key, item in value.items():
        attr = attrs.get(key.lower())
        if attr is None or attr.mutability in ("readOnly", "writeOnly"):
            continue
        coerced = coerce(attr, item, f"{urn}:{attr.name}")
        if coerced is not None:
            target[attr.name] = coerced
    if not target:
        del out[urn]


def _set_qualified(rt: ResourceType, out: dict[str, Any], key: str, value: Any) -> None:
    """Accept ``"urn:...:User:userName": "x"`` keys; unknown schemas are ignored."""
    try:
        path = parse_attr_path(key, InvalidValue)
        resolved = rt.resolve(path, InvalidValue)
    except InvalidValue:
        return
    if resolved.attr.mutability in ("readOnly", "writeOnly"):
        return
    container = out if resolved.schema is None else out.setdefault(resolved.schema, {})
    if resolved.sub is None:
        coerced = coerce(resolved.attr, value, str(path))
        if coerced is not None:
            container[resolved.attr.name] = coerced
    else:
        parent = container.setdefault(resolved.attr.name, {})
        coerced = coerce(resolved.sub, value, str(path))
        if coerced is not None and isinstance(parent, dict):
            parent[resolved.sub.name] = coerced
