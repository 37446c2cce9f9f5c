"""Hypothesis strategies for hostile SCIM requests.

Each strategy mixes what IdPs really send with what breaks servers: the classes of
issue 8 (NUL, lone surrogates, CESU bytes, NaN/Infinity, deep nesting, 64-bit
overflows, long indexed values, LIKE wildcards, case folding traps) and random text,
numbers, structure and bytes. Requests are plain data (``Request``); the test sends
them and checks the properties.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

from scim_server.scim.filter import MAX_DEPTH
from scim_server.scim.limits import MAX_INDEXED_LENGTH, MAX_JSON_DEPTH

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


@dataclass
class Request:
    """One request relative to a directory's base URL. ``body`` is the exact bytes sent."""

    method: str
    path: str
    body: bytes | None = None
    content_type: str | None = "application/scim+json"
    headers: dict[str, str] = field(default_factory=dict)
    chunked: bool = False


# -- text -------------------------------------------------------------------------------

TRAPS = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfff",
    "\ud83d\ude00",
    "\U0001f600",
    "\u0130",
    "ΝΙΚΟΣ",
    "ß",
    "%",
    "_",
    "100%_off\\_",
    '"',
    "\\",
    "\\u0000",
    "'; DROP TABLE users; --",
    "bulkId:",
    "bulkId:b1",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
    'W/"1"',
    "*",
    "true",
    "False",
    "null",
    "1e999",
    "NaN",
    "-0",
    "9" * 30,
    "\t\n\r\x1f\x7f",
    "\u202e\u200d\ufeff",
]
SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)

plain_text = st.from_regex(r"[A-Za-z][A-Za-z0-9._-]{0,12}(@example\.com)?", fullmatch=True)

hostile_text = st.one_of(
    plain_text,
    plain_text,
    plain_text,
    plain_text,
    st.sampled_from(TRAPS),
    st.text(max_size=20),
    st.text(st.characters(codec="utf-8"), max_size=10).map(str.upper),
    st.lists(st.one_of(SURROGATES, st.sampled_from(["a", "\x00", "Σ"])), max_size=6).map("".join),
    st.builds(
        lambda c, n: c * n, st.sampled_from(["a", "\U0001f600", "\u0130", "x%_"]), st.integers(500, 520)
    ),
    st.integers(MAX_INDEXED_LENGTH - 1, MAX_INDEXED_LENGTH + 1).map(lambda n: "\u4e00" * n),
)

hostile_number = st.one_of(
    st.integers(-10, 10),
    st.sampled_from([2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 10**30, -(10**30)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e308, -1e308, 5e-324, 0.1]),
)

hostile_scalar = st.one_of(st.none(), st.booleans(), hostile_number, hostile_text)

ATTRIBUTE_NAMES = [
    "schemas",
    "id",
    "externalId",
    "userName",
    "USERNAME",
    "displayName",
    "active",
    "title",
    "name",
    "name.givenName",
    "emails",
    "phoneNumbers",
    "addresses",
    "roles",
    "members",
    "groups",
    "meta",
    "password",
    ENTERPRISE,
    f"{ENTERPRISE}:manager",
    f"{ENTERPRISE}:employeeNumber",
    "urn:example:unknown:attr",
    "value",
    "type",
    "primary",
    "display",
    "$ref",
    "givenName",
    "manager",
]
keys = st.one_of(st.sampled_from(ATTRIBUTE_NAMES), hostile_text)

json_values: st.SearchStrategy[Any] = st.recursive(
    hostile_scalar,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(keys, children, max_size=5),
    ),
    max_leaves=25,
)


# -- encoding ---------------------------------------------------------------------------


def encode(document: Any, ascii_only: bool, surrogatepass: bool = True) -> bytes:
    """JSON text as a client might send it: NaN/Infinity tokens and raw surrogates included."""
    text = json.dumps(document, ensure_ascii=ascii_only, allow_nan=True)
    return text.encode("utf-8", "surrogatepass" if surrogatepass else "strict")


def nested(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


@st.composite
def body_bytes(draw: st.DrawFn, document: st.SearchStrategy[Any]) -> bytes:
    """Bytes for a body built from ``document``, sometimes damaged or padded."""
    doc = draw(document)
    data = encode(doc, draw(st.booleans()))
    damage = draw(
        st.sampled_from(
            ["none"] * 14 + ["truncate", "garbage", "deep", "deep-object", "bom", "bytes", "utf16"]
        )
    )
    if damage == "truncate" and data:
        return data[: draw(st.integers(0, len(data) - 1))]
    if damage == "garbage":
        return data + draw(st.binary(min_size=1, max_size=8))
    if damage == "deep":
        depth = draw(st.sampled_from([MAX_JSON_DEPTH - 2, MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1, 3000, 100_000]))
        return b'{"userName": "deep", "x": ' + nested(depth).encode() + b"}"
    if damage == "deep-object":
        depth = draw(st.integers(MAX_JSON_DEPTH - 2, MAX_JSON_DEPTH + 3))
        return b'{"a":' * depth + b"1" + b"}" * depth
    if damage == "bom":
        return b"\xef\xbb\xbf" + data
    if damage == "bytes":
        return draw(st.binary(max_size=40))
    if damage == "utf16":
        return json.dumps(doc, allow_nan=True).encode("utf-16", "surrogatepass")
    return data


# -- resources ----------------------------------------------------------------------------


def _resource(kind: str, ids: st.SearchStrategy[str]) -> st.SearchStrategy[dict[str, Any]]:
    name_key = "userName" if kind == "User" else "displayName"
    member = st.fixed_dictionaries(
        {"value": st.one_of(ids, hostile_text)}, optional={"type": st.sampled_from(["User", "Group", "x"])}
    )
    email = st.fixed_dictionaries(
        {"value": hostile_scalar},
        optional={
            "type": st.one_of(st.sampled_from(["work", "home"]), hostile_text),
            "primary": hostile_scalar,
        },
    )
    return st.fixed_dictionaries(
        {name_key: st.one_of(plain_text, hostile_text, hostile_scalar)},
        optional={
            "schemas": st.one_of(st.just([USER if kind == "User" else GROUP]), json_values),
            "externalId": hostile_scalar,
            "active": hostile_scalar,
            "title": hostile_scalar,
            "name": st.one_of(st.fixed_dictionaries({"givenName": hostile_scalar}), json_values),
            "emails": st.one_of(st.lists(email, max_size=3), json_values),
            "members": st.one_of(st.lists(member, max_size=3), json_values),
            ENTERPRISE: st.one_of(
                st.fixed_dictionaries({"manager": st.one_of(ids, json_values)}), json_values
            ),
            "extra": json_values,
        },
    )


# -- filters and paths ------------------------------------------------------------------------

FILTER_PATHS = [
    "userName",
    "USERNAME",
    "externalId",
    "displayName",
    "title",
    "active",
    "name.givenName",
    "emails",
    "emails.value",
    "emails.type",
    "meta.created",
    "meta.lastModified",
    "members.value",
    "groups.display",
    f"{ENTERPRISE}:employeeNumber",
    f"{ENTERPRISE}:manager.value",
    "manager.value",
    "nosuch",
    "name",
    "id",
]
OPS = ["eq", "ne", "co", "sw", "ew", "gt", "lt", "ge", "le", "EQ", "xx"]


def literal(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float):
        return repr(value)
    return json.dumps(value)


comparison = st.one_of(
    st.builds(lambda p: f"{p} pr", st.sampled_from(FILTER_PATHS)),
    st.builds(
        lambda p, o, v: f"{p} {o} {literal(v)}",
        st.sampled_from(FILTER_PATHS),
        st.sampled_from(OPS),
        hostile_scalar,
    ),
    st.builds(
        lambda p, v: f'{p}[type eq "work"].value eq {literal(v)}',
        st.sampled_from(["emails", "members", "groups", "phoneNumbers", "name"]),
        hostile_text,
    ),
)

filters: st.SearchStrategy[str] = st.one_of(
    st.recursive(
        comparison,
        lambda inner: st.one_of(
            st.builds(lambda a, b, op: f"{a} {op} {b}", inner, inner, st.sampled_from(["and", "or", "AND"])),
            st.builds(lambda a: f"not ({a})", inner),
            st.builds(lambda a: f"({a})", inner),
            st.builds(lambda a: f"emails[{a}]", inner),
        ),
        max_leaves=6,
    ),
    st.builds(
        lambda n, leaf: "not (" * n + leaf + ")" * n,
        st.integers(MAX_DEPTH - 2, MAX_DEPTH + 2) | st.just(200),
        comparison,
    ),
    hostile_text,
)

patch_paths = st.one_of(
    st.sampled_from(
        [
            "title",
            "active",
            "userName",
            "displayName",
            "externalId",
            "name.givenName",
            "emails",
            'emails[type eq "work"]',
            'emails[type eq "work"].value',
            'emails[value co "%"].primary',
            "members",
            'members[value eq "x"]',
            'members[type eq "Group"]',
            "members.value",
            "manager",
            'manager[value eq "x"]',
            f'{ENTERPRISE}:manager[value eq "x"]',
            f"{ENTERPRISE}:department",
            ENTERPRISE,
            'name[givenName eq "a"].familyName',
            'title[value eq "x"]',
            "meta.version",
            "id",
        ]
    ),
    st.builds(lambda f: f"emails[{f}]", filters),
    st.builds(lambda f: f"members[{f}]", filters),
    hostile_text,
)


@st.composite
def patch_bodies(draw: st.DrawFn, ids: st.SearchStrategy[str]) -> Any:
    op_name = st.sampled_from(["add", "replace", "remove", "Add", "Replace", "Remove"])
    value = st.one_of(
        hostile_scalar,
        st.lists(st.fixed_dictionaries({"value": st.one_of(ids, hostile_text)}), max_size=3),
        _resource("User", ids),
        json_values,
    )
    likely = st.fixed_dictionaries({"op": op_name, "path": patch_paths, "value": value})
    pathless = st.fixed_dictionaries({"op": op_name, "value": st.one_of(_resource("User", ids), json_values)})
    anything = st.fixed_dictionaries(
        {"op": st.one_of(op_name, hostile_scalar)},
        optional={"path": st.one_of(patch_paths, hostile_scalar), "value": value},
    )
    operation = st.one_of(likely, likely, pathless, anything)
    operations = draw(
        st.one_of(
            st.lists(operation, min_size=1, max_size=4),
            st.integers(999, 1001).map(lambda n: [{"op": "remove", "path": 'members[value eq "x"]'}] * n),
            json_values,
        )
    )
    return draw(
        st.fixed_dictionaries(
            {"Operations": st.just(operations)},
            optional={"schemas": st.one_of(st.just([PATCH_OP]), json_values)},
        )
    )


@st.composite
def bulk_bodies(draw: st.DrawFn, ids: st.SearchStrategy[str]) -> Any:
    method = st.one_of(st.sampled_from(["POST", "PUT", "PATCH", "DELETE", "GET", "post"]), hostile_scalar)
    path = st.one_of(
        st.sampled_from(["/Users", "/Groups", "/Users/bulkId:b1", "/Groups/bulkId:b2", "/Widgets", "Users"]),
        st.builds(lambda i: f"/Users/{i}", ids),
        st.builds(lambda i: f"/Groups/{i}", ids),
        hostile_scalar,
    )
    data = st.one_of(_resource("User", ids), _resource("Group", ids), patch_bodies(ids), json_values)
    operation = st.fixed_dictionaries(
        {"method": method, "path": path},
        optional={
            "bulkId": st.one_of(st.sampled_from(["b1", "b2"]), hostile_scalar),
            "data": data,
            "version": st.one_of(st.sampled_from(['W/"1"', "*"]), hostile_scalar),
        },
    )
    operations = draw(
        st.one_of(
            st.lists(operation, max_size=4),
            st.integers(1000, 1001).map(lambda n: [{"method": "DELETE", "path": "/Users/x"}] * n),
            json_values,
        )
    )
    return draw(
        st.fixed_dictionaries(
            {"Operations": st.just(operations)},
            optional={"schemas": st.one_of(st.just([BULK]), json_values), "failOnErrors": hostile_scalar},
        )
    )


# -- query strings and headers ------------------------------------------------------------------


def quoted(text: str) -> str:
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


query_value = st.one_of(
    hostile_text, hostile_number.map(str), st.sampled_from(["%ZZ", "%FF", "%00", "%ED%A0%80"])
)
query_params = st.dictionaries(
    st.sampled_from(
        [
            "filter",
            "startIndex",
            "count",
            "attributes",
            "excludedAttributes",
            "sortBy",
            "sortOrder",
            "STARTINDEX",
            "x",
        ]
    ),
    st.one_of(filters.map(quoted), query_value.map(lambda v: v if v.startswith("%") else quoted(v))),
    max_size=4,
)

latin1_header_text = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=40
)
extra_headers = st.dictionaries(
    st.sampled_from(["If-Match", "If-None-Match", "X-Request-Id", "Accept", "X-Forwarded-Host"]),
    st.one_of(st.sampled_from(['W/"1"', "*", 'W/"999"', '"1", W/"2"', ""]), latin1_header_text),
    max_size=3,
)
content_types = st.sampled_from(
    [
        *["application/scim+json"] * 6,
        "application/json",
        "application/scim+json; charset=utf-8",
        "application/json; charset=utf-16",
        "text/plain",
        None,
    ]
)


SHAPES = ("list", "get", "create", "replace", "patch", "delete", "search", "bulk", "root", "discovery", "raw")


@st.composite
def requests(
    draw: st.DrawFn, user_ids: list[str], group_ids: list[str], shapes: tuple[str, ...] = SHAPES
) -> Request:
    """A request of one of ``shapes`` against a directory holding ``user_ids`` and ``group_ids``."""
    any_id = st.sampled_from([*user_ids, *group_ids, "nope"])
    odd_id = st.one_of(
        any_id, hostile_text.map(quoted), st.sampled_from(["%00", "a%00b", "x" * 300, ".search", "%2F"])
    )
    kind = draw(st.sampled_from(["Users", "Groups"]))
    own_id = st.sampled_from(user_ids if kind == "Users" else group_ids)
    target = draw(own_id if draw(st.sampled_from([True] * 5 + [False])) else odd_id)
    shape = draw(st.sampled_from(shapes))
    params = draw(query_params)
    query = "?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else ""
    headers = draw(extra_headers)
    if draw(st.sampled_from([False] * 19 + [True])):  # now and then, a credential that is not ours
        headers["Authorization"] = draw(
            st.one_of(
                st.sampled_from(["Bearer", "Basic eDp5", "Bearer kscim_x", "bearer  "]), latin1_header_text
            )
        )
    ctype = draw(content_types)
    chunked = draw(st.booleans())
    resource = _resource("User" if kind == "Users" else "Group", any_id)
    if shape == "list":
        return Request("GET", f"/{kind}{query}", None, None, headers)
    if shape == "get":
        return Request("GET", f"/{kind}/{target}{query}", None, None, headers)
    if shape == "create":
        return Request("POST", f"/{kind}{query}", draw(body_bytes(resource)), ctype, headers, chunked)
    if shape == "replace":
        return Request("PUT", f"/{kind}/{target}{query}", draw(body_bytes(resource)), ctype, headers, chunked)
    if shape == "patch":
        body = draw(body_bytes(patch_bodies(any_id)))
        return Request("PATCH", f"/{kind}/{target}{query}", body, ctype, headers, chunked)
    if shape == "delete":
        return Request("DELETE", f"/{kind}/{target}", None, None, headers)
    if shape == "search":
        search = st.fixed_dictionaries(
            {},
            optional={
                "schemas": st.one_of(st.just([SEARCH]), json_values),
                "filter": st.one_of(filters, hostile_scalar),
                "startIndex": st.one_of(hostile_number, hostile_text),
                "count": st.one_of(hostile_number, hostile_text),
                "attributes": st.one_of(st.lists(st.sampled_from(ATTRIBUTE_NAMES)), json_values),
                "sortBy": st.one_of(st.sampled_from(FILTER_PATHS), hostile_scalar),
            },
        )
        path = draw(st.sampled_from([f"/{kind}/.search", "/.search"]))
        return Request("POST", path, draw(body_bytes(search)), ctype, headers, chunked)
    if shape == "bulk":
        return Request("POST", "/Bulk", draw(body_bytes(bulk_bodies(any_id))), ctype, headers, chunked)
    if shape == "root":
        return Request("GET", f"/{query}", None, None, headers)
    if shape == "discovery":
        path = draw(
            st.sampled_from(["/ServiceProviderConfig", "/ResourceTypes", "/Schemas"]).flatmap(
                lambda p: st.one_of(st.just(p), hostile_text.map(lambda t: f"{p}/{quoted(t)}"))
            )
        )
        return Request("GET", path, None, None, headers)
    method = draw(st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]))
    path = draw(
        st.sampled_from(["/Users", "/Groups", "/Bulk", "/", f"/{kind}/{target}", "/Widgets", "//Users"])
    )
    body = draw(st.one_of(st.none(), body_bytes(json_values)))
    return Request(method, path + query, body, ctype, headers, chunked and body is not None)
