"""Case folding that agrees with PostgreSQL's lower(): one character at a time."""

from __future__ import annotations

import pytest

from scim_server.scim.casefold import fold


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("BJensen@Example.COM", "bjensen@example.com"),
        ("ΝΙΚΟΣ", "νικοσ"),  # str.lower() would end it with the final-sigma form "ς"
        ("\u0130stanbul", "istanbul"),  # str.lower() would give "i" plus a combining dot
        ("ÄRGER Ünïcode", "ärger ünïcode"),
        ("ИВАНОВ", "иванов"),
        ("straße", "straße"),
        ("\U0001f600", "\U0001f600"),
    ],
)
def test_fold_maps_each_character_to_its_simple_lower_case(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_fold_never_changes_the_length() -> None:
    text = "".join(chr(c) for c in range(0x20, 0x3000) if not 0xD800 <= c <= 0xDFFF)
    assert len(fold(text)) == len(text)
