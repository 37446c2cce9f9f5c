"""Query parameters of the directory API: parsed once, errors named after the parameter."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from ..events.model import EVENT_TYPES
from ..storage.reads import Keyset
from .v1_models import DEFAULT_LIMIT, EVENTS_CURSOR_PATTERN, ID_PATTERN, MAX_LIMIT

_ID = re.compile(ID_PATTERN)
_EVENTS_CURSOR = re.compile(EVENTS_CURSOR_PATTERN)


class BadParameter(ValueError):
    """A query parameter the API refuses (400)."""


def is_id(value: str) -> bool:
    return _ID.fullmatch(value) is not None


def object_id(args: Mapping[str, str], name: str) -> str | None:
    value = args.get(name)
    if value is None:
        return None
    if not _ID.fullmatch(value):
        raise BadParameter(f"{name}: not an id (letters, digits and '-', at most 64)")
    return value


def limit(args: Mapping[str, str]) -> int:
    raw = args.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadParameter(f"limit: an integer from 1 to {MAX_LIMIT}")
    return int(raw)


def keyset(args: Mapping[str, str]) -> Keyset:
    """``limit``, ``before``/``after`` (object ids) and ``order`` (asc/desc, default desc)."""
    before, after = object_id(args, "before"), object_id(args, "after")
    if before is not None and after is not None:
        raise BadParameter("before and after: give at most one")
    order = args.get("order", "desc")
    if order not in ("asc", "desc"):
        raise BadParameter("order: asc or desc")
    return Keyset(limit(args), before or after, before is not None, order == "desc")


@dataclass(frozen=True, slots=True)
class EventQuery:
    limit: int
    positions: dict[str, int]
    types: tuple[str, ...]
    directory: str | None


def encode_positions(positions: dict[str, int]) -> str:
    """The ``after`` cursor of the events list: each directory's last event number."""
    raw = json.dumps(positions, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _positions(cursor: str | None) -> dict[str, int]:
    if cursor is None:
        return {}
    if not _EVENTS_CURSOR.fullmatch(cursor):
        raise BadParameter("after: not a cursor this API returned")
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        raise BadParameter("after: not a cursor this API returned") from None
    ok = isinstance(value, dict) and all(
        isinstance(k, str) and type(v) is int and v >= 0 for k, v in value.items()
    )
    if not ok:
        raise BadParameter("after: not a cursor this API returned")
    return dict(value)


def event_query(args: Mapping[str, str], types: list[str]) -> EventQuery:
    """``limit``, ``after`` (a cursor), ``events`` (types, repeated or comma-separated), ``directory_id``."""
    wanted = tuple(dict.fromkeys(t.strip() for raw in types for t in raw.split(",") if t.strip()))
    unknown = [t for t in wanted if t not in EVENT_TYPES]
    if unknown:
        raise BadParameter(f"events: unknown event type {unknown[0][:64]!r}")
    return EventQuery(limit(args), _positions(args.get("after")), wanted, object_id(args, "directory_id"))
