"""The input policy: what the server admits, decided before any backend sees a value.

Every backend must accept and reject the same requests. Where one backend would
otherwise enforce a limit by failing (PostgreSQL cannot store NUL in text, a B-tree
entry has a size limit, SQLite's parser has a stack limit, SQL integers have 64
bits, Python's JSON parser recurses), the limit is checked here, once, and the
client gets a SCIM error saying which rule it broke.

The checks are cheap on the hot path: a body with no ``\\u`` escape and fewer
brackets than the depth limit cannot hold a NUL, a lone surrogate or deep nesting,
so only other bodies are walked (iteratively, never recursively).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Final

from .errors import InvalidSyntax, InvalidValue

#: Deepest nesting of JSON arrays and objects in a request body (a Bulk request
#: carrying a PATCH of a User's emails needs 9).
MAX_JSON_DEPTH: Final = 32
#: Longest value, in characters, of an attribute backed by an index: a User's
#: ``userName`` and ``externalId``, a Group's ``displayName`` and ``externalId``.
#: 512 characters of up to 4 bytes, folded (``casefold``, which keeps lengths), stay
#: inside PostgreSQL's B-tree entry limit of 2,704 bytes with the directory name.
MAX_INDEXED_LENGTH: Final = 512
#: Most values one multi-valued attribute may hold (a Group's members excepted: they
#: are a relation, not a list in a document). Bounds the PATCH engine's work, which is
#: operations x values of the attribute each one selects.
MAX_VALUES: Final = 1000
#: Resource ids are UUIDs; a longer id, or one with a NUL, names nothing.
MAX_ID_LENGTH: Final = 255
#: Integer parameters (``startIndex``, ``count``) must fit in a signed 64-bit integer.
MIN_INTEGER: Final = -(2**63)
MAX_INTEGER: Final = 2**63 - 1

INDEXED_ATTRIBUTES: Final[dict[str, tuple[str, ...]]] = {
    "User": ("userName", "externalId"),
    "Group": ("displayName", "externalId"),
}

_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")


def _reject_constant(name: str) -> Any:
    raise InvalidSyntax(f"the request body is not valid JSON: {name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InvalidValue(f"the number {text[:40]} is out of range")
    return value


_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)


def text_problem(value: str) -> str | None:
    """Why no backend can store ``value`` ("a NUL character", "an unpaired surrogate"), or None."""
    match = _BAD_TEXT.search(value)
    if match is None:
        return None
    return "a NUL character" if match.group() == "\x00" else "an unpaired surrogate (invalid Unicode)"


def _where(path: tuple[str | int, ...]) -> str:
    """``Operations[0].value``: where in the body a value sits, for error messages."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part[:64]}" if text else part[:64]
    return f"the value at {text}" if text else "the request body"


def _walk(doc: Any) -> None:
    """Check every string (keys too) and the nesting depth of a parsed body."""
    stack: list[tuple[Any, int, tuple[str | int, ...]]] = [(doc, 1, ())]
    while stack:
        node, depth, path = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise InvalidSyntax(
                f"the request body nests arrays and objects deeper than {MAX_JSON_DEPTH} levels"
            )
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in items:
            if isinstance(key, str) and (problem := text_problem(key)) is not None:
                raise InvalidValue(f"an attribute name in {_where(path)} contains {problem}")
            if isinstance(value, str):
                if (problem := text_problem(value)) is not None:
                    raise InvalidValue(f"{_where((*path, key))} contains {problem}")
            elif isinstance(value, dict | list):
                stack.append((value, depth + 1, (*path, key)))


def parse_json(data: bytes) -> Any:
    """Parse a request body under the policy.

    Raises InvalidSyntax for text that is not strict UTF-8 JSON (``NaN``, ``Infinity``,
    invalid bytes, nesting deeper than ``MAX_JSON_DEPTH``) and InvalidValue for strings
    holding a NUL or an unpaired surrogate, or a number beyond a double's range.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidSyntax(
            f"the request body is not valid UTF-8: byte {exc.start} ({data[exc.start : exc.start + 1]!r})"
        ) from None
    text = text.removeprefix("\ufeff")
    try:
        doc = _DECODER.decode(text)
    except RecursionError:
        raise InvalidSyntax(
            f"the request body nests arrays and objects deeper than {MAX_JSON_DEPTH} levels"
        ) from None
    except ValueError as exc:
        raise InvalidSyntax(f"the request body is not valid JSON: {exc}") from None
    # Strict UTF-8 decoding and the parser's refusal of raw control characters leave
    # escapes as the only way to a NUL or a lone surrogate.
    if isinstance(doc, dict | list) and ("\\u" in text or text.count("[") + text.count("{") > MAX_JSON_DEPTH):
        _walk(doc)
    return doc


def check_integer(value: int, name: str) -> int:
    """Return ``value``; raise InvalidValue when it does not fit in 64 bits."""
    if not MIN_INTEGER <= value <= MAX_INTEGER:
        raise InvalidValue(f"{name!r} is out of range: it must fit in a signed 64-bit integer")
    return value


def check_indexed_lengths(kind: str, doc: dict[str, Any]) -> None:
    """Raise InvalidValue when an indexed attribute is longer than ``MAX_INDEXED_LENGTH``."""
    for name in INDEXED_ATTRIBUTES[kind]:
        value = doc.get(name)
        if isinstance(value, str) and len(value) > MAX_INDEXED_LENGTH:
            raise InvalidValue(
                f"{name} is {len(value)} characters long; at most {MAX_INDEXED_LENGTH} are allowed"
            )


def check_value_count(name: str, values: list[Any]) -> None:
    """Raise InvalidValue when a multi-valued attribute holds more than ``MAX_VALUES`` values."""
    if len(values) > MAX_VALUES:
        raise InvalidValue(f"{name} has {len(values)} values; at most {MAX_VALUES} are allowed")


def is_possible_id(value: str) -> bool:
    """Whether ``value`` could name a stored resource (ids are short and NUL-free)."""
    return len(value) <= MAX_ID_LENGTH and "\x00" not in value
