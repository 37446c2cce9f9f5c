"""Rendering the chart with Helm's own engine (the ``helm-python-sdk`` wheel: Helm's Go SDK
through ctypes), offline: no cluster, no ``helm`` binary."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = REPO_ROOT / "charts" / "kubescim"
RELEASE = "kubescim"
NAMESPACE = "kubescim-system"

Manifest = dict[str, Any]


@functools.cache
def chart() -> helm.Chart:
    """The chart, loaded once per test session (charts are immutable)."""
    return helm.Chart.load(CHART_DIR)


def render(
    values: dict[str, Any] | None = None, *, namespace: str = NAMESPACE, release: str = RELEASE
) -> list[Manifest]:
    """Every object the chart renders with ``values``, as ``helm install`` would (the schema
    is checked first). Raises helm_python.HelmError (values, schema or template errors)."""
    loaded = chart()
    loaded.validate_schema(values or {})
    rendered = loaded.render(values or {}, name=release, namespace=namespace, is_install=True)
    return [
        doc
        for path, text in sorted(rendered.items())
        if not path.endswith("NOTES.txt")
        for doc in yaml.safe_load_all(text)
        if doc
    ]


def notes(values: dict[str, Any] | None = None) -> str:
    rendered = chart().render(values or {}, name=RELEASE, namespace=NAMESPACE, is_install=True)
    return next(text for path, text in rendered.items() if path.endswith("NOTES.txt"))


def find(manifests: list[Manifest], kind: str, name: str | None = None) -> list[Manifest]:
    """The objects of ``kind`` (named ``name`` when given)."""
    return [m for m in manifests if m["kind"] == kind and (name is None or m["metadata"]["name"] == name)]


def one(manifests: list[Manifest], kind: str, name: str) -> Manifest:
    found = find(manifests, kind, name)
    assert len(found) == 1, f"expected one {kind} {name}, got {len(found)}"
    return found[0]


def pod_specs(manifests: list[Manifest]) -> Iterator[tuple[str, Manifest]]:
    """``(Kind/name, pod spec)`` of every workload (Deployments, Jobs, ...)."""
    for m in manifests:
        template = (m.get("spec") or {}).get("template")
        if template is not None:
            yield f"{m['kind']}/{m['metadata']['name']}", template["spec"]


def container_env(deployment: Manifest) -> dict[str, Any]:
    """The first container's env as name -> value (or valueFrom)."""
    env = deployment["spec"]["template"]["spec"]["containers"][0].get("env") or []
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in env}


def rules_of(manifests: list[Manifest], kind: str, name: str, namespace: str | None = None) -> list[Manifest]:
    """The rules of the Role/ClusterRole ``name`` (in ``namespace`` for a Role)."""
    matches = [
        m
        for m in find(manifests, kind, name)
        if namespace is None or m["metadata"].get("namespace") == namespace
    ]
    assert len(matches) == 1, f"expected one {kind} {name} in {namespace}, got {len(matches)}"
    rules: list[Manifest] = matches[0]["rules"]
    return rules
