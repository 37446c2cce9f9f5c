"""Load and replay the request sequences that identity providers document for SCIM.

Each file under ``tests/data/idp/<idp>/`` holds one sequence, with its bodies kept as
the IdP's documentation prints them and the page (and section) they come from:

    {
      "source": ["<page URL>", "<page or section title>"],
      "description": "what the IdP does and why",
      "variables": {"name": "fixed value the IdP would generate"},
      "steps": [
        {
          "name": "Create User",
          "source": "<section heading>" | ["<other URL>", "<section heading>"],
          "request": {"method": "POST", "path": "/Users?filter=...", "body": {}, "headers": {}},
          "expect": {
            "status": 201 | [200, 204],
            "json": {"a subset the response body must contain"},
            "absent": ["members"],
            "length": {"Resources": 0},
            "present": ["Resources/0/id"],
            "capture": {"user_id": "id"}
          }
        }
      ]
    }

``{{name}}`` placeholders in paths, bodies and expectations are filled from
``variables`` and from the values earlier steps captured (server-generated ids).
Response paths (``absent``, ``length``, ``present``, ``capture``) are ``/``-separated,
with integers indexing lists; ``/`` because the extension URNs contain dots. In
``json``, objects match when every expected key matches, and lists when every expected
element matches a distinct actual element, in any order. Query strings are written as the
documentation prints them, raw or percent-encoded; they are encoded here. A step that
allows 204 No Content checks the body only when the response has one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, unquote

from werkzeug.test import TestResponse

DATA_ROOT = Path(__file__).resolve().parent.parent / "data" / "idp"

_PLACEHOLDER = re.compile(r"\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}")
_MISSING = object()


class ScimClient(Protocol):
    """The ``scim`` fixture: requests relative to one directory's base URL, auth added."""

    def get(self, path: str, **kw: Any) -> TestResponse: ...
    def post(self, path: str, **kw: Any) -> TestResponse: ...
    def put(self, path: str, **kw: Any) -> TestResponse: ...
    def patch(self, path: str, **kw: Any) -> TestResponse: ...
    def delete(self, path: str, **kw: Any) -> TestResponse: ...


class ReplayMismatchError(AssertionError):
    """A response differed from what the IdP's documentation expects."""


@dataclass(frozen=True)
class Request:
    """One HTTP request as an IdP sends it, placeholders filled and query encoded."""

    method: str
    path: str
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def resource_path(self) -> str:
        """The path without its query string."""
        return self.path.partition("?")[0]

    @property
    def query_names(self) -> set[str]:
        """The query parameter names, as sent."""
        query = self.path.partition("?")[2]
        return {pair.partition("=")[0] for pair in query.split("&") if pair}


@dataclass(frozen=True)
class Step:
    """One documented request and what the IdP expects back."""

    index: int
    name: str
    source: tuple[str, str]
    request: dict[str, Any]
    expect: dict[str, Any]


@dataclass(frozen=True)
class Sequence:
    """The steps an IdP runs for one scenario, in order."""

    id: str
    file: Path
    source: tuple[str, str]
    description: str
    variables: dict[str, str]
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Exchange:
    """A step as it was replayed: the rendered request and the server's response."""

    step: Step
    request: Request
    response: TestResponse

    @property
    def body(self) -> Any:
        """The response body as JSON, or None when there is none."""
        if not self.response.data:
            return None
        return json.loads(self.response.data)


@dataclass
class Replay:
    """The outcome of a replay: every exchange, and the values captured on the way."""

    sequence: Sequence
    values: dict[str, str]
    exchanges: list[Exchange]

    def exchange(self, name: str) -> Exchange:
        """Return the exchange of the step called ``name``.

        Raises KeyError when no step has that name.
        """
        for exchange in self.exchanges:
            if exchange.step.name == name:
                return exchange
        raise KeyError(f"{self.sequence.id} has no step named {name!r}")


def load_sequence(file: Path) -> Sequence:
    """Read one sequence file.

    Raises ValueError when the file lacks a source, a description or steps.
    """
    raw = json.loads(file.read_text(encoding="utf-8"))
    seq_id = file.relative_to(DATA_ROOT).with_suffix("").as_posix()
    source = raw.get("source")
    if not (isinstance(source, list) and len(source) == 2 and source[0].startswith("https://")):
        raise ValueError(f"{seq_id}: 'source' must be [URL, section heading]")
    if not raw.get("description") or not raw.get("steps"):
        raise ValueError(f"{seq_id}: a sequence needs a description and steps")
    page: tuple[str, str] = (source[0], source[1])
    steps = []
    for index, step in enumerate(raw["steps"], start=1):
        step_source = step.get("source", page[1])
        if isinstance(step_source, str):
            step_source = [page[0], step_source]
        steps.append(
            Step(
                index=index,
                name=step["name"],
                source=(step_source[0], step_source[1]),
                request=step["request"],
                expect=step["expect"],
            )
        )
    return Sequence(
        id=seq_id,
        file=file,
        source=page,
        description=raw["description"],
        variables=dict(raw.get("variables", {})),
        steps=tuple(steps),
    )


def load_sequences(root: Path = DATA_ROOT) -> list[Sequence]:
    """Read every sequence under ``root``, ordered by IdP and file name."""
    return [load_sequence(file) for file in sorted(root.glob("*/*.json"))]


def fill(template: Any, values: dict[str, str]) -> Any:
    """Replace ``{{name}}`` placeholders in every string inside ``template``.

    Raises KeyError naming the placeholder when no value is known for it.
    """
    if isinstance(template, str):

        def value_of(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in values:
                raise KeyError(f"no value for placeholder {{{{{name}}}}}")
            return values[name]

        return _PLACEHOLDER.sub(value_of, template)
    if isinstance(template, list):
        return [fill(item, values) for item in template]
    if isinstance(template, dict):
        return {key: fill(item, values) for key, item in template.items()}
    return template


def encode_path(path: str) -> str:
    """Percent-encode each query value of ``path``; already-encoded values stay as they are."""
    resource, sep, query = path.partition("?")
    if not sep:
        return path
    pairs = []
    for pair in query.split("&"):
        name, eq, value = pair.partition("=")
        pairs.append(f"{name}{eq}{quote(unquote(value), safe='')}" if eq else name)
    return f"{resource}?{'&'.join(pairs)}"


def lookup(document: Any, path: str) -> Any:
    """Return the value at a ``/``-separated path, or the module's MISSING marker."""
    node = document
    for part in path.split("/"):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def is_missing(value: Any) -> bool:
    """Whether ``value`` is what :func:`lookup` returns for an absent path."""
    return value is _MISSING


def subset_mismatches(expected: Any, actual: Any, where: str = "$") -> list[str]:
    """List how ``actual`` fails to contain ``expected`` (empty when it does)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object, got {actual!r}"]
        problems = []
        for key, value in expected.items():
            if key not in actual:
                problems.append(f"{where}/{key}: missing")
            else:
                problems += subset_mismatches(value, actual[key], f"{where}/{key}")
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{where}: expected a list, got {actual!r}"]
        remaining = list(actual)
        problems = []
        for item in expected:
            match = next((c for c in remaining if not subset_mismatches(item, c)), _MISSING)
            if is_missing(match):
                problems.append(f"{where}: no element matches {item!r} in {actual!r}")
            else:
                remaining.remove(match)
        return problems
    same_kind = isinstance(expected, bool) == isinstance(actual, bool)
    if not same_kind or expected != actual:
        return [f"{where}: expected {expected!r}, got {actual!r}"]
    return []


def expectation_mismatches(expect: dict[str, Any], exchange: Exchange) -> list[str]:
    """List how a response falls short of a step's (already filled) expectations."""
    status = exchange.response.status_code
    allowed = expect["status"] if isinstance(expect["status"], list) else [expect["status"]]
    if status not in allowed:
        return [f"status: expected {' or '.join(map(str, allowed))}, got {status}"]
    checks_body = any(key in expect for key in ("json", "absent", "length", "present", "capture"))
    if not checks_body or status == 204:
        return []
    try:
        body = exchange.body
    except ValueError:
        return ["body: not JSON"]
    problems = subset_mismatches(expect.get("json", {}), body)
    for path in expect.get("absent", []):
        if not is_missing(lookup(body, path)):
            problems.append(f"{path}: should be absent, got {lookup(body, path)!r}")
    for path, length in expect.get("length", {}).items():
        value = lookup(body, path)
        if not isinstance(value, list) or len(value) != length:
            problems.append(f"{path}: expected a list of {length}, got {value!r}")
    for path in [*expect.get("present", []), *expect.get("capture", {}).values()]:
        if lookup(body, path) in (_MISSING, None, ""):
            problems.append(f"{path}: should be present and non-empty")
    return problems


def send(client: ScimClient, request: Request) -> TestResponse:
    """Send one request through the ``scim`` fixture."""
    kwargs: dict[str, Any] = {}
    if request.body is not None:
        kwargs["json"] = request.body
    if request.headers:
        kwargs["headers"] = request.headers
    method: Callable[..., TestResponse] = getattr(client, request.method.lower())
    return method(request.path, **kwargs)


def describe(exchange: Exchange) -> str:
    """A readable account of an exchange for failure messages."""
    step, request, response = exchange.step, exchange.request, exchange.response
    lines = [
        f"step {step.index} {step.name!r} (source: {step.source[0]} > {step.source[1]})",
        f"  request: {request.method} {request.path}",
    ]
    if request.body is not None:
        lines.append(f"  request body: {json.dumps(request.body)}")
    lines.append(f"  response: {response.status_code} {response.content_type}")
    if response.data:
        lines.append(f"  response body: {response.get_data(as_text=True)[:2000]}")
    return "\n".join(lines)


def run_sequence(
    client: ScimClient,
    sequence: Sequence,
    check: Callable[[Exchange], None] | None = None,
) -> Replay:
    """Send every step of ``sequence`` in order, checking each response as it comes.

    ``check`` runs on every exchange after the step's own expectations, for the
    server's contract beyond what the IdP documents.
    Raises ReplayMismatchError at the first step whose response differs from its expectations.
    """
    values = dict(sequence.variables)
    exchanges: list[Exchange] = []
    for step in sequence.steps:
        spec = step.request
        request = Request(
            method=spec["method"].upper(),
            path=encode_path(fill(spec["path"], values)),
            body=fill(spec.get("body"), values),
            headers=fill(spec.get("headers", {}), values),
        )
        exchange = Exchange(step, request, send(client, request))
        exchanges.append(exchange)
        problems = expectation_mismatches(fill(step.expect, values), exchange)
        if problems:
            raise ReplayMismatchError(
                f"{sequence.id}: the response differs from the IdP's documented expectation\n"
                + describe(exchange)
                + "\n  problems:\n    "
                + "\n    ".join(problems)
            )
        if check is not None:
            check(exchange)
        for name, path in step.expect.get("capture", {}).items():
            values[name] = str(lookup(exchange.body, path))
    return Replay(sequence=sequence, values=values, exchanges=exchanges)


def iter_requests(sequence: Sequence) -> Iterator[dict[str, Any]]:
    """Yield every raw request of a sequence (for checks over the data files themselves)."""
    for step in sequence.steps:
        yield step.request
