"""Names only the operator uses: its finalizer, annotations, Lease, and Event and
condition reasons. Names shared with the server live in ``scim_server.crd``."""

from __future__ import annotations

from typing import Final

from scim_server.crd.names import GROUP

FINALIZER: Final = f"{GROUP}/finalizer"
ANNOTATION_DESIRED: Final = f"{GROUP}/desired-hash"
LEASE_NAME: Final = "kubescim-operator"
COMPONENT: Final = "kubescim-operator"

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
REASON_NEAR_CAPACITY: Final = "NearCapacity"
REASON_WITHIN_CAPACITY: Final = "WithinCapacity"
CAPACITY_SHARE: Final = 0.8
"""A directory past this share of its maximum users gets ``CapacityWarning``."""
KUBE_STORAGE_MAX_USERS: Final = 2000
"""The maximum users per directory when storage is ConfigMaps or Secrets
(docs/storage-configmaps.md) and neither the spec nor the operator sets one."""
