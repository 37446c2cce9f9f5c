"""Webhooks declared on Organizations (``spec.webhooks``), read from the Kubernetes API.

Each read lists Organizations, ScimDirectories (a directory belongs to the Organization
its ``spec.organizationRef`` names, in its namespace; its spec gives the policy events
are shaped by) and gets the signing Secrets the webhooks reference: nothing else, so the
worker's RBAC stays at list, get by name and ``organizations/status`` patch. The worker
reads every few seconds, and results are cached for that long. ``report`` writes
delivery state into each Organization's ``status.webhooks``.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Mapping
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from ..crd import names as n
from ..crd.client import describe, list_custom_objects
from ..crd.spec import directory_id
from ..events.objects import DEFAULT_POLICY, DirectoryPolicy
from ..events.policy import policy_from_spec
from .endpoints import WebhookEndpoint

log = logging.getLogger("kubescim.webhooks")


def organization_id(namespace: str, name: str) -> str:
    """An Organization's id in API payloads and webhook ids."""
    return f"{namespace}/{name}"


def endpoints_of(
    organization: Mapping[str, Any],
    directories: list[str],
    secrets: Mapping[tuple[str, str], Mapping[str, str]],
) -> list[WebhookEndpoint]:
    """The webhooks one Organization declares, with their secrets (missing ones skipped)."""
    meta = organization["metadata"]
    org = organization_id(meta["namespace"], meta["name"])
    out = []
    for hook in (organization.get("spec") or {}).get("webhooks") or []:
        ref = hook.get("secretRef") or {}
        secret = (secrets.get((meta["namespace"], ref.get("name", ""))) or {}).get(
            ref.get("key") or "signing-secret"
        )
        if not secret:
            log.warning(
                "webhook %s/%s: signing Secret %s not found; not delivering", org, hook.get("name"), ref
            )
            continue
        out.append(
            WebhookEndpoint(
                f"{org}/{hook['name']}",
                org,
                hook["url"],
                secret,
                frozenset(hook.get("events") or ()),
                tuple(sorted(directories)),
            )
        )
    return out


class KubernetesEndpointSource:
    """``EndpointSource`` over the Kubernetes API, in ``namespace`` (all when None), and
    the directories' policies as of the last read."""

    def __init__(
        self, configuration: client.Configuration, namespace: str | None, cache_seconds: float = 5
    ) -> None:
        self.api = client.ApiClient(configuration)
        self.namespace = namespace
        self.cache_seconds = cache_seconds
        self._cached: tuple[float, list[WebhookEndpoint]] | None = None
        self._policies: dict[str, DirectoryPolicy] = {}

    def _list(self, plural: str) -> list[dict[str, Any]]:
        return list_custom_objects(self.api, plural, self.namespace)

    def _secret(self, namespace: str, name: str) -> dict[str, str]:
        try:
            secret = client.CoreV1Api(self.api).read_namespaced_secret(name, namespace)
        except ApiException as exc:
            if exc.status == 404:
                return {}
            raise
        return {k: base64.b64decode(v).decode() for k, v in (secret.data or {}).items()}

    def endpoints(self) -> list[WebhookEndpoint]:
        if self._cached is not None and time.monotonic() - self._cached[0] < self.cache_seconds:
            return self._cached[1]
        organizations = self._list(n.ORGANIZATIONS)
        members: dict[tuple[str, str], list[str]] = {}
        policies: dict[str, DirectoryPolicy] = {}
        for item in self._list(n.DIRECTORIES):
            meta, spec = item["metadata"], item.get("spec") or {}
            org = (spec.get("organizationRef") or {}).get("name", "")
            dir_id = (item.get("status") or {}).get("directoryId") or directory_id(
                meta["namespace"], meta["name"], spec
            )
            members.setdefault((meta["namespace"], org), []).append(dir_id)
            policies[dir_id] = policy_from_spec(spec)
        secrets: dict[tuple[str, str], dict[str, str]] = {}
        out = []
        for org in organizations:
            meta = org["metadata"]
            for hook in (org.get("spec") or {}).get("webhooks") or []:
                key = (meta["namespace"], (hook.get("secretRef") or {}).get("name", ""))
                if key not in secrets:
                    secrets[key] = self._secret(*key)
            out += endpoints_of(org, members.get((meta["namespace"], meta["name"]), []), secrets)
        self._cached, self._policies = (time.monotonic(), out), policies
        return out

    def policy(self, directory: str) -> DirectoryPolicy:
        """The directory's policy from its spec as last read (the default before a read)."""
        return self._policies.get(directory, DEFAULT_POLICY)

    def report(self, organization: str, entries: list[dict[str, Any]]) -> None:
        """Write an Organization's ``status.webhooks`` (best effort: logged on failure)."""
        namespace, name = organization.split("/", 1)
        try:
            client.CustomObjectsApi(self.api).patch_namespaced_custom_object_status(
                n.GROUP, n.VERSION, namespace, n.ORGANIZATIONS, name, {"status": {"webhooks": entries}}
            )
        except Exception as exc:
            log.warning("could not report webhook status on %s (%s)", organization, describe(exc))
