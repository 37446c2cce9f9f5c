"""Names shared by the operator, the server's Kubernetes token registry and the chart."""

from __future__ import annotations

from typing import Final

from scim_server.secret_format import (
    ANNOTATION_ISSUED_AT,
    ANNOTATION_SUSPENDED,
    ENDPOINT_KEY,
    GROUP,
    LABEL_DIRECTORY,
    LABEL_DIRECTORY_ID,
    MANAGED_BY,
    MANAGER,
    PREVIOUS_EXPIRES_KEY,
    PREVIOUS_SHA256_KEY,
    TOKEN_KEY,
)

VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"
DIRECTORIES: Final = "scimdirectories"
ORGANIZATIONS: Final = "organizations"

FINALIZER: Final = f"{GROUP}/finalizer"
ANNOTATION_DESIRED: Final = f"{GROUP}/desired-hash"
# On the token Secret, written with the token: which token it is (a SHA-256 prefix, not
# secret) and the Event that announces it, so a retry after a failure still announces it.
ANNOTATION_TOKEN_FINGERPRINT: Final = f"{GROUP}/token-fingerprint"
ANNOTATION_TOKEN_REASON: Final = f"{GROUP}/token-event-reason"
ANNOTATION_TOKEN_MESSAGE: Final = f"{GROUP}/token-event-message"
LEASE_NAME: Final = "kubescim-operator"
COMPONENT: Final = "kubescim-operator"

# Condition types.
READY: Final = "Ready"
TOKEN_ISSUED: Final = "TokenIssued"
ROUTE_READY: Final = "RouteReady"
ORGANIZATION_READY: Final = "OrganizationReady"
SUSPENDED: Final = "Suspended"
DELETION_BLOCKED: Final = "DeletionBlocked"

# Condition reasons and Event reasons (CamelCase).
REASON_RECONCILED: Final = "Reconciled"
REASON_SUSPENDED: Final = "Suspended"
REASON_ACTIVE: Final = "Active"
REASON_ORG_NOT_FOUND: Final = "OrganizationNotFound"
REASON_ORG_FOUND: Final = "OrganizationFound"
REASON_ID_CONFLICT: Final = "DirectoryIdConflict"
REASON_TOKEN_ISSUED: Final = "TokenIssued"
REASON_TOKEN_REISSUED: Final = "TokenReissued"
REASON_TOKEN_ROTATED: Final = "TokenRotated"
REASON_SECRET_RESTORED: Final = "SecretRestored"
REASON_INGRESS_RESTORED: Final = "IngressRestored"
REASON_INGRESS_READY: Final = "IngressConfigured"
REASON_DATA_DELETED: Final = "DataDeleted"
REASON_DATA_RETAINED: Final = "DataRetained"
REASON_DIRECTORIES_EXIST: Final = "DirectoriesExist"
REASON_STORAGE_UNAVAILABLE: Final = "StorageUnavailable"
REASON_INACTIVE_DELETED: Final = "InactiveUsersDeleted"

__all__ = [
    "ANNOTATION_ISSUED_AT",
    "ANNOTATION_SUSPENDED",
    "ENDPOINT_KEY",
    "GROUP",
    "LABEL_DIRECTORY",
    "LABEL_DIRECTORY_ID",
    "MANAGED_BY",
    "MANAGER",
    "PREVIOUS_EXPIRES_KEY",
    "PREVIOUS_SHA256_KEY",
    "TOKEN_KEY",
]
