"""Case-insensitive matching, the same in Python, in SQLite and in PostgreSQL.

Python's ``str.lower`` applies full case mapping: context-dependent (a final capital
sigma becomes "ς") and length-changing ("İ" becomes "i" plus a combining dot).
PostgreSQL's ``lower()`` maps one character at a time (the Unicode simple mapping),
so "ΝΙΚΟΣ" was "νικος" to Python and "νικοσ" to PostgreSQL, and a Greek name did
not even match itself there. ``fold`` is the simple mapping, used for every key we
compute (``userName``, Group ``displayName``), every filter value, SQLite's
``scim_lower`` and in-memory PATCH matching, so all of them agree with ``lower()``.
"""

from __future__ import annotations

# The only character whose full lower case is longer than one character; its
# simple lower case is a plain "i".
_SIMPLE = {"\u0130": "i"}


def fold(text: str) -> str:
    """``text`` lower-cased one character at a time (Unicode simple case mapping)."""
    if text.isascii():
        return text.lower()
    return "".join(_SIMPLE.get(char) or char.lower() for char in text)
