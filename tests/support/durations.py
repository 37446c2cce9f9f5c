"""One table of durations, run through every reader of the grammar: the contract's parser
(which the operator uses), the CLI's ``--grace`` and the CRD's schema on a real API
server. A duration is valid or invalid in all of them, or the tests fail."""

from __future__ import annotations

VALID: list[tuple[str, float]] = [
    ("0", 0),
    ("0s", 0),
    ("90s", 90),
    ("15m", 900),
    ("1h30m", 5400),
    ("1.5h", 5400),
    ("1h0m30s", 3630),
    ("2160h", 2160 * 3600),
    ("7d", 7 * 86400),
    ("1d12h", 36 * 3600),
    ("90d", 90 * 86400),
]
INVALID: list[str] = [
    "",
    "h",
    "d",
    "30",
    "1.5d",
    "1h1d",
    "1ms",
    "1h 30m",
    " 1h",
    "-1h",
    "1h30",
    "1.h",
    "P1D",
    "1w",
]
