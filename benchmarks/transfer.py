"""Export and import rates of ``kubescim directories export/import`` on SQLite and PostgreSQL.

A synthetic export (USERS users with the enterprise extension and an email, GROUPS
groups of MEMBERS members each) is checked once (``read_export``, the CPU-only part),
then imported into a fresh store of each backend, round by round with the backends
interleaved, and exported again. The baseline beside it: the same users written one
``create`` at a time (what re-provisioning through the SCIM API costs the store), on a
tenth of the users.

    python -m benchmarks.transfer                       # 100,000 users, 3 rounds
    python -m benchmarks.transfer --users 10000 --rounds 1
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from scim_server.scim.schemas import ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA
from scim_server.storage import Storage, open_storage
from scim_server.storage.exported import NOT_ATTRIBUTES
from scim_server.transfer.format import Header
from scim_server.transfer.plan import ImportPlan
from scim_server.transfer.runner import export_directory, import_plan, read_export
from tests.support.postgres import running_postgres

META = {"created": "2025-01-02T03:04:05.000000Z", "lastModified": "2025-02-03T04:05:06.000000Z"}


def synthetic_export(users: int, groups: int, members: int) -> list[str]:
    """The lines of an export as ``kubescim directories export`` writes them."""
    ids = [str(uuid.uuid4()) for _ in range(users)]
    lines = [Header("bench", users, groups, META["created"]).line()]
    for i, id in enumerate(ids):
        doc: dict[str, Any] = {
            "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
            "id": id,
            "active": True,
            "displayName": f"User {i}",
            "emails": [{"primary": True, "type": "work", "value": f"user{i}@example.com"}],
            "externalId": f"ext-{i}",
            "name": {"familyName": "Family", "givenName": f"Given{i}"},
            "userName": f"user{i}@example.com",
            ENTERPRISE_SCHEMA: {"department": f"dept-{i % 50}", "employeeNumber": str(i)},
            "meta": {"resourceType": "User", **META, "version": 'W/"1"'},
        }
        lines.append(json.dumps(doc, separators=(",", ":")))
    for g in range(groups):
        chosen = sorted(ids[(g * members + k) % users] for k in range(members))
        doc = {
            "schemas": [GROUP_SCHEMA],
            "id": str(uuid.uuid4()),
            "displayName": f"group-{g}",
            "members": [{"type": "User", "value": m} for m in chosen],
            "meta": {"resourceType": "Group", **META, "version": 'W/"1"'},
        }
        lines.append(json.dumps(doc, separators=(",", ":")))
    return lines


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def stores(pg_url: Callable[[str], str], workdir: Path) -> Iterator[tuple[str, Callable[[str], Storage]]]:
    yield "sqlite", lambda name: open_storage(f"sqlite:///{workdir / name}.db")
    yield "postgres", lambda name: open_storage(pg_url(name), pool_size=2)


def rates(
    open_: Callable[[str], Storage], name: str, plan: ImportPlan, baseline_users: int
) -> dict[str, float]:
    """Import, export and the one-by-one baseline on fresh stores of one backend."""
    total = len(plan.users) + len(plan.groups)
    store = open_(f"import{name}")
    imported = timed(lambda: import_plan(store, "bench", plan))
    exported = timed(lambda: export_directory(store, "bench", io.StringIO().write, generator="bench"))
    store.close()
    baseline = open_(f"create{name}")
    docs = [json.loads(text) for text in plan.users[:baseline_users]]
    attributes = [{k: v for k, v in d.items() if k not in NOT_ATTRIBUTES} for d in docs]
    created = timed(lambda: [baseline.create("bench", "User", a) for a in attributes])
    baseline.close()
    return {"import": total / imported, "export": total / exported, "create": len(docs) / created}


def measure(args: argparse.Namespace) -> dict[str, dict[str, list[float]]]:
    lines = synthetic_export(args.users, args.groups, args.members)
    results: dict[str, dict[str, list[float]]] = {}
    with running_postgres() as pg, tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            check = timed(lambda: read_export(lines))
            results.setdefault("check", {}).setdefault("rate", []).append((len(lines) - 1) / check)
            plan = read_export(lines)
            for backend, open_ in stores(pg.create_database, Path(tmp)):
                row = rates(open_, str(round_), plan, max(1, args.users // 10))
                for key, value in row.items():
                    results.setdefault(backend, {}).setdefault(key, []).append(value)
                print(f"round {round_ + 1}: {backend} done", file=sys.stderr)
    return results


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):>9,.0f}/s  ({min(values):,.0f}-{max(values):,.0f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--members", type=int, default=500, help="members per group")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results = measure(args)
    shape = f"{args.users:,} users, {args.groups} groups of {args.members} members"
    print(f"{shape}; resources per second, median (min-max) of {args.rounds} rounds")
    print(f"{'check the file (CPU only)':<34}{spread(results['check']['rate'])}")
    for backend in ("sqlite", "postgres"):
        row = results[backend]
        print(f"{backend + ' import (restore_many)':<34}{spread(row['import'])}")
        print(f"{backend + ' export':<34}{spread(row['export'])}")
        print(f"{backend + ' baseline: create one by one':<34}{spread(row['create'])}")


if __name__ == "__main__":
    main()
