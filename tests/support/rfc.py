"""The RFC 7643/7644 sample payloads under ``tests/data/rfc/`` (see its README)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RFC_DATA = Path(__file__).resolve().parent.parent / "data" / "rfc"


def load(name: str) -> Any:
    """Return a fresh copy of ``tests/data/rfc/<name>.json``; tests may mutate it."""
    return json.loads((RFC_DATA / f"{name}.json").read_text(encoding="utf-8"))


def load_object(name: str) -> dict[str, Any]:
    """``load`` for the files that hold one JSON object (resources, messages)."""
    data = load(name)
    assert isinstance(data, dict), f"{name}.json holds {type(data).__name__}, not an object"
    return data
