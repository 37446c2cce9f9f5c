"""The token Secret's format: written by the operator, read by the server.

One Secret per ScimDirectory, labelled with the directory id. ``token`` is the current
bearer token (for the admin to read); a rotated-out token survives only as a SHA-256
with an expiry, so the grace period never keeps a second plaintext secret around.
"""

from __future__ import annotations

from typing import Final

GROUP: Final = "kubescim.io"
MANAGED_BY: Final = "app.kubernetes.io/managed-by"
MANAGER: Final = "kubescim"
LABEL_DIRECTORY: Final = f"{GROUP}/directory"
LABEL_DIRECTORY_ID: Final = f"{GROUP}/directory-id"
ANNOTATION_SUSPENDED: Final = f"{GROUP}/suspended"
ANNOTATION_ISSUED_AT: Final = f"{GROUP}/token-issued-at"

TOKEN_KEY: Final = "token"
ENDPOINT_KEY: Final = "endpoint"
PREVIOUS_SHA256_KEY: Final = "previous-token-sha256"
PREVIOUS_EXPIRES_KEY: Final = "previous-token-expires-at"

SELECTOR: Final = f"{MANAGED_BY}={MANAGER},{LABEL_DIRECTORY_ID}"
