"""Tokens of local directories: hashes in ``<state_dir>/tokens.json``, plus an optional
tokens file (for tokens mounted from a Secret)."""

from __future__ import annotations

import contextlib
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from ..crd.spec import validate_directory_id
from .credentials import Entry, matches, new_token, token_hash
from .statefile import locked_update


class LocalTokenRegistry:
    """Tokens of local directories, in ``<state_dir>/tokens.json`` (hashes only).

    Optionally also reads ``tokens_file``: YAML/JSON mapping directory -> token or list of
    tokens, each plaintext or ``sha256:<hex>`` (for tokens mounted from a Secret).
    The files are re-read when they change, so ``kubescim directories create`` takes
    effect in a running server.
    """

    def __init__(self, state_dir: Path, tokens_file: Path | None = None) -> None:
        self.state_file = state_dir / "tokens.json"
        self.tokens_file = tokens_file
        self._cache: dict[str, list[Entry]] = {}
        self._stamp: tuple[float, float] | None = None
        self._checked = 0.0

    # -- reading ------------------------------------------------------------------------
    def _mtimes(self) -> tuple[float, float]:
        def mtime(path: Path | None) -> float:
            try:
                return path.stat().st_mtime_ns if path else 0.0
            except FileNotFoundError:
                return 0.0

        return mtime(self.state_file), mtime(self.tokens_file)

    def _load(self) -> dict[str, list[Entry]]:
        # Re-check the files at most every 0.5 s: a stat per request is measurable.
        now = time.monotonic()
        if self._stamp is not None and now - self._checked < 0.5:
            return self._cache
        self._checked = now
        stamp = self._mtimes()
        if stamp == self._stamp:
            return self._cache
        entries: dict[str, list[Entry]] = {}
        for name, items in self._read_state().items():
            entries[name] = [Entry(i["sha256"], i["created"], i.get("expires")) for i in items]
        if self.tokens_file is not None and self.tokens_file.exists():
            for name, value in _read_tokens_file(self.tokens_file).items():
                entries.setdefault(name, []).extend(value)
        self._cache, self._stamp = entries, stamp
        return entries

    def _read_state(self) -> dict[str, list[dict[str, Any]]]:
        try:
            data = json.loads(self.state_file.read_text())
        except FileNotFoundError:
            return {}
        return dict(data.get("directories", {}))

    def verify(self, directory: str, token: str) -> bool:
        entries = self._load().get(directory)
        if not entries or not token:
            return False
        return matches(entries, token_hash(token), datetime.now(UTC))

    def directories(self) -> list[str]:
        return sorted(self._load())

    def suspended(self, directory: str) -> bool:
        return False

    def refusal(self, directory: str) -> str | None:
        return None

    # -- writing ------------------------------------------------------------------------
    def _locked_state(self) -> contextlib.AbstractContextManager[dict[str, Any]]:
        return locked_update(self.state_file, "directories", self._read_state)

    def issue(self, directory: str, *, grace: timedelta | None = None) -> str:
        """Issue a new token for ``directory`` and return it (the only time it is visible).

        Existing tokens stay valid for ``grace`` (forever when None and the directory
        is new; a rotation passes a grace period).
        """
        validate_directory_id(directory)
        token = new_token()
        at = datetime.now(UTC)
        with self._locked_state() as state:
            current = state.get(directory, [])
            if grace is not None:
                deadline = (at + grace).isoformat()
                for item in current:
                    if item.get("expires") is None or item["expires"] > deadline:
                        item["expires"] = deadline
            current = [i for i in current if i.get("expires") is None or i["expires"] > at.isoformat()]
            current.append({"sha256": token_hash(token), "created": at.isoformat(), "expires": None})
            state[directory] = current
        self._stamp = None
        return token

    def has(self, directory: str) -> bool:
        return directory in self._read_state()

    def revoke(self, directory: str) -> bool:
        """Forget every token of ``directory``; returns whether it existed."""
        with self._locked_state() as state:
            existed = state.pop(directory, None) is not None
        self._stamp = None
        return existed


def _read_tokens_file(path: Path) -> dict[str, list[Entry]]:
    raw = yaml.safe_load(path.read_text()) or {}
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a mapping of directory name to token(s)")
    out: dict[str, list[Entry]] = {}
    for name, value in raw.items():
        values = value if isinstance(value, list) else [value]
        entries = []
        for item in values:
            text = str(item)
            digest = text.removeprefix("sha256:") if text.startswith("sha256:") else token_hash(text)
            entries.append(Entry(digest, "", None))
        out[str(name)] = entries
    return out
