"""Organization API keys from the operator's Secrets, for the directory API (Kubernetes).

A background thread lists Organizations, ScimDirectories and API key Secrets every
``refresh_seconds`` (a revoked or rotated-out key is refused within that). A key is
accepted for Organization O only from the Secret O's ``status.apiKeySecretRef`` names, in
O's namespace, controlled by O (ownerReference with its UID): the same trust rule as
directory tokens (docs/security.md). Directories belong to the Organization their
``spec.organizationRef`` names; their policy comes from their spec.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kubernetes import client

from ..crd import apikey as ak
from ..crd import names as n
from ..crd.client import describe, list_custom_objects
from ..crd.spec import directory_id
from ..events.objects import DEFAULT_POLICY, DirectoryPolicy
from ..events.policy import policy_from_spec
from ..scim.errors import ServiceUnavailable
from ..webhooks.kubernetes import organization_id
from .credentials import Entry, matches, token_hash
from .organizations import Organization

log = logging.getLogger("kubescim.tokens")


@dataclass(frozen=True, slots=True)
class _Snapshot:
    keys: dict[str, list[Entry]]  # organization id -> valid keys
    directories: dict[str, frozenset[str]]  # organization id -> directory ids
    owners: dict[str, str]  # directory id -> organization id
    policies: dict[str, DirectoryPolicy]


def snapshot(
    organizations: list[dict[str, Any]], directories: list[dict[str, Any]], secrets: list[dict[str, Any]]
) -> _Snapshot:
    """What the cluster says, reduced to keys, memberships and policies (pure)."""
    trusted: dict[tuple[str, str, str], str] = {}  # (namespace, secret name, owner uid) -> org id
    for org in organizations:
        meta = org["metadata"]
        ref = ((org.get("status") or {}).get("apiKeySecretRef") or {}).get("name")
        if ref:
            trusted[(meta["namespace"], ref, meta.get("uid", ""))] = organization_id(
                meta["namespace"], meta["name"]
            )
    keys: dict[str, list[Entry]] = {}
    for obj in secrets:
        secret = ak.read_api_key_secret(obj)
        if secret is None:
            continue
        org_id = trusted.get((secret.namespace, secret.name, secret.owner_uid or ""))
        if org_id is None or org_id != organization_id(secret.namespace, secret.organization):
            continue
        entries = [Entry(secret.key_sha256, "", None)] if secret.key_sha256 else []
        if secret.previous is not None:
            entries.append(Entry(secret.previous[0], "", secret.previous[1]))
        keys[org_id] = entries
    members: dict[str, set[str]] = {}
    owners: dict[str, str] = {}
    policies: dict[str, DirectoryPolicy] = {}
    for item in directories:
        meta, spec = item["metadata"], item.get("spec") or {}
        org_name = (spec.get("organizationRef") or {}).get("name")
        if not org_name:
            continue
        dir_id = (item.get("status") or {}).get("directoryId") or directory_id(
            meta["namespace"], meta["name"], spec
        )
        org_id = organization_id(meta["namespace"], org_name)
        members.setdefault(org_id, set()).add(dir_id)
        owners[dir_id] = org_id
        policies[dir_id] = policy_from_spec(spec)
    return _Snapshot(keys, {k: frozenset(v) for k, v in members.items()}, owners, policies)


class KubernetesOrganizationRegistry:
    """``OrganizationRegistry`` over the Kubernetes API, in ``namespace`` (all when None)."""

    def __init__(
        self, configuration: client.Configuration, namespace: str | None, refresh_seconds: float = 5
    ):
        self.api = client.ApiClient(configuration)
        self.namespace = namespace
        self.refresh_seconds = refresh_seconds
        self._snapshot: _Snapshot | None = None
        self._stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="kubescim-api-keys", daemon=True)

    def start(self) -> KubernetesOrganizationRegistry:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self.thread.join(5)

    def _loop(self) -> None:
        while not self._stopped.is_set():
            try:
                self.refresh()
            except Exception as exc:
                log.warning("cannot refresh organization API keys (%s)", describe(exc))
            self._stopped.wait(self.refresh_seconds)

    def _custom(self, plural: str) -> list[dict[str, Any]]:
        return list_custom_objects(self.api, plural, self.namespace)

    def refresh(self) -> None:
        """Read the cluster now (the thread does this every ``refresh_seconds``)."""
        core = client.CoreV1Api(self.api)
        if self.namespace:
            listing = core.list_namespaced_secret(self.namespace, label_selector=ak.SELECTOR)
        else:
            listing = core.list_secret_for_all_namespaces(label_selector=ak.SELECTOR)
        secrets = [self.api.sanitize_for_serialization(s) for s in listing.items]
        self._snapshot = snapshot(self._custom(n.ORGANIZATIONS), self._custom(n.DIRECTORIES), secrets)

    def wait_synced(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self._snapshot is None and time.monotonic() < deadline:
            time.sleep(0.05)
        return self._snapshot is not None

    # -- OrganizationRegistry -------------------------------------------------------------
    def authenticate(self, key: str) -> Organization | None:
        current = self._snapshot
        if current is None:
            raise ServiceUnavailable("organization API keys are not loaded from the Kubernetes API yet", 5)
        if not key:
            return None
        digest, at, found = token_hash(key), datetime.now(UTC), None
        for org_id, entries in sorted(current.keys.items()):
            if matches(entries, digest, at) and found is None:
                found = Organization(org_id, current.directories.get(org_id, frozenset()))
        return found

    def organization_of(self, directory: str) -> str | None:
        current = self._snapshot
        return current.owners.get(directory) if current else None

    def policy(self, directory: str) -> DirectoryPolicy:
        current = self._snapshot
        return current.policies.get(directory, DEFAULT_POLICY) if current else DEFAULT_POLICY
