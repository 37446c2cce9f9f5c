"""A directory's policy, read from its ScimDirectory spec (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from .objects import DirectoryPolicy


def policy_from_spec(spec: Mapping[str, Any]) -> DirectoryPolicy:
    """``attributeMapping`` (name -> SCIM path), ``roleMapping`` ([{group, role}]),
    ``defaultRole`` and ``inactiveUsers`` of a ScimDirectory spec."""
    mapping = spec.get("attributeMapping") or {}
    roles = tuple(
        (str(r["group"]), str(r["role"]))
        for r in spec.get("roleMapping") or []
        if r.get("group") and r.get("role")
    )
    inactive: Literal["Keep", "Delete"] = "Delete" if spec.get("inactiveUsers") == "Delete" else "Keep"
    return DirectoryPolicy(
        custom_attributes={str(k): str(v) for k, v in mapping.items()},
        roles=roles,
        default_role=spec.get("defaultRole") or None,
        inactive_users=inactive,
    )
