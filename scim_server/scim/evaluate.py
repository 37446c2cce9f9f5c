"""In-memory evaluation of value filters (``emails[type eq "work"]``) for PATCH.

Queries never come here: storage compiles list filters to SQL. This only selects
entries of one multi-valued attribute of one resource.
"""

from __future__ import annotations

from datetime import datetime
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
                return datetime.fromisoformat(value)
            except ValueError:
                return value
        if not attr.case_exact:
            return fold(value)
    return value


def _compare(attr: Attribute, actual: Any, op: str, expected: Any) -> bool:
    if op == "eq" and expected is None:
        return not _present(actual)
    if op == "ne" and expected is None:
        return _present(actual)
    if actual is None:
        return op == "ne"
    if attr.type == "boolean" and isinstance(expected, str):
        expected = expected.lower() == "true"
    a, e = _comparable(attr, actual), _comparable(attr, expected)
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


def entry_matches(parent: Attribute, entry: Any, node: Filter) -> bool:
    """Whether one value of multi-valued ``parent`` satisfies ``node``.

    Raises InvalidPath when the filter names a sub-attribute ``parent`` lacks.
    """
    if isinstance(node, And):
        return all(entry_matches(parent, entry, t) for t in node.terms)
    if isinstance(node, Or):
        return any(entry_matches(parent, entry, t) for t in node.terms)
    if isinstance(node, Not):
        return not entry_matches(parent, entry, node.term)
    if isinstance(node, ValuePath):
        raise InvalidPath("value paths cannot be nested")
    name = node.path.attr
    if node.path.sub_attr is not None:
        raise InvalidPath(f"{node.path} is not a sub-attribute of {parent.name}")
    if parent.type == "complex":
        sub = parent.sub.get(name.lower())
        if sub is None:
            raise InvalidPath(f"{parent.name} has no sub-attribute {name!r}")
        actual = entry.get(sub.name) if isinstance(entry, dict) else None
    else:
        if name.lower() != "value":
            raise InvalidPath(f"{parent.name} has no sub-attribute {name!r}")
        sub, actual = parent, entry
    if isinstance(node, Present):
        return _present(actual)
    assert isinstance(node, Compare)
    return _compare(sub, actual, node.op, node.value)


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
