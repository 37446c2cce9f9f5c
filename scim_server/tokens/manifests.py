"""Directories declared by ScimDirectory manifests in a folder, served without a cluster.

``kubescim serve --manifests DIR`` reads the same YAML a GitOps repository applies to a
cluster, derives each directory's id and endpoint with the operator's own functions
(``crd.spec``), issues tokens locally, and serves exactly the declared
directories: a token for an undeclared one is refused, a suspended one answers 403.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..crd import names as n
from ..crd.spec import directory_id, validate_directory_id
from .local import LocalTokenRegistry


class ManifestError(ValueError):
    """A manifest that cannot be served, with the file it came from."""


@dataclass(frozen=True, slots=True)
class DeclaredDirectory:
    namespace: str
    name: str
    id: str
    suspended: bool
    spec: dict[str, Any]
    organization_declared: bool = True

    @property
    def refusal(self) -> str | None:
        """Why valid tokens get 403, as on a cluster: suspended, or no such Organization."""
        if self.suspended:
            return f"directory {self.id} is suspended"
        if not self.organization_declared:
            org = (self.spec.get("organizationRef") or {}).get("name")
            return f"directory {self.id} is not active: Organization {org} not found"
        return None


def _documents(folder: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    files = sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml", ".json") and p.is_file())
    for path in files:
        try:
            docs = list(yaml.safe_load_all(path.read_text()))
        except yaml.YAMLError as exc:
            raise ManifestError(f"{path}: not valid YAML: {exc}") from None
        for doc in docs:
            if isinstance(doc, dict):
                yield path, doc


def load_directories(folder: Path) -> list[DeclaredDirectory]:
    """Every ScimDirectory in ``folder`` (recursively). Raises ManifestError."""
    if not folder.is_dir():
        raise ManifestError(f"{folder}: not a directory")
    out: dict[str, DeclaredDirectory] = {}
    documents = list(_documents(folder))
    organizations = {
        ((doc.get("metadata") or {}).get("namespace") or "default", (doc.get("metadata") or {}).get("name"))
        for _, doc in documents
        if doc.get("kind") == n.ORGANIZATION_KIND
    }
    for path, doc in documents:
        if doc.get("kind") != n.DIRECTORY_KIND:
            continue
        if doc.get("apiVersion") != n.API_VERSION:
            raise ManifestError(f"{path}: ScimDirectory apiVersion must be {n.API_VERSION}")
        meta = doc.get("metadata") or {}
        name = meta.get("name")
        spec = doc.get("spec") or {}
        if not isinstance(name, str) or not name:
            raise ManifestError(f"{path}: ScimDirectory without metadata.name")
        if not (spec.get("organizationRef") or {}).get("name"):
            raise ManifestError(f"{path}: ScimDirectory {name!r} needs spec.organizationRef.name")
        namespace = meta.get("namespace") or "default"
        dir_id = directory_id(namespace, name, spec)
        try:
            validate_directory_id(dir_id)
        except ValueError as exc:
            raise ManifestError(f"{path}: {exc}") from None
        if dir_id in out:
            raise ManifestError(f"{path}: directory id {dir_id!r} is declared twice")
        org_declared = (namespace, spec["organizationRef"]["name"]) in organizations
        out[dir_id] = DeclaredDirectory(
            namespace, name, dir_id, bool(spec.get("suspended")), spec, org_declared
        )
    return list(out.values())


def ensure_tokens(directories: list[DeclaredDirectory], registry: LocalTokenRegistry) -> dict[str, str]:
    """Issue a token to every declared directory that has none; returns the new tokens."""
    issued = {}
    for directory in directories:
        if not registry.has(directory.id):
            issued[directory.id] = registry.issue(directory.id)
    return issued


def _stamp(folder: Path) -> tuple[tuple[str, int], ...]:
    return tuple(sorted((str(p), os.stat(p).st_mtime_ns) for p in folder.rglob("*") if p.is_file()))


class ManifestTokenRegistry:
    """Local tokens, limited to the directories the manifests declare (re-read on change)."""

    def __init__(self, folder: Path, local: LocalTokenRegistry) -> None:
        self.folder = folder
        self.local = local
        self._stamp: tuple[tuple[str, int], ...] | None = None
        self._declared: dict[str, DeclaredDirectory] = {}

    def _current(self) -> dict[str, DeclaredDirectory]:
        stamp = _stamp(self.folder)
        if stamp != self._stamp:
            self._declared = {d.id: d for d in load_directories(self.folder)}
            self._stamp = stamp
        return self._declared

    def verify(self, directory: str, token: str) -> bool:
        return directory in self._current() and self.local.verify(directory, token)

    def suspended(self, directory: str) -> bool:
        declared = self._current().get(directory)
        return declared is not None and declared.suspended

    def refusal(self, directory: str) -> str | None:
        declared = self._current().get(directory)
        return declared.refusal if declared is not None else None

    def directories(self) -> list[str]:
        return sorted(self._current())
