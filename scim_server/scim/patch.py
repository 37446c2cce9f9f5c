"""The PATCH engine (RFC 7644 section 3.5.2), with the dialects IdPs really send.

Tolerated beyond the RFC: operation names in any case (``Replace``); path-less
add/replace whose object keys are dotted (``name.givenName``) or URN-qualified; an
extension URN as key of a nested object; booleans as strings (coerced with the
attribute's type); ``remove`` with a ``value`` list on a multi-valued attribute
removes just those values; value-path targets that match nothing on add/replace
create the entry the filter describes; a value filter on a single-valued complex
attribute (Entra's ``manager[value eq "..."]``) selects that one value.

Group membership never goes through the document engine: ``split_group_operations``
turns every ``members`` operation into a ``MemberChange`` that storage applies to
its membership relation, so a change costs the same at any group size; adjacent
adds (or removes) are merged into one change, so a request's cost follows the
number of members it names, not the number of operations it spells them in.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Literal

from .casefold import fold as fold_case
from .errors import InvalidPath, InvalidSyntax, InvalidValue, Mutability, NoTarget, PayloadTooLarge
from .evaluate import entry_matches, equality_template, matcher
from .filter import (
    And,
    AttrPath,
    Compare,
    Filter,
    Not,
    Or,
    PatchPath,
    ValuePath,
    parse_attr_path,
    parse_patch_path,
)
from .limits import check_value_count
from .resource import coerce, coerce_single, normalize
from .schemas import PATCH_SCHEMA, Attribute, Resolved, ResourceType

OpName = Literal["add", "replace", "remove"]


@dataclass(frozen=True, slots=True)
class Operation:
    op: OpName
    path: PatchPath | None
    value: Any


@dataclass(frozen=True, slots=True)
class MemberChange:
    """One membership change, applied in request order.

    ``kind``: ``add`` / ``remove`` (``ids``), ``replace`` (the set becomes ``ids``),
    ``remove_where`` (members matching ``filter``; sub-attributes ``value``, ``type``).
    """

    kind: Literal["add", "remove", "replace", "remove_where"]
    ids: tuple[str, ...] = ()
    types: tuple[str | None, ...] = ()
    filter: Filter | None = None


def parse_operations(body: Any, max_operations: int | None = None) -> list[Operation]:
    """Read a PatchOp message.

    Raises InvalidSyntax/InvalidPath/NoTarget when malformed, PayloadTooLarge when it
    carries more than ``max_operations`` operations (checked before any is read).
    """
    if not isinstance(body, dict):
        raise InvalidSyntax("the request body must be a PatchOp object")
    lowered = {k.lower(): v for k, v in body.items()}
    schemas = lowered.get("schemas")
    if schemas is not None and (
        not isinstance(schemas, list) or PATCH_SCHEMA.lower() not in {str(s).lower() for s in schemas}
    ):
        raise InvalidSyntax(f"'schemas' must be [{PATCH_SCHEMA!r}]")
    raw_ops = lowered.get("operations")
    if not isinstance(raw_ops, list) or not raw_ops:
        raise InvalidSyntax("'Operations' must be a non-empty list")
    if max_operations is not None and len(raw_ops) > max_operations:
        raise PayloadTooLarge(
            f"a PATCH request may carry at most {max_operations} operations; this one has {len(raw_ops)}"
        )
    ops: list[Operation] = []
    for i, raw in enumerate(raw_ops):
        if not isinstance(raw, dict):
            raise InvalidSyntax(f"operation {i} must be an object")
        fields = {k.lower(): v for k, v in raw.items()}
        name = str(fields.get("op", "")).lower()
        if name not in ("add", "replace", "remove"):
            raise InvalidSyntax(f"operation {i}: 'op' must be add, replace or remove")
        raw_path = fields.get("path")
        if raw_path is not None and not isinstance(raw_path, str):
            raise InvalidPath(f"operation {i}: 'path' must be a string")
        path = parse_patch_path(raw_path) if raw_path else None
        if name == "remove" and path is None:
            raise NoTarget(f"operation {i}: 'remove' needs a 'path'")
        if name != "remove" and "value" not in fields:
            raise InvalidSyntax(f"operation {i}: {name!r} needs a 'value'")
        if path is None and not isinstance(fields.get("value"), dict):
            raise InvalidSyntax(f"operation {i}: without 'path', 'value' must be an object")
        ops.append(Operation(name, path, fields.get("value")))  # type: ignore[arg-type]
    return ops


def _expand_pathless(rt: ResourceType, value: dict[str, Any]) -> list[tuple[PatchPath, Any]]:
    """Split a path-less value object into (path, value) pairs, one per attribute."""
    out: list[tuple[PatchPath, Any]] = []
    for key, item in value.items():
        lowered = key.lower()
        if lowered in ("schemas", "id", "meta"):
            continue
        ext = rt.extension(key) if lowered.startswith("urn:") else None
        if ext is not None and isinstance(item, dict):
            for inner, inner_value in item.items():
                if inner.lower() == "schemas":
                    continue
                out.append((PatchPath(_qualified(inner, ext.id)), inner_value))
            continue
        out.append((PatchPath(parse_attr_path(key, InvalidPath)), item))
    return out


def _qualified(name: str, urn: str) -> AttrPath:
    path = parse_attr_path(name, InvalidPath)
    return AttrPath(path.attr, path.sub_attr, path.uri or urn)


def apply_operations(rt: ResourceType, resource: dict[str, Any], ops: list[Operation]) -> dict[str, Any]:
    """Apply ``ops`` to a canonical resource and return the validated result.

    The input is not modified. Raises the SCIM error of the first failing operation.
    """
    doc = copy.deepcopy(resource)
    for op in ops:
        if op.path is None:
            for path, value in _expand_pathless(rt, op.value):
                _apply(rt, doc, op.op, path, value, explicit=False)
        elif (ext := _whole_extension(rt, op.path)) is not None:
            _apply_extension(rt, doc, op.op, ext, op.value)
        else:
            _apply(rt, doc, op.op, op.path, op.value, explicit=True)
    for attr in rt.schema.attributes.values():
        if attr.required and attr.name in resource and doc.get(attr.name) is None:
            raise Mutability(f"{attr.name!r} is required and cannot be removed")
    return normalize(rt, doc)


def _whole_extension(rt: ResourceType, path: PatchPath) -> str | None:
    """The extension URN when ``path`` names a whole extension (``urn:...:2.0:User``)."""
    if path.filter is not None or path.sub_attr is not None:
        return None
    ext = rt.extension(str(path.attr))
    return ext.id if ext is not None else None


def _apply_extension(rt: ResourceType, doc: dict[str, Any], op: str, urn: str, value: Any) -> None:
    """Add/replace merges the given extension attributes (others stay); remove drops it."""
    if op == "remove":
        doc.pop(urn, None)
        return
    if not isinstance(value, dict):
        raise InvalidValue(f"{urn} must be set to an object")
    for path, item in _expand_pathless(rt, {urn: value}):
        _apply(rt, doc, op, path, item, explicit=False)


def _apply(
    rt: ResourceType, doc: dict[str, Any], op: str, path: PatchPath, value: Any, *, explicit: bool
) -> None:
    resolved = rt.resolve(path.attr, InvalidPath)
    attr = resolved.attr
    if attr.mutability == "readOnly" or (resolved.sub and resolved.sub.mutability == "readOnly"):
        if not explicit:
            return
        raise Mutability(f"{path.attr} is read-only")
    container = doc if resolved.schema is None else doc.setdefault(resolved.schema, {})
    if path.filter is not None or path.sub_attr is not None:
        if attr.multi_valued:
            _apply_selected(attr, container, op, path, value)
        elif attr.type == "complex":
            _apply_selected_single(attr, container, op, path, value)
        else:
            raise InvalidPath(f"{path.attr} is neither multi-valued nor complex: it takes no value filter")
    elif attr.multi_valued and resolved.sub is None:
        _apply_list(attr, container, op, value)
    elif resolved.sub is not None:
        _apply_sub(resolved, container, op, value)
    else:
        _apply_single(attr, container, op, value)
    if resolved.schema is not None and not container:
        del doc[resolved.schema]


def _apply_single(attr: Attribute, container: dict[str, Any], op: str, value: Any) -> None:
    if op == "remove":
        container.pop(attr.name, None)
        return
    coerced = coerce(attr, value, attr.name)
    if coerced is None:
        container.pop(attr.name, None)
    elif attr.type == "complex" and isinstance(container.get(attr.name), dict):
        container[attr.name].update(coerced)
    else:
        container[attr.name] = coerced


def _apply_sub(resolved: Resolved, container: dict[str, Any], op: str, value: Any) -> None:
    attr, sub = resolved.attr, resolved.sub
    assert sub is not None
    if attr.multi_valued:
        entries = container.get(attr.name) or []
        if op == "remove":
            for entry in entries:
                entry.pop(sub.name, None)
        else:
            coerced = coerce(sub, value, f"{attr.name}.{sub.name}")
            if not entries:
                entries.append({})
            for entry in entries:
                entry[sub.name] = coerced
            container[attr.name] = entries
        return
    parent = container.get(attr.name)
    if op == "remove":
        if isinstance(parent, dict):
            parent.pop(sub.name, None)
            if not parent:
                del container[attr.name]
        return
    if not isinstance(parent, dict):
        parent = container[attr.name] = {}
    coerced = coerce(sub, value, f"{attr.name}.{sub.name}")
    if coerced is None:
        parent.pop(sub.name, None)
    else:
        parent[sub.name] = coerced


def _key(entry: Any, attr: Attribute | None = None) -> Any:
    """Identity of a multi-valued entry: its ``value``, folded unless ``caseExact``."""
    value_attr = attr.sub.get("value") if attr is not None and attr.type == "complex" else attr
    fold = value_attr is None or not value_attr.case_exact
    if isinstance(entry, dict) and "value" in entry:
        value = entry["value"]
        return fold_case(value) if isinstance(value, str) and fold else value
    if isinstance(entry, dict):
        return repr(sorted(entry.items()))
    return fold_case(entry) if isinstance(entry, str) and fold else entry


def _apply_list(attr: Attribute, container: dict[str, Any], op: str, value: Any) -> None:
    current: list[Any] = container.get(attr.name) or []
    if op == "remove":
        if value is None:
            container.pop(attr.name, None)
            return
        drop = {_key(v, attr) for v in (coerce(attr, value, attr.name) or [])}
        kept = [e for e in current if _key(e, attr) not in drop]
        _store(container, attr, kept)
        return
    incoming = coerce(attr, value, attr.name) or []
    if op == "replace":
        _store(container, attr, incoming)
        return
    seen = {_key(e, attr): i for i, e in enumerate(current)}
    for item in incoming:
        index = seen.get(_key(item, attr))
        if index is None:
            seen[_key(item, attr)] = len(current)
            current.append(item)
        elif isinstance(item, dict):
            current[index] = {**current[index], **item}
    _single_primary(current, incoming)
    _store(container, attr, current)


def _apply_selected(attr: Attribute, container: dict[str, Any], op: str, path: PatchPath, value: Any) -> None:
    entries: list[Any] = container.get(attr.name) or []
    if path.filter is not None and entries:
        selects = matcher(attr, path.filter)
        matched = [e for e in entries if selects(e)]
    else:
        matched = list(entries)
    sub = None
    if path.sub_attr is not None:
        sub = attr.sub.get(path.sub_attr.lower())
        if sub is None:
            raise InvalidPath(f"{attr.name} has no sub-attribute {path.sub_attr!r}")
    if op == "remove":
        if sub is None:
            chosen = {id(m) for m in matched}
            kept = [e for e in entries if id(e) not in chosen]
        else:
            for entry in matched:
                entry.pop(sub.name, None)
            kept = [e for e in entries if e]
        _store(container, attr, kept)
        return
    if sub is not None:
        new_value = coerce(sub, value, f"{attr.name}.{sub.name}")
        patch: dict[str, Any] = {sub.name: new_value}
    else:
        single = coerce_single(attr, value, attr.name)
        if not isinstance(single, dict):
            raise InvalidValue(f"{attr.name} value must be an object")
        patch = single
    if not matched:
        template = equality_template(attr, path.filter) if path.filter is not None else {}
        if template is None:
            raise NoTarget(f"no {attr.name} value matches the path filter")
        entry = coerce_single(attr, template, attr.name) or {}
        entries.append(entry)
        matched = [entry]
    for entry in matched:
        entry.update(patch)
        for k in [k for k, v in entry.items() if v is None]:
            del entry[k]
    if patch.get("primary") is True:
        _single_primary(entries, matched)
    _store(container, attr, [e for e in entries if e])


def _apply_selected_single(
    attr: Attribute, container: dict[str, Any], op: str, path: PatchPath, value: Any
) -> None:
    """A value filter on a single-valued complex attribute selects its one value, if it matches.

    ``remove`` of a value that does not match changes nothing; ``add``/``replace``
    sets the value the filter describes when there is none, and answers noTarget
    when another value is there.
    """
    current = container.get(attr.name)
    matched = isinstance(current, dict) and (path.filter is None or entry_matches(attr, current, path.filter))
    sub = None
    if path.sub_attr is not None:
        sub = attr.sub.get(path.sub_attr.lower())
        if sub is None:
            raise InvalidPath(f"{attr.name} has no sub-attribute {path.sub_attr!r}")
    if op == "remove":
        if matched and isinstance(current, dict):
            if sub is not None:
                current.pop(sub.name, None)
            if sub is None or not current:
                del container[attr.name]
        return
    if not matched:
        template = equality_template(attr, path.filter) if path.filter is not None else {}
        if current is not None or template is None:
            raise NoTarget(f"the {attr.name} value does not match the path filter")
        current = container[attr.name] = coerce_single(attr, template, attr.name) or {}
    assert isinstance(current, dict)
    if sub is not None:
        current[sub.name] = coerce(sub, value, f"{attr.name}.{sub.name}")
    else:
        single = coerce_single(attr, value, attr.name)
        if not isinstance(single, dict):
            raise InvalidValue(f"{attr.name} value must be an object")
        current.update(single)
    for key in [k for k, v in current.items() if v is None]:
        del current[key]
    if not current:
        del container[attr.name]


def _single_primary(entries: list[Any], preferred: list[Any]) -> None:
    """RFC 7644 3.5.2: setting ``primary`` on one value clears it on the others."""
    chosen = next((e for e in reversed(preferred) if isinstance(e, dict) and e.get("primary") is True), None)
    if chosen is None:
        return
    for entry in entries:
        if isinstance(entry, dict) and entry is not chosen and entry.get("primary") is True:
            entry["primary"] = False
        if isinstance(entry, dict) and entry is not chosen and _key(entry) == _key(chosen):  # same value
            entry["primary"] = True


def _store(container: dict[str, Any], attr: Attribute, entries: list[Any]) -> None:
    check_value_count(attr.name, entries)  # after each operation, so none works on more
    if entries:
        container[attr.name] = entries
    else:
        container.pop(attr.name, None)


# -- groups -------------------------------------------------------------------------


def _member_ids(value: Any, where: str) -> tuple[tuple[str, ...], tuple[str | None, ...]]:
    items = value if isinstance(value, list) else [value]
    ids: list[str] = []
    types: list[str | None] = []
    for item in items:
        if isinstance(item, str):
            ids.append(item)
            types.append(None)
            continue
        if not isinstance(item, dict):
            raise InvalidValue(f"{where}: each member must be an object with a 'value'")
        fields = {k.lower(): v for k, v in item.items()}
        member = fields.get("value")
        if not isinstance(member, str) or not member:
            raise InvalidValue(f"{where}: each member needs a string 'value' (the member's id)")
        kind = fields.get("type")
        if kind is not None and str(kind).lower() not in ("user", "group"):
            raise InvalidValue(f"{where}: member type must be 'User' or 'Group'")
        ids.append(member)
        types.append(str(kind).capitalize() if kind is not None else None)
    return tuple(ids), tuple(types)


def _ids_from_filter(node: Filter) -> tuple[str, ...] | None:
    """``value eq "a" or value eq "b"`` -> ("a", "b"); None for any other filter."""
    terms = node.terms if isinstance(node, Or) else (node,)
    ids: list[str] = []
    for term in terms:
        if (
            not isinstance(term, Compare)
            or term.op != "eq"
            or term.path.attr.lower() != "value"
            or term.path.sub_attr
            or not isinstance(term.value, str)
        ):
            return None
        ids.append(term.value)
    return tuple(ids)


def _member_change(op: str, path: PatchPath | None, value: Any) -> MemberChange:
    where = "members"
    if path is not None and path.sub_attr is not None:
        raise Mutability("member sub-attributes are immutable; remove and add the member instead")
    if path is not None and path.filter is not None:
        if op != "remove":
            raise Mutability("members cannot be modified in place; remove and add them")
        ids = _ids_from_filter(path.filter)
        if ids is not None:
            return MemberChange("remove", ids)
        _check_member_filter(path.filter)
        return MemberChange("remove_where", filter=path.filter)
    if op == "remove":
        if value is None:
            return MemberChange("replace")
        ids, types = _member_ids(value, where)
        return MemberChange("remove", ids, types)
    ids, types = _member_ids(value if value is not None else [], where)
    return MemberChange("add" if op == "add" else "replace", ids, types)


def _check_member_filter(node: Filter) -> None:
    if isinstance(node, And | Or):
        for term in node.terms:
            _check_member_filter(term)
    elif isinstance(node, Not):
        _check_member_filter(node.term)
    elif isinstance(node, ValuePath):
        raise InvalidPath("value paths cannot be nested")
    elif node.path.attr.lower() not in ("value", "type") or node.path.sub_attr:
        raise InvalidPath(f"members have no sub-attribute {node.path}")


def _is_members(path: AttrPath) -> bool:
    return path.attr.lower() == "members" and (
        path.uri is None or path.uri.lower() == "urn:ietf:params:scim:schemas:core:2.0:group"
    )


def _append_change(changes: list[MemberChange], change: MemberChange) -> None:
    """Append ``change``, merged into the previous one when both add (or both remove) ids."""
    last = changes[-1] if changes else None
    if last is not None and last.kind == change.kind and change.kind in ("add", "remove") and last.ids:
        changes[-1] = MemberChange(last.kind, last.ids + change.ids, last.types + change.types)
    else:
        changes.append(change)


def split_group_operations(
    rt: ResourceType, ops: list[Operation]
) -> tuple[list[Operation], list[MemberChange]]:
    """Separate membership changes from attribute changes, keeping each list's order.

    Adjacent adds (or removes) of listed members become one change.
    """
    attr_ops: list[Operation] = []
    changes: list[MemberChange] = []
    for op in ops:
        if op.path is not None:
            if _is_members(op.path.attr):
                if op.path.attr.sub_attr is not None:
                    raise Mutability("member sub-attributes are immutable")
                _append_change(changes, _member_change(op.op, op.path, op.value))
            else:
                attr_ops.append(op)
            continue
        rest = {}
        for key, item in op.value.items():
            if key.lower() == "members":
                _append_change(changes, _member_change(op.op, None, item))
            else:
                rest[key] = item
        if rest:
            attr_ops.append(Operation(op.op, None, rest))
    return attr_ops, changes
