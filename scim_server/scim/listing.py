"""The ListResponse message (RFC 7644 section 3.4.2): one builder for every list."""

from __future__ import annotations

from typing import Any

from .schemas import LIST_SCHEMA


def list_response(
    resources: list[dict[str, Any]], *, total: int | None = None, start_index: int = 1
) -> dict[str, Any]:
    """A ListResponse of ``resources`` (one page of ``total`` matches; all of them when None)."""
    return {
        "schemas": [LIST_SCHEMA],
        "totalResults": len(resources) if total is None else total,
        "startIndex": start_index,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }
