"""Names the CRDs and the objects derived from them share: group, kinds, labels, annotations,
condition types."""

from __future__ import annotations

from typing import Any, Final

GROUP: Final = "kubescim.io"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"
DIRECTORY_KIND: Final = "ScimDirectory"
ORGANIZATION_KIND: Final = "Organization"
DIRECTORIES: Final = "scimdirectories"
ORGANIZATIONS: Final = "organizations"

# Labels on every object the operator creates for a directory.
MANAGED_BY: Final = "app.kubernetes.io/managed-by"
MANAGER: Final = "kubescim"
LABEL_DIRECTORY: Final = f"{GROUP}/directory"
LABEL_DIRECTORY_ID: Final = f"{GROUP}/directory-id"
SELECTOR: Final = f"{MANAGED_BY}={MANAGER},{LABEL_DIRECTORY_ID}"
"""Selects the token Secrets (a candidate only: see docs/security.md)."""

# Condition types of a ScimDirectory's and an Organization's status.
READY: Final = "Ready"
TOKEN_ISSUED: Final = "TokenIssued"
ROUTE_READY: Final = "RouteReady"
ORGANIZATION_READY: Final = "OrganizationReady"
SUSPENDED: Final = "Suspended"
DELETION_BLOCKED: Final = "DeletionBlocked"
CAPACITY_WARNING: Final = "CapacityWarning"


def labels(name: str, dir_id: str) -> dict[str, str]:
    """The labels of every object owned by the directory ``name`` with id ``dir_id``."""
    return {MANAGED_BY: MANAGER, LABEL_DIRECTORY: name, LABEL_DIRECTORY_ID: dir_id}


def owner_reference(kind: str, name: str, uid: str) -> dict[str, Any]:
    """A controller ownerReference to one of our custom resources."""
    return {
        "apiVersion": API_VERSION,
        "kind": kind,
        "name": name,
        "uid": uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }
