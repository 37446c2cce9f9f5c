"""List and search parameters (RFC 7644 sections 3.4.2 and 3.4.3)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidPath, InvalidSyntax, InvalidValue
from .filter import AttrPath, Filter, parse_attr_path, parse_filter
from .limits import check_integer
from .projection import Projection, parse_projection
from .schemas import SEARCH_SCHEMA, ResourceType


@dataclass(frozen=True, slots=True)
class ListQuery:
    filter: Filter | None = None
    sort_by: AttrPath | None = None
    descending: bool = False
    start_index: int = 1
    count: int = 100
    projection: Projection = field(default_factory=Projection)


def _int(value: Any, name: str) -> int:
    """An integer parameter, as a JSON number or a decimal string of at most 64 bits."""
    if isinstance(value, int) and not isinstance(value, bool):
        return check_integer(value, name)
    if isinstance(value, str):
        text = value.strip()
        digits = text[1:] if text[:1] in "+-" else text
        if digits.isascii() and digits.isdecimal() and len(digits) <= 20:
            return check_integer(int(text), name)
        if digits.isascii() and digits.isdecimal():
            raise InvalidValue(f"{name!r} is out of range: it must fit in a signed 64-bit integer")
    raise InvalidValue(f"{name!r} must be an integer")


def parse_list_query(
    rt: ResourceType, params: Mapping[str, Any], *, default_count: int, max_count: int
) -> ListQuery:
    """Read query-string or ``.search`` parameters (names case-insensitive).

    Raises InvalidFilter for a bad filter, InvalidValue for a bad number or sort order.
    """
    p = {k.lower(): v for k, v in params.items()}
    text = p.get("filter")
    if text is not None and not isinstance(text, str):
        raise InvalidValue("'filter' must be a string")
    node = parse_filter(text) if text else None
    sort_by = None
    if p.get("sortby"):
        sort_text = p["sortby"]
        if not isinstance(sort_text, str):
            raise InvalidValue("'sortBy' must be an attribute name")
        sort_by = parse_attr_path(sort_text, InvalidPath)
        rt.resolve(sort_by, InvalidValue)
    order = str(p.get("sortorder") or "ascending").lower()
    if order not in ("ascending", "descending"):
        raise InvalidValue("'sortOrder' must be 'ascending' or 'descending'")
    start = max(1, _int(p["startindex"], "startIndex")) if p.get("startindex") is not None else 1
    count = _int(p["count"], "count") if p.get("count") is not None else default_count
    count = min(max(0, count), max_count)
    projection = parse_projection(rt, p.get("attributes"), p.get("excludedattributes"))
    return ListQuery(node, sort_by, order == "descending", start, count, projection)


def search_params(body: Any) -> dict[str, Any]:
    """Validate a ``POST .search`` body and return its parameters."""
    if not isinstance(body, dict):
        raise InvalidSyntax("the request body must be a SearchRequest object")
    schemas = body.get("schemas")
    if schemas is not None and not isinstance(schemas, list):
        raise InvalidSyntax(f"'schemas' must be [{SEARCH_SCHEMA!r}]")
    if schemas is not None and SEARCH_SCHEMA.lower() not in {str(s).lower() for s in schemas}:
        raise InvalidSyntax(f"'schemas' must be [{SEARCH_SCHEMA!r}]")
    return {k: v for k, v in body.items() if k.lower() != "schemas"}
