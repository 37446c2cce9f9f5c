"""Organizations as the directory API sees them: API keys, their directories, policies,
and (for the webhook worker) their webhooks.

An API key belongs to one Organization and reads only that organization's directories
(another organization's objects answer 404). Keys are 256 random bits, kept only as
SHA-256 and compared in constant time, like directory tokens.
"""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, Protocol

from ..crd.spec import validate_directory_id
from ..events.model import EVENT_TYPES
from ..events.objects import DEFAULT_POLICY, DirectoryPolicy
from ..events.signing import new_signing_secret
from ..webhooks.endpoints import WebhookEndpoint
from .credentials import Entry, matches, token_hash
from .statefile import locked_update

API_KEY_PREFIX: Final = "kscim_key_"


def new_api_key() -> str:
    """A fresh organization API key: 256 bits from the OS CSPRNG, URL-safe."""
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class Organization:
    """An organization an API key authenticated: its id and the directories it may read."""

    id: str
    directories: frozenset[str]


class OrganizationRegistry(Protocol):
    """Which organization an API key belongs to, and what the API needs of directories."""

    def authenticate(self, key: str) -> Organization | None:
        """The organization whose current key ``key`` is, else None.

        Raises scim.errors.ServiceUnavailable when the registry cannot tell now.
        """

    def organization_of(self, directory: str) -> str | None:
        """The id of the organization ``directory`` belongs to (event payloads), else None."""

    def policy(self, directory: str) -> DirectoryPolicy:
        """The directory's attribute, role and inactive-user policy."""


def _keys(items: list[dict[str, Any]]) -> list[Entry]:
    return [Entry(i["sha256"], i.get("created", ""), i.get("expires")) for i in items]


class LocalOrganizationRegistry:
    """Organizations of a local run, in ``<state_dir>/organizations.json`` (key hashes only).

    Written by ``kubescim organizations``; re-read when the file changes, so a key the
    CLI issues works in a running server.
    """

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / "organizations.json"
        self._cache: dict[str, dict[str, Any]] = {}
        self._stamp: float | None = None

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            stamp = float(self.path.stat().st_mtime_ns)
        except FileNotFoundError:
            return {}
        if stamp != self._stamp:
            self._cache, self._stamp = self._read(), stamp
        return self._cache

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        return dict(data.get("organizations", {}))

    # -- OrganizationRegistry -------------------------------------------------------------
    def authenticate(self, key: str) -> Organization | None:
        if not key:
            return None
        digest, at, found = token_hash(key), datetime.now(UTC), None
        for name, org in sorted(self._load().items()):
            # every organization is compared, so timing does not tell which one matched
            if matches(_keys(org.get("keys", [])), digest, at) and found is None:
                found = Organization(name, frozenset(org.get("directories", [])))
        return found

    def organization_of(self, directory: str) -> str | None:
        return next(
            (n for n, o in sorted(self._load().items()) if directory in o.get("directories", [])), None
        )

    def policy(self, directory: str) -> DirectoryPolicy:
        return DEFAULT_POLICY

    def endpoints(self) -> list[WebhookEndpoint]:
        """The webhooks of every organization (``EndpointSource``)."""
        out = []
        for name, org in sorted(self._read().items()):
            directories = tuple(sorted(org.get("directories", [])))
            for hook in org.get("webhooks", []):
                out.append(
                    WebhookEndpoint(
                        f"{name}/{hook['name']}",
                        name,
                        hook["url"],
                        hook["secret"],
                        frozenset(hook.get("events") or ()),
                        directories,
                    )
                )
        return out

    def organizations(self) -> dict[str, list[str]]:
        """Each organization's directories."""
        return {n: sorted(o.get("directories", [])) for n, o in sorted(self._load().items())}

    # -- writing (the CLI) --------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        with locked_update(self.path, "organizations", self._read) as state:
            yield state
        self._stamp = None

    def create(self, name: str, directories: list[str]) -> str:
        """Create organization ``name`` with ``directories``; return its first API key.

        Raises ValueError when it exists or a name is invalid.
        """
        validate_directory_id(name)
        for directory in directories:
            validate_directory_id(directory)
        key = new_api_key()
        with self._locked() as state:
            if name in state:
                raise ValueError(f"organization {name!r} already exists")
            state[name] = {"keys": [_entry(key)], "directories": sorted(set(directories))}
        return key

    def attach(self, name: str, directory: str) -> None:
        """Add ``directory`` to organization ``name``. Raises KeyError, ValueError."""
        validate_directory_id(directory)
        with self._locked() as state:
            org = state[name]
            owner = next((n for n, o in state.items() if directory in o.get("directories", [])), None)
            if owner not in (None, name):
                raise ValueError(f"directory {directory!r} belongs to organization {owner!r}")
            org["directories"] = sorted({*org.get("directories", []), directory})

    def rotate(self, name: str, grace: timedelta) -> str:
        """Issue a new key; the current ones keep working for ``grace``. Raises KeyError."""
        key = new_api_key()
        at = datetime.now(UTC)
        deadline = (at + grace).isoformat()
        with self._locked() as state:
            org = state[name]
            kept = []
            for item in org.get("keys", []):
                if item.get("expires") is None or item["expires"] > deadline:
                    item["expires"] = deadline
                if item["expires"] > at.isoformat():
                    kept.append(item)
            org["keys"] = [*kept, _entry(key)]
        return key

    def add_webhook(
        self, name: str, hook: str, url: str, events: list[str], secret: str | None = None
    ) -> str:
        """Declare webhook ``hook`` of organization ``name``; return its signing secret.

        Raises KeyError (no such organization), ValueError (bad name, URL or event type).
        """
        validate_directory_id(hook)
        if not url.startswith(("https://", "http://")):
            raise ValueError("webhook url must start with https:// (or http:// for local receivers)")
        unknown = [e for e in events if e not in EVENT_TYPES]
        if unknown:
            raise ValueError(f"unknown event type {unknown[0]!r}")
        secret = secret or new_signing_secret()
        with self._locked() as state:
            org = state[name]
            hooks = [h for h in org.get("webhooks", []) if h["name"] != hook]
            org["webhooks"] = [*hooks, {"name": hook, "url": url, "secret": secret, "events": sorted(events)}]
        return secret

    def remove_webhook(self, name: str, hook: str) -> bool:
        with self._locked() as state:
            org = state.get(name, {})
            before = len(org.get("webhooks", []))
            org["webhooks"] = [h for h in org.get("webhooks", []) if h["name"] != hook]
            return len(org["webhooks"]) != before

    def delete(self, name: str) -> bool:
        with self._locked() as state:
            return state.pop(name, None) is not None


def _entry(key: str) -> dict[str, Any]:
    return {"sha256": token_hash(key), "created": datetime.now(UTC).isoformat(), "expires": None}
