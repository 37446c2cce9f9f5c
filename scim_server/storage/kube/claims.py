"""Unique names without an index object: one small claim object per folded name.

Creating ``<directory>-un-<hash>`` before the resource is the lock (AlreadyExists means
the name is taken: SCIM 409 ``uniqueness``); the claim records whose it is, and once
the resource exists it becomes the claim's owner, so deleting the resource by any means
lets Kubernetes' garbage collector remove the claim. A claim whose resource never
appeared (a crash between the two creates) or no longer carries the name is stale after
``GRACE`` and is removed: at start-up (``sweep``) and when it blocks a create.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from ...crd.client import describe
from ...scim.casefold import fold
from ...scim.errors import Uniqueness
from ..base import Kind
from ..integrity import unique_violation
from .cache import ResourceCache
from .objectapi import AlreadyExists, ObjectApi, Stale
from .objects import (
    CLAIM_SELECTOR,
    LABEL_DIRECTORY,
    Entry,
    claim_name,
    claim_object,
    claim_owner,
    object_name,
    owner_reference,
    parse_object,
)

log = logging.getLogger("kubescim.storage.kube")

#: How long a claim may wait for its resource before it counts as left over by a crash.
GRACE: Final = timedelta(seconds=60)
_KEYS: Final[dict[Kind, str]] = {"User": "user_name_key", "Group": "display_name_key"}


def _age(obj: dict[str, Any]) -> timedelta:
    stamp = (obj.get("metadata") or {}).get("creationTimestamp")
    if not stamp:
        return timedelta(0)
    created = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return datetime.now(UTC) - created


class Claims:
    """Claim objects of one namespace."""

    def __init__(self, objects: ObjectApi, cache: ResourceCache, grace: timedelta = GRACE) -> None:
        self.objects, self.cache, self.grace = objects, cache, grace

    def take(self, directory: str, kind: Kind, value: str, id: str) -> str:
        """Claim ``value`` for resource ``id``; return the claim's name. Raises Uniqueness."""
        body = claim_object(self.objects.flavour, directory, kind, value, id)
        name: str = body["metadata"]["name"]
        for _ in range(3):
            try:
                self.objects.create(body)
                return name
            except AlreadyExists:
                existing = self.objects.get(name)
                if existing is None:
                    continue  # released meanwhile
                owner = claim_owner(self.objects.flavour, existing)
                if owner == (kind, id):
                    return name  # ours already (an earlier attempt of this write)
                if not self._stale(directory, kind, value, existing):
                    break
                self._remove(name, existing)
        raise unique_violation(_KEYS[kind])

    def release(self, directory: str, kind: Kind, value: str) -> None:
        """Drop the claim on ``value`` (best effort: a leftover is swept later)."""
        try:
            self.objects.delete(claim_name(directory, kind, value))
        except Exception as exc:
            log.warning("could not release a name claim (%s); it is swept later", describe(exc))

    def own(self, directory: str, entry: Entry, value: str) -> None:
        """Make ``entry``'s object the owner of its claim (for garbage collection)."""
        reference = owner_reference(self.objects.flavour, entry.name, entry.uid)
        try:
            self.objects.merge_patch(
                claim_name(directory, entry.kind, value), {"metadata": {"ownerReferences": [reference]}}
            )
        except Exception as exc:
            log.warning("could not set a name claim's owner (%s); it is swept later", describe(exc))

    def _resource(self, directory: str, kind: Kind, id: str) -> Entry | None:
        entry = self.cache.lookup(directory, kind, id)
        if entry is not None:
            return entry
        obj = self.objects.get(object_name(directory, kind, id))
        return parse_object(self.objects.flavour, obj) if obj is not None else None

    def _stale(self, directory: str, kind: Kind, value: str, claim: dict[str, Any]) -> bool:
        """Whether ``claim`` (on ``value``) no longer reserves the name for a live resource."""
        owner = claim_owner(self.objects.flavour, claim)
        if owner is not None:
            resource = self._resource(directory, owner[0], owner[1])
            if resource is not None and resource.key == fold(value):
                return False
        return _age(claim) > self.grace

    def _remove(self, name: str, claim: dict[str, Any]) -> None:
        uid = (claim.get("metadata") or {}).get("uid")
        with contextlib.suppress(Stale):  # replaced meanwhile: the next attempt finds out whose
            self.objects.delete(name, uid=uid)

    def sweep(self) -> tuple[int, int]:
        """Remove stale claims, give owner-less live ones their owner, and claim the names
        of resources that lost theirs (objects restored from a backup: their claims'
        owner uids no longer exist, so the garbage collector removed them). Returns how
        many claims were removed and how many restored."""
        removed = 0
        claims, _ = self.objects.list_all(CLAIM_SELECTOR)
        present = {(c.get("metadata") or {}).get("name") for c in claims}
        restored = 0
        for entry in self.cache.entries():
            if claim_name(entry.directory, entry.kind, entry.key) not in present:
                with contextlib.suppress(Uniqueness):
                    self.take(entry.directory, entry.kind, entry.key, entry.id)
                    self.own(entry.directory, entry, entry.key)
                    restored += 1
        for claim in claims:
            metadata = claim.get("metadata") or {}
            directory = (metadata.get("labels") or {}).get(LABEL_DIRECTORY, "")
            owner = claim_owner(self.objects.flavour, claim)
            if owner is None or _age(claim) <= self.grace:
                continue
            resource = self._resource(directory, owner[0], owner[1])
            if resource is None or claim_name(directory, owner[0], resource.key) != metadata.get("name"):
                self._remove(metadata["name"], claim)
                removed += 1
            elif not metadata.get("ownerReferences"):
                self.own(directory, resource, resource.key)
        return removed, restored
