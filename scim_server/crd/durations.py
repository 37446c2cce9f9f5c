"""The one duration grammar: Go's (``90s``, ``15m``, ``1h30m``, ``1.5h``) plus whole days
first (``7d``, ``1d12h``), and ``0``.

The CLI (``--grace``), the CRD schema (``tokenPolicy``'s pattern and its CEL rules) and
the operator all read durations through this grammar; a test runs one table of inputs
through all three. Days come first and are whole so that the CRD's CEL rules, whose
``duration()`` knows no days, can convert them (``cel_duration``).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Final

PATTERN: Final = r"^(0|[0-9]+d([0-9]+(\.[0-9]+)?(h|m|s))*|([0-9]+(\.[0-9]+)?(h|m|s))+)$"
"""The grammar as a regular expression, as the CRD schema's ``pattern`` spells it."""

_GRAMMAR = re.compile(PATTERN)
_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(d|h|m|s)")
_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(text: str) -> timedelta:
    """Parse ``text`` (``7d``, ``1h30m``, ``90s``, ``0``). Raises ValueError naming the grammar."""
    if not _GRAMMAR.match(text):
        raise ValueError(
            f"invalid duration {text!r}: use whole days first, then hours, minutes, seconds "
            "(e.g. 90s, 15m, 1h30m, 7d, 1d12h)"
        )
    return timedelta(seconds=sum(float(n) * _SECONDS[unit] for n, unit in _PART.findall(text)))


def cel_seconds(field: str) -> str:
    """A CEL expression giving the whole seconds of the string ``field`` (already matching
    ``PATTERN``): CEL's ``duration()`` takes Go durations only, so days are counted apart."""
    days = f"int({field}.substring(0, {field}.indexOf('d'))) * 86400"
    rest = f"{field}.substring({field}.indexOf('d') + 1)"
    return (
        f"({field}.contains('d') ? {days} + ({field}.endsWith('d') ? 0 : duration({rest}).getSeconds())"
        f" : duration({field}).getSeconds())"
    )
