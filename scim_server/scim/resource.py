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
from collections.abc import Callable
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


def _complex(attr: Attribute, value: Any, where: str) -> Any:
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


def _boolean(_attr: Attribute, value: Any, where: str) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE:
        return _TRUE[value.strip().lower()]
    raise InvalidValue(f"{where} must be a boolean")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _string(_attr: Attribute, value: Any, where: str) -> Any:
    if isinstance(value, str):
        return value
    if _is_number(value):
        return str(value)
    raise InvalidValue(f"{where} must be a string")


def _integer(_attr: Attribute, value: Any, where: str) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isascii():
        try:
            return int(value)
        except ValueError:
            pass
    raise InvalidValue(f"{where} must be an integer")


def _decimal(_attr: Attribute, value: Any, where: str) -> Any:
    number: float | None = None
    if _is_number(value):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = None
    if number is None or not math.isfinite(number):
        raise InvalidValue(f"{where} must be a finite decimal")
    return value if _is_number(value) else number


def _date_time(_attr: Attribute, value: Any, where: str) -> Any:
    if isinstance(value, str):
        try:
            datetime.fromisoformat(value)
        except ValueError:
            raise InvalidValue(f"{where} must be an xsd:dateTime") from None
        return value
    raise InvalidValue(f"{where} must be an xsd:dateTime")


_COERCE: dict[str, Callable[[Attribute, Any, str], Any]] = {
    "complex": _complex,
    "boolean": _boolean,
    "string": _string,
    "reference": _string,
    "binary": _string,
    "integer": _integer,
    "decimal": _decimal,
    "dateTime": _date_time,
}


def coerce_single(attr: Attribute, value: Any, where: str) -> Any:
    """One value of ``attr`` coerced to its SCIM type (IdPs send "true" for true, 42 for
    "42"); None stays None. Raises InvalidValue naming ``where`` when it cannot be."""
    if value is None:
        return None
    by_type = _COERCE.get(attr.type)
    return value if by_type is None else by_type(attr, value, where)


def normalize(rt: ResourceType, payload: Any) -> dict[str, Any]:
    """Validate a POST/PUT body (or a patched resource) and return its canonical form.

    Raises InvalidSyntax for a body that is not a resource of this type, and
    InvalidValue for values of the wrong type, a missing required attribute or an
    indexed attribute longer than the policy allows (``limits.MAX_INDEXED_LENGTH``).
    """
    if not isinstance(payload, dict):
        raise InvalidSyntax("the request body must be a JSON object")
    _check_schemas(rt, payload.get("schemas"))
    out: dict[str, Any] = {}
    for key, value in payload.items():
        if key.lower() != "schemas":
            _put(rt, out, key, value)
    _check_required(rt, out)
    check_indexed_lengths(rt.name, out)
    for name, value in out.items():
        # A Group's members are a relation (stored apart, any number); other lists are bounded.
        if isinstance(value, list) and not (rt.name == "Group" and name == "members"):
            check_value_count(name, value)
    return out


def _check_schemas(rt: ResourceType, schemas: Any) -> None:
    if schemas is None:
        return
    if not isinstance(schemas, list) or not all(isinstance(s, str) for s in schemas):
        raise InvalidSyntax("'schemas' must be a list of schema URNs")
    if rt.schema.id.lower() not in {s.lower() for s in schemas}:
        raise InvalidSyntax(f"'schemas' must contain {rt.schema.id!r}")


def _put(rt: ResourceType, out: dict[str, Any], key: str, value: Any) -> None:
    """Add one top-level member of the body to ``out``: a core attribute, an extension
    object, or a URN-qualified attribute; anything else is ignored (RFC 7644 allows it)."""
    lowered = key.lower()
    attr = rt.schema.attributes.get(lowered) or COMMON_ATTRIBUTES.get(lowered)
    if attr is not None:
        # Read-only values are the server's; write-only ones (password) are never
        # stored: kubescim does not authenticate users, so it keeps no secret of theirs.
        if attr.mutability not in ("readOnly", "writeOnly"):
            coerced = coerce(attr, value, attr.name)
            if coerced is not None:
                out[attr.name] = coerced
        return
    if not lowered.startswith("urn:"):
        return
    ext = rt.extension(key)
    if ext is None:
        _set_qualified(rt, out, key, value)
    elif value is not None:
        if not isinstance(value, dict):
            raise InvalidValue(f"{ext.id} must be an object")
        _merge_extension(out, ext.id, ext.attributes, value)


def _check_required(rt: ResourceType, out: dict[str, Any]) -> None:
    for attr in rt.schema.attributes.values():
        if attr.required and attr.name not in out:
            raise InvalidValue(f"missing required attribute {attr.name!r}")
    for attr in rt.schema.attributes.values():
        if attr.required and isinstance(out[attr.name], str) and not out[attr.name].strip():
            raise InvalidValue(f"required attribute {attr.name!r} is empty")


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
