"""List queries answered from memory with the SQL backends' semantics.

A filter is first compiled by the SQL compiler (its SQL is discarded), so a filter the
SQL backends refuse is refused here with the same error; it is then evaluated on the
resources as ``get`` renders them, with the protocol core's comparisons
(``scim.evaluate``): case rules from each attribute's ``caseExact``, a multi-valued
attribute matching when any of its values does, ``not`` of a missing value matching.
Sorting puts missing values last and keeps creation order among equals, as SQL does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from ...scim.casefold import fold
from ...scim.errors import InvalidFilter, InvalidValue
from ...scim.evaluate import matcher, value_matches
from ...scim.filter import And, AttrPath, Compare, Filter, Not, Or, Present, ValuePath
from ...scim.query import ListQuery
from ...scim.schemas import Resolved, ResourceType, group_type, user_type
from ..base import Kind, Page, Resource
from ..rows import parse_time
from ..sqlfilter import SqliteFilterCompiler

Predicate = Callable[[Resource], bool]


def resource_type(kind: Kind) -> ResourceType:
    return user_type() if kind == "User" else group_type()


def _container(resource: Resource, resolved: Resolved) -> Any:
    if resolved.schema is None:
        return resource.get(resolved.attr.name)
    ext = resource.get(resolved.schema)
    return ext.get(resolved.attr.name) if isinstance(ext, dict) else None


def _leaf(rt: ResourceType, node: Compare | Present) -> Predicate:
    resolved = rt.resolve(node.path, InvalidFilter)
    attr, sub = resolved.attr, resolved.sub
    if attr.name == "meta" and sub is not None and sub.type == "dateTime":
        return _meta_time(sub.name, node)
    if attr.multi_valued:
        if sub is None and isinstance(node, Present):
            return lambda r: bool(_container(r, resolved))
        inner: Compare | Present = (
            Present(AttrPath(sub.name if sub else "value"))
            if isinstance(node, Present)
            else Compare(AttrPath(sub.name if sub else "value"), node.op, node.value)
        )
        element = matcher(attr, inner)
        return lambda r: any(element(e) for e in _container(r, resolved) or ())
    if sub is None:
        return lambda r: value_matches(attr, _container(r, resolved), node)

    def nested(r: Resource) -> bool:
        parent = _container(r, resolved)
        return value_matches(sub, parent.get(sub.name) if isinstance(parent, dict) else None, node)

    return nested


def _meta_time(name: str, node: Compare | Present) -> Predicate:
    if isinstance(node, Present):
        return lambda r: True
    if node.value is None:
        return lambda r: node.op == "ne"
    expected = parse_time(node.value)
    compare: dict[str, Callable[[datetime, datetime], bool]] = {
        "eq": lambda a, b: a == b,
        "ne": lambda a, b: a != b,
        "gt": lambda a, b: a > b,
        "ge": lambda a, b: a >= b,
        "lt": lambda a, b: a < b,
        "le": lambda a, b: a <= b,
    }
    op = compare[node.op]
    return lambda r: op(parse_time(r["meta"][name]), expected)


def predicate(rt: ResourceType, node: Filter) -> Predicate:
    """A predicate on rendered resources. Raises InvalidFilter (after the SQL compiler's checks)."""
    if isinstance(node, And):
        parts = [predicate(rt, t) for t in node.terms]
        return lambda r: all(p(r) for p in parts)
    if isinstance(node, Or):
        parts = [predicate(rt, t) for t in node.terms]
        return lambda r: any(p(r) for p in parts)
    if isinstance(node, Not):
        inner = predicate(rt, node.term)
        return lambda r: not inner(r)
    if isinstance(node, ValuePath):
        resolved = rt.resolve(node.path, InvalidFilter)
        element = matcher(resolved.attr, node.filter)
        return lambda r: any(element(e) for e in _container(r, resolved) or ())
    return _leaf(rt, node)


def compile_filter(kind: Kind, node: Filter) -> Predicate:
    """Validate ``node`` exactly as the SQL backends do, then bind it for evaluation."""
    SqliteFilterCompiler(kind).compile(node)
    return predicate(resource_type(kind), node)


def sort_key(kind: Kind, path: AttrPath) -> Callable[[Resource], Any]:
    """The value a list is sorted by (None: missing), as the SQL compiler's ``sort_expr``."""
    SqliteFilterCompiler(kind).sort_expr(path)  # refuses what SQL refuses
    resolved = resource_type(kind).resolve(path, InvalidValue)
    attr, sub = resolved.attr, resolved.sub
    leaf = resolved.leaf

    def key(r: Resource) -> Any:
        if attr.name == "meta" and sub is not None:
            return r["meta"].get(sub.name)
        value = _container(r, resolved)
        if attr.multi_valued:
            first = value[0] if isinstance(value, list) and value else None
            value = first.get(sub.name if sub else "value") if isinstance(first, dict) else first
        elif sub is not None:
            value = value.get(sub.name) if isinstance(value, dict) else None
        if isinstance(value, str) and not leaf.case_exact:
            return fold(value)
        return value

    return key


def run_query(kind: Kind, resources: Iterable[Resource], query: ListQuery) -> Page:
    """Filter, sort and page ``resources`` (given in creation order)."""
    rows = list(resources)
    if query.filter is not None:
        keep = compile_filter(kind, query.filter)
        rows = [r for r in rows if keep(r)]
    if query.sort_by is not None:
        key = sort_key(kind, query.sort_by)
        keyed = [(key(r), r) for r in rows]
        present = [kr for kr in keyed if kr[0] is not None]
        missing = [r for k, r in keyed if k is None]
        try:
            present.sort(key=lambda kr: kr[0], reverse=query.descending)
        except TypeError:
            present.sort(key=lambda kr: str(kr[0]), reverse=query.descending)
        rows = [r for _, r in present] + missing
    start = query.start_index - 1
    return Page(len(rows), rows[start : start + query.count] if query.count > 0 else [])
