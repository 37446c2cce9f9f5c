"""Compile filter ASTs to parameterised SQL, for PostgreSQL and SQLite.

Indexed attributes map to columns (``userName`` -> ``user_name_key``, ``externalId``,
``id``, ``displayName`` of groups, ``meta.created``/``lastModified``); everything else
is read from the JSON document. Multi-valued attributes become ``EXISTS`` over the
array's elements; ``members`` and ``groups`` become ``EXISTS`` over the membership
relation. Values only ever travel as parameters; attribute names in SQL come from our
schema definitions, never from the request. Case rules follow each attribute's
``caseExact``. ``not`` treats a missing value as "does not match".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..scim.casefold import fold
from ..scim.errors import InvalidFilter, InvalidValue
from ..scim.filter import And, AttrPath, Compare, Filter, Not, Or, Present, ValuePath
from ..scim.schemas import Attribute, Resolved, ResourceType, group_type, user_type
from .rows import iso, parse_time

_STRING_TYPES = frozenset({"string", "reference", "binary", "dateTime"})

# Column-backed attributes: (schema, attr, sub) -> (column, already lower-cased).
_USER_COLUMNS = {
    (None, "id", None): ("r.id", False),
    (None, "externalId", None): ("r.external_id", False),
    (None, "userName", None): ("r.user_name_key", True),
    (None, "active", None): ("r.active", False),
    (None, "meta", "created"): ("r.created", False),
    (None, "meta", "lastModified"): ("r.last_modified", False),
}
_GROUP_COLUMNS = {
    (None, "id", None): ("r.id", False),
    (None, "externalId", None): ("r.external_id", False),
    (None, "displayName", None): ("r.display_name_key", True),
    (None, "meta", "created"): ("r.created", False),
    (None, "meta", "lastModified"): ("r.last_modified", False),
}


_SAFE_NAME = re.compile(r"[A-Za-z0-9:._$-]+\Z")


def safe_name(name: str) -> str:
    """A schema-defined name, checked before it is inlined into SQL as a literal."""
    if not _SAFE_NAME.match(name):
        raise InvalidFilter(f"unsupported attribute name {name!r}")
    return name


def escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass
class _Scope:
    """Where sub-attributes of a value path live: a JSON element, or a membership row."""

    kind: str  # "element" | "member" | "group_of_user"
    attr: Attribute
    alias: str


class SqlFilterCompiler:
    """Base compiler; the two dialect subclasses differ in JSON and text functions."""

    placeholder = "%s"

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.rt: ResourceType = user_type() if kind == "User" else group_type()
        self.columns = _USER_COLUMNS if kind == "User" else _GROUP_COLUMNS
        self.params: list[Any] = []
        self._aliases = 0

    # -- dialect hooks ------------------------------------------------------------
    def json_text(self, alias: str, path: list[str]) -> str:
        raise NotImplementedError

    def json_elements(self, path: list[str], alias: str) -> str:
        """A FROM item yielding one row per array element, the element as ``alias``."""
        raise NotImplementedError

    def element_text(self, alias: str, name: str) -> str:
        raise NotImplementedError

    def array_nonempty(self, path: list[str]) -> str:
        raise NotImplementedError

    def lower(self, expr: str) -> str:
        return f"lower({expr})"

    def bool_expr(self, expr: str, value: bool, is_column: bool) -> str:
        raise NotImplementedError

    def number_expr(self, expr: str) -> str:
        return expr

    def text_match(self, expr: str, op: str, value: str) -> str:
        raise NotImplementedError

    def time_param(self, value: Any) -> Any:
        return iso(parse_time(value))

    # -- helpers ------------------------------------------------------------------
    def param(self, value: Any) -> str:
        self.params.append(value)
        return self.placeholder

    def alias(self, prefix: str) -> str:
        self._aliases += 1
        return f"{prefix}{self._aliases}"

    def compile(self, node: Filter) -> tuple[str, list[Any]]:
        """Return ``(sql, params)`` for a WHERE clause on alias ``r``. Raises InvalidFilter."""
        sql = self.node(node, None)
        return sql, self.params

    def node(self, node: Filter, scope: _Scope | None) -> str:
        if isinstance(node, And):
            return "(" + " AND ".join(self.node(t, scope) for t in node.terms) + ")"
        if isinstance(node, Or):
            return "(" + " OR ".join(self.node(t, scope) for t in node.terms) + ")"
        if isinstance(node, Not):
            return f"({self.node(node.term, scope)}) IS NOT TRUE"
        if isinstance(node, ValuePath):
            if scope is not None:
                raise InvalidFilter("value paths cannot be nested")
            return self.value_path(node)
        if scope is not None:
            return self.scoped_leaf(node, scope)
        return self.leaf(node)

    def resolve(self, path: AttrPath) -> Resolved:
        return self.rt.resolve(path, InvalidFilter)

    def json_path(self, resolved: Resolved) -> list[str]:
        path = [resolved.schema] if resolved.schema else []
        path.append(resolved.attr.name)
        if resolved.sub is not None and not resolved.attr.multi_valued:
            path.append(resolved.sub.name)
        return path

    def leaf(self, node: Compare | Present) -> str:
        resolved = self.resolve(node.path)
        attr = resolved.attr
        name = attr.name
        if resolved.schema is None and name in ("members", "groups"):
            scope = self.membership_scope(attr)
            sub = resolved.sub.name if resolved.sub else "value"
            inner = (
                Present(AttrPath(sub))
                if isinstance(node, Present)
                else Compare(AttrPath(sub), node.op, node.value)
            )
            return self.membership_exists(scope, self.scoped_leaf(inner, scope))
        key = (resolved.schema, name, resolved.sub.name if resolved.sub else None)
        if key in self.columns:
            column, lowered = self.columns[key]
            return self.compare(column, resolved.leaf, node, lowered=lowered, is_column=True)
        if resolved.schema is None and name == "meta":
            raise InvalidFilter(f"filtering on {node.path} is not supported")
        if attr.multi_valued:
            sub_attr = resolved.sub
            if sub_attr is None:
                if isinstance(node, Present):
                    return self.array_nonempty(self.json_path(resolved))
                if attr.type == "complex":
                    sub_attr = attr.sub.get("value")
                    if sub_attr is None:
                        raise InvalidFilter(f"{node.path} is complex: name a sub-attribute")
            alias = self.alias("e")
            path = self.json_path(resolved)
            from_item = self.json_elements(path, alias)
            expr = self.element_text(alias, sub_attr.name) if sub_attr else self.element_text(alias, "")
            cond = self.compare(expr, sub_attr or attr, node, lowered=False, is_column=False)
            return f"EXISTS (SELECT 1 FROM {from_item} WHERE {cond})"
        if attr.type == "complex" and resolved.sub is None:
            if isinstance(node, Present):
                return f"{self.json_text('r', self.json_path(resolved))} IS NOT NULL"
            raise InvalidFilter(f"{node.path} is complex: name a sub-attribute")
        expr = self.json_text("r", self.json_path(resolved))
        return self.compare(expr, resolved.leaf, node, lowered=False, is_column=False)

    def compare(
        self, expr: str, attr: Attribute, node: Compare | Present, *, lowered: bool, is_column: bool
    ) -> str:
        """SQL for one comparison of ``expr`` (the attribute's column or JSON path); the
        attribute's type decides which comparisons apply. Raises InvalidFilter."""
        if isinstance(node, Present):
            if attr.type in _STRING_TYPES and not is_column:
                return f"({expr} IS NOT NULL AND {expr} <> '')"
            return f"{expr} IS NOT NULL"
        if node.value is None:
            if node.op in ("eq", "ne"):
                return f"{expr} IS {'NOT ' if node.op == 'ne' else ''}NULL"
            raise InvalidFilter(f"{node.path} {node.op} null is not a valid comparison")
        if attr.type == "complex":
            raise InvalidFilter(f"{node.path} is complex: name a sub-attribute")
        by_type = {
            "boolean": self._compare_boolean,
            "integer": self._compare_number,
            "decimal": self._compare_number,
        }.get(attr.type, self._compare_text)
        return by_type(expr, attr, node, lowered=lowered, is_column=is_column)

    def _compare_boolean(
        self, expr: str, attr: Attribute, node: Compare, *, lowered: bool, is_column: bool
    ) -> str:
        if node.op not in ("eq", "ne") or not isinstance(node.value, bool):
            raise InvalidFilter(f"{node.path} is boolean: use eq/ne with true or false")
        cond = self.bool_expr(expr, node.value, is_column)
        return cond if node.op == "eq" else f"NOT COALESCE({cond}, FALSE)"

    def _compare_number(
        self, expr: str, attr: Attribute, node: Compare, *, lowered: bool, is_column: bool
    ) -> str:
        value = node.value
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise InvalidFilter(f"{node.path} is numeric: compare it with a number")
        if node.op in ("co", "sw", "ew"):
            raise InvalidFilter(f"operator {node.op!r} does not apply to numbers")
        return self.ordered(self.number_expr(expr), node.op, self.param(value))

    def _compare_text(
        self, expr: str, attr: Attribute, node: Compare, *, lowered: bool, is_column: bool
    ) -> str:
        op, value = node.op, node.value
        if not isinstance(value, str):
            raise InvalidFilter(f"{node.path} is a string: compare it with a string")
        if attr.type == "dateTime" and is_column:
            if op in ("co", "sw", "ew"):
                raise InvalidFilter(f"operator {op!r} does not apply to dateTime")
            try:
                return self.ordered(expr, op, self.param(self.time_param(value)))
            except InvalidValue as exc:
                raise InvalidFilter(exc.detail) from None
        if attr.type == "binary" and op not in ("eq", "ne", "pr"):
            raise InvalidFilter(f"operator {op!r} does not apply to binary attributes")
        if not attr.case_exact:
            value = fold(value)
            if not lowered:
                expr = self.lower(expr)
        if op in ("co", "sw", "ew"):
            return self.text_match(expr, op, value)
        return self.ordered(expr, op, self.param(value))

    @staticmethod
    def ordered(expr: str, op: str, placeholder: str) -> str:
        if op == "ne":
            return f"({expr} IS NULL OR {expr} <> {placeholder})"
        sql_op = {"eq": "=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}[op]
        return f"{expr} {sql_op} {placeholder}"

    # -- value paths ----------------------------------------------------------------
    def membership_scope(self, attr: Attribute) -> _Scope:
        kind = "member" if attr.name == "members" else "group_of_user"
        return _Scope(kind, attr, self.alias("m"))

    def membership_exists(self, scope: _Scope, cond: str) -> str:
        m = scope.alias
        if scope.kind == "member":
            return (
                f"EXISTS (SELECT 1 FROM memberships {m} WHERE {m}.directory_id = r.directory_id "
                f"AND {m}.group_id = r.id AND {cond})"
            )
        return (
            f"EXISTS (SELECT 1 FROM memberships {m} JOIN groups {m}g ON {m}g.directory_id = "
            f"{m}.directory_id AND {m}g.id = {m}.group_id WHERE {m}.directory_id = r.directory_id "
            f"AND {m}.member_id = r.id AND {cond})"
        )

    def value_path(self, node: ValuePath) -> str:
        resolved = self.resolve(node.path)
        attr = resolved.attr
        if not attr.multi_valued or attr.type != "complex":
            raise InvalidFilter(f"{node.path} is not a multi-valued complex attribute")
        if resolved.schema is None and attr.name in ("members", "groups"):
            scope = self.membership_scope(attr)
            return self.membership_exists(scope, self.node(node.filter, scope))
        alias = self.alias("e")
        from_item = self.json_elements(self.json_path(resolved), alias)
        cond = self.node(node.filter, _Scope("element", attr, alias))
        return f"EXISTS (SELECT 1 FROM {from_item} WHERE {cond})"

    def scoped_leaf(self, node: Compare | Present, scope: _Scope) -> str:
        if node.path.sub_attr is not None or node.path.uri is not None:
            raise InvalidFilter(f"{node.path} is not a sub-attribute of {scope.attr.name}")
        sub = scope.attr.sub.get(node.path.attr.lower())
        if sub is None:
            raise InvalidFilter(f"{scope.attr.name} has no sub-attribute {node.path.attr!r}")
        m = scope.alias
        if scope.kind == "element":
            expr = self.element_text(m, sub.name)
            return self.compare(expr, sub, node, lowered=False, is_column=False)
        columns = {
            "member": {
                "value": f"{m}.member_id",
                "type": f"{m}.member_type",
            },
            "group_of_user": {
                "value": f"{m}.group_id",
                "display": f"{m}g.display_name",
                "type": "'direct'",
            },
        }[scope.kind]
        if sub.name not in columns:
            raise InvalidFilter(f"filtering on {scope.attr.name}.{sub.name} is not supported")
        return self.compare(columns[sub.name], sub, node, lowered=False, is_column=True)

    def compile_member_filter(self, node: Filter) -> tuple[str, list[Any]]:
        """Compile a ``members[...]`` selection over membership rows aliased ``m1``."""
        scope = _Scope("member", self.rt.resolve(AttrPath("members"), InvalidFilter).attr, "m1")
        return self.node(node, scope), self.params

    # -- sorting ----------------------------------------------------------------------
    def sort_expr(self, path: AttrPath) -> str:
        """An ORDER BY expression; multi-valued attributes sort by their first value."""
        resolved = self.rt.resolve(path, InvalidValue)
        key = (resolved.schema, resolved.attr.name, resolved.sub.name if resolved.sub else None)
        if key in self.columns:
            return self.columns[key][0]
        if resolved.attr.name in ("members", "groups") or resolved.attr.name == "meta":
            raise InvalidValue(f"cannot sort by {path}")
        json_path = self.json_path(resolved)
        if resolved.attr.multi_valued:
            json_path = [*json_path, "0", (resolved.sub.name if resolved.sub else "value")]
        expr = self.json_text("r", json_path)
        return expr if resolved.leaf.case_exact else self.lower(expr)


class PostgresFilterCompiler(SqlFilterCompiler):
    placeholder = "%s"

    @staticmethod
    def _path(path: list[str]) -> str:
        return "'{" + ",".join(f'"{safe_name(p)}"' for p in path) + "}'"

    def json_text(self, alias: str, path: list[str]) -> str:
        return f"({alias}.data #>> {self._path(path)})"

    def json_elements(self, path: list[str], alias: str) -> str:
        return f"jsonb_array_elements(r.data #> {self._path(path)}) AS {alias}(v)"

    def element_text(self, alias: str, name: str) -> str:
        if not name:
            return f"({alias}.v #>> '{{}}')"
        return f"({alias}.v ->> '{safe_name(name)}')"

    def array_nonempty(self, path: list[str]) -> str:
        return f"COALESCE(jsonb_array_length(r.data #> {self._path(path)}), 0) > 0"

    def bool_expr(self, expr: str, value: bool, is_column: bool) -> str:
        if is_column:
            return f"{expr} = {self.param(value)}"
        return f"{expr} = {self.param('true' if value else 'false')}"

    def number_expr(self, expr: str) -> str:
        return f"({expr})::numeric"

    def time_param(self, value: Any) -> Any:
        return parse_time(value)

    def text_match(self, expr: str, op: str, value: str) -> str:
        escaped = escape_like(value)
        pattern = {"co": f"%{escaped}%", "sw": f"{escaped}%", "ew": f"%{escaped}"}[op]
        return f"{expr} LIKE {self.param(pattern)} ESCAPE '\\'"


class SqliteFilterCompiler(SqlFilterCompiler):
    placeholder = "?"

    @staticmethod
    def _path(path: list[str]) -> str:
        out = "'$"
        for part in path:
            out += f"[{part}]" if part.isdigit() else f'."{safe_name(part)}"'
        return out + "'"

    def json_text(self, alias: str, path: list[str]) -> str:
        return f"json_extract({alias}.data, {self._path(path)})"

    def json_elements(self, path: list[str], alias: str) -> str:
        return f"json_each(r.data, {self._path(path)}) AS {alias}"

    def element_text(self, alias: str, name: str) -> str:
        if not name:
            return f"{alias}.value"
        return f"json_extract({alias}.value, {self._path([name])})"

    def array_nonempty(self, path: list[str]) -> str:
        return f"COALESCE(json_array_length(r.data, {self._path(path)}), 0) > 0"

    def lower(self, expr: str) -> str:
        return f"scim_lower({expr})"

    def bool_expr(self, expr: str, value: bool, is_column: bool) -> str:
        return f"{expr} = {self.param(1 if value else 0)}"

    def text_match(self, expr: str, op: str, value: str) -> str:
        # instr/substr need no wildcard escaping at all.
        if op == "co":
            return f"instr({expr}, {self.param(value)}) > 0"
        if op == "sw":
            return f"substr({expr}, 1, {self.param(len(value))}) = {self.param(value)}"
        return (
            f"(length({expr}) >= {self.param(len(value))} AND "
            f"substr({expr}, -{self.param(len(value))}) = {self.param(value)})"
        )
