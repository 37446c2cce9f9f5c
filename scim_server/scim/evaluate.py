"""In-memory evaluation of value filters (``emails[type eq "work"]``) for PATCH.

The SQL backends compile list filters to SQL; this selects entries of one multi-valued
attribute of one resource (PATCH), and compares one value (the in-memory backends' lists).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .casefold import fold
from .errors import InvalidPath
from .filter import And, Compare, Filter, Not, Or, Present, ValuePath
from .schemas import Attribute


def _present(value: Any) -> bool:
    return value not in (None, "", [], {})


def _comparable(attr: Attribute, value: Any) -> Any:
    if isinstance(value, str):
        if attr.type == "dateTime":
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                return value
            return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
        if not attr.case_exact:
            return fold(value)
    return value


def _compare(attr: Attribute, actual: Any, op: str, expected: Any, folded: Any) -> bool:
    """Compare ``actual`` with ``expected`` (``folded``: expected, already made comparable)."""
    if op == "eq" and expected is None:
        return not _present(actual)
    if op == "ne" and expected is None:
        return _present(actual)
    if actual is None:
        return op == "ne"
    a, e = _comparable(attr, actual), folded
    try:
        if op == "eq":
            return bool(a == e)
        if op == "ne":
            return bool(a != e)
        if op == "co":
            return isinstance(a, str) and e in a
        if op == "sw":
            return isinstance(a, str) and a.startswith(e)
        if op == "ew":
            return isinstance(a, str) and a.endswith(e)
        if op == "gt":
            return bool(a > e)
        if op == "ge":
            return bool(a >= e)
        if op == "lt":
            return bool(a < e)
        if op == "le":
            return bool(a <= e)
    except TypeError:
        return False
    return False


Matcher = Callable[[Any], bool]


def matcher(parent: Attribute, node: Filter) -> Matcher:
    """A predicate saying whether one value of multi-valued ``parent`` satisfies ``node``.

    The filter is bound once (sub-attributes resolved, the expected value folded), so
    selecting among many values costs one cheap call per value.
    Raises InvalidPath when the filter names a sub-attribute ``parent`` lacks.
    """
    if isinstance(node, And):
        parts = [matcher(parent, t) for t in node.terms]
        return lambda entry: all(part(entry) for part in parts)
    if isinstance(node, Or):
        parts = [matcher(parent, t) for t in node.terms]
        return lambda entry: any(part(entry) for part in parts)
    if isinstance(node, Not):
        inner = matcher(parent, node.term)
        return lambda entry: not inner(entry)
    if isinstance(node, ValuePath):
        raise InvalidPath("value paths cannot be nested")
    name = node.path.attr
    if node.path.sub_attr is not None:
        raise InvalidPath(f"{node.path} is not a sub-attribute of {parent.name}")
    if parent.type == "complex":
        found = parent.sub.get(name.lower())
        if found is None:
            raise InvalidPath(f"{parent.name} has no sub-attribute {name!r}")
        sub, key = found, found.name

        def actual(entry: Any) -> Any:
            return entry.get(key) if isinstance(entry, dict) else None

    else:
        if name.lower() != "value":
            raise InvalidPath(f"{parent.name} has no sub-attribute {name!r}")
        sub = parent

        def actual(entry: Any) -> Any:
            return entry

    if isinstance(node, Present):
        return lambda entry: _present(actual(entry))
    assert isinstance(node, Compare)
    op, expected = node.op, node.value
    if expected is not None and sub.type == "boolean" and isinstance(expected, str):
        expected = expected.lower() == "true"
    folded = _comparable(sub, expected)
    return lambda entry: _compare(sub, actual(entry), op, expected, folded)


def entry_matches(parent: Attribute, entry: Any, node: Filter) -> bool:
    """Whether one value of multi-valued ``parent`` satisfies ``node``. Raises InvalidPath."""
    return matcher(parent, node)(entry)


def equality_template(parent: Attribute, node: Filter) -> dict[str, Any] | None:
    """The entry a filter of ``eq`` terms joined by ``and`` describes, else None.

    Used to create the entry ``emails[type eq "work"].value`` targets when none exists.
    """
    terms = node.terms if isinstance(node, And) else (node,)
    out: dict[str, Any] = {}
    for term in terms:
        if not isinstance(term, Compare) or term.op != "eq" or term.path.sub_attr:
            return None
        sub = parent.sub.get(term.path.attr.lower())
        if sub is None:
            return None
        out[sub.name] = term.value
    return out


def value_matches(attr: Attribute, actual: Any, node: Compare | Present) -> bool:
    """Whether one value of ``attr`` satisfies a comparison or ``pr`` (SQL's semantics:
    an empty string is not present, a missing value is ``ne`` anything)."""
    if isinstance(node, Present):
        return _present(actual)
    expected = node.value
    if expected is not None and attr.type == "boolean" and isinstance(expected, str):
        expected = expected.lower() == "true"
    return _compare(attr, actual, node.op, expected, _comparable(attr, expected))
