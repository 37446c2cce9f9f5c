"""``attributes`` / ``excludedAttributes`` (RFC 7644 section 3.9) and ``returned`` rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import InvalidPath, InvalidValue
from .filter import parse_attr_path
from .schemas import ResourceType

# (container, attribute name, sub-attribute name); container is None for core.
Key = tuple[str | None, str, str | None]


@dataclass(frozen=True, slots=True)
class Projection:
    """Which attributes a response carries. ``include`` None means "the defaults"."""

    include: frozenset[Key] | None = None
    exclude: frozenset[Key] = frozenset()
    whole_extensions: frozenset[str] = frozenset()

    @property
    def is_default(self) -> bool:
        return self.include is None and not self.exclude

    def wants(self, container: str | None, name: str) -> bool:
        """Whether attribute ``name`` (at any depth) appears in the response."""
        if self.include is not None:
            if container is not None and container in self.whole_extensions:
                return True
            return any(k[0] == container and k[1] == name for k in self.include)
        return (container, name, None) not in self.exclude


def _parse_list(rt: ResourceType, raw: Any) -> tuple[set[Key], set[str]]:
    keys: set[Key] = set()
    extensions: set[str] = set()
    if raw is None:
        return keys, extensions
    if isinstance(raw, str):
        items = raw.split(",")
    elif isinstance(raw, list) and all(isinstance(item, str) for item in raw):
        items = raw
    else:
        raise InvalidValue("'attributes' and 'excludedAttributes' must be attribute names")
    for item in items:
        text = item.strip()
        if not text:
            continue
        if text.lower().startswith("urn:"):
            whole = rt.extension(text)
            if whole is not None:
                extensions.add(whole.id)
                continue
            if text.lower() == rt.schema.id.lower():
                continue
        try:
            resolved = rt.resolve(parse_attr_path(text, InvalidPath), InvalidValue)
        except (InvalidPath, InvalidValue):
            continue  # RFC 7644 3.4.2.5: unknown attributes are ignored in projections
        keys.add((resolved.schema, resolved.attr.name, resolved.sub.name if resolved.sub else None))
    return keys, extensions


def parse_projection(rt: ResourceType, attributes: Any, excluded: Any) -> Projection:
    """Build a projection from the two query/search parameters.

    Raises InvalidValue when one is neither a comma-separated string nor a list of names.
    """
    if attributes:
        include, extensions = _parse_list(rt, attributes)
        return Projection(include=frozenset(include), whole_extensions=frozenset(extensions))
    if excluded:
        exclude, extensions = _parse_list(rt, excluded)
        exclude |= {(ext, "*", None) for ext in extensions}
        return Projection(exclude=frozenset(exclude))
    return Projection()


def project(rt: ResourceType, resource: dict[str, Any], projection: Projection) -> dict[str, Any]:
    """Apply ``projection`` to a full resource; ``id`` and ``schemas`` always remain."""
    if projection.is_default:
        return resource
    out: dict[str, Any] = {}
    for key, value in resource.items():
        if key in ("id", "schemas"):
            out[key] = value
            continue
        ext = rt.extension(key) if key.startswith("urn:") else None
        if ext is not None:
            kept = _project_container(ext.id, value, projection)
            if kept:
                out[key] = kept
            continue
        kept_value = _project_attr(None, key, value, projection)
        if kept_value is not None:
            out[key] = kept_value
    return out


def _project_container(urn: str, values: dict[str, Any], projection: Projection) -> dict[str, Any]:
    if projection.include is None and (urn, "*", None) in projection.exclude:
        return {}
    out = {}
    for key, value in values.items():
        kept = _project_attr(urn, key, value, projection)
        if kept is not None:
            out[key] = kept
    return out


def _project_attr(container: str | None, name: str, value: Any, projection: Projection) -> Any:
    if projection.include is not None:
        if container is not None and container in projection.whole_extensions:
            return value
        subs = {k[2] for k in projection.include if k[0] == container and k[1] == name}
        if not subs:
            return None
        if None in subs or not isinstance(value, dict | list):
            return value
        return _pick(value, subs)
    if (container, name, None) in projection.exclude:
        return None
    subs = {k[2] for k in projection.exclude if k[0] == container and k[1] == name and k[2]}
    if subs and isinstance(value, dict | list):
        return _drop(value, subs)
    return value


def _pick(value: dict[str, Any] | list[Any], subs: set[str | None]) -> Any:
    if isinstance(value, list):
        picked = [_pick(v, subs) for v in value if isinstance(v, dict)]
        return [p for p in picked if p] or None
    kept = {k: v for k, v in value.items() if k in subs}
    return kept or None


def _drop(value: dict[str, Any] | list[Any], subs: set[str | None]) -> Any:
    if isinstance(value, list):
        return [{k: v for k, v in e.items() if k not in subs} for e in value if isinstance(e, dict)]
    return {k: v for k, v in value.items() if k not in subs}
