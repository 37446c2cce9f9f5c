"""ConfigMap storage next to PostgreSQL, in one run on one machine.

For each directory size (1,000 users and the documented maximum, 2,000), both targets
are served the way an operator runs them (``python -m scim_server.cli serve``, 2 sync
workers, as docs/storage-configmaps.md was measured; ``--threads 4`` for serve's own
default) and driven by wrk: GET by id, ``userName eq``, POST /Users and a member add
(PATCH), in interleaved rounds (configmaps, postgresql, configmaps, postgresql, ...) so
that a burst of load from elsewhere on the machine hits both. It also reports:

- etcd bytes written per user change: etcd's ``etcd_disk_wal_write_bytes_total`` (from
  the control plane this script starts) before and after a batch of sequential user
  updates, and of user creates, less what etcd wrote in an idle period as long;
- the server's memory: the resident set of each worker process, per size, and its growth
  per 1,000 users (every ConfigMap worker holds the whole namespace in its cache).

    python -m benchmarks.configmap_storage                       # 1,000 and 2,000 users
    python -m benchmarks.configmap_storage --duration 2 --rounds 1   # a quicker look
    python -m benchmarks.configmap_storage --save figures.json

The ConfigMap server runs with a write limit of ``--write-rate`` (default 1,000/s per
process, far above the shipped 20/s) so that the figures show what the backend costs,
not the limiter. Progress goes to stderr, the table to stdout. The same backend also
runs among the targets of ``scim_throughput.py`` (``kubescim-configmaps``), next to its
ceilings and to PostgreSQL under the same load.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from benchmarks import loadgen
from benchmarks.configmap_cluster import WRITE_RATE, configmap_cluster
from benchmarks.loadgen import Plan
from benchmarks.payloads import SCIM_JSON, add_members_body, template, user_body, user_name
from benchmarks.seeding import HttpSeeder
from benchmarks.seedplan import GroupSet, UserSet
from benchmarks.servers import Server
from benchmarks.targets import KubescimTarget
from tests.support.postgres import running_postgres

GROUPS = 10
GROUP_MEMBERS = 10
FRESH = 300
"""Users added per size for the member adds (request k adds fresh user k div 10 to group k mod 10)."""
CHANGES = 100
SCENARIOS = ("get_user", "filter", "post_user", "add_member")
LABELS = {
    "get_user": "GET /Users/{id}",
    "filter": "userName eq",
    "post_user": "POST /Users",
    "add_member": "PATCH add member",
}
_WAL = re.compile(r"^etcd_disk_wal_write_bytes_total (\S+)$", re.MULTILINE)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class Target:
    """kubescim served over one storage URL, and what has been stored in it."""

    name: str
    server: Server
    base_url: str
    prefix: str
    token: str
    seeder: HttpSeeder
    ids: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    fresh: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    member_adds: int = 0

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Content-Type": SCIM_JSON}

    def grow_to(self, size: int) -> None:
        """Store users until the directory holds ``size`` of the named set, then a fresh set."""
        missing = size - len(self.ids)
        if missing > 0:
            users = UserSet(f"{self.name}-{size}", f"s{size}-", missing)
            self.ids += self.seeder.users(users)
            self.names += [user_name(users.suffix(i)) for i in range(missing)]
        if not self.groups:
            self.groups = self.seeder.groups(
                GroupSet("g", "g", GROUPS, "a", GROUP_MEMBERS), self.ids[:GROUP_MEMBERS]
            )
        self.fresh += self.seeder.users(UserSet(f"{self.name}-fresh-{size}", f"f{size}-", FRESH))

    def worker_rss_mib(self) -> list[float]:
        """Resident memory of each gunicorn worker (the children of the master)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            if fields.get("PPid", "").strip() == str(self.server.proc.pid):
                found.append(int(fields["VmRSS"].split()[0]) / 1024)
        return sorted(found)

    def plan(self, scenario: str, tag: str) -> Plan:
        auth = {"Authorization": f"Bearer {self.token}"}
        if scenario == "get_user":
            return Plan("GET", [f"{self.prefix}/Users/{i}" for i in self.ids], auth)
        if scenario == "filter":
            filters = [quote(f'userName eq "{name}"') for name in self.names]
            return Plan("GET", [f"{self.prefix}/Users?filter={f}" for f in filters], auth)
        if scenario == "post_user":
            return Plan(
                "POST", [f"{self.prefix}/Users"], self.headers, template(user_body(f"p{tag}-{{n}}"), "{n}")
            )
        plan = Plan(
            "PATCH",
            [f"{self.prefix}/Groups/{g}" for g in self.groups],
            self.headers,
            template(add_members_body(["{v}"]), "{v}"),
            values=self.fresh,
            offset=self.member_adds,
            idle_path=f"{self.prefix}/ServiceProviderConfig",
        )
        plan.limit = plan.capacity - self.member_adds
        return plan


def start_target(
    name: str, url: str, workdir: Path, env: dict[str, str], workers: int, threads: int
) -> Target:
    served = KubescimTarget(url, workdir, workers, threads, name=name, env=env)
    return Target(name, served.server, served.base_url, served.prefix, served.token, served.seeder)


def wal_bytes(etcd_url: str) -> float:
    text = requests.get(f"{etcd_url}/metrics", timeout=10).text
    match = _WAL.search(text)
    if match is None:
        raise RuntimeError("etcd_disk_wal_write_bytes_total not in etcd's /metrics")
    return float(match.group(1))


def etcd_bytes_per_change(target: Target, etcd_url: str, size: int) -> dict[str, float]:
    """WAL bytes per sequential user update and per user create, less etcd's idle rate."""
    session = requests.Session()
    out: dict[str, float] = {}
    users = target.ids[:CHANGES]

    def updates() -> None:
        for i, id_ in enumerate(users):
            body = {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "title", "value": f"t{size}-{i}"}],
            }
            session.patch(
                f"{target.base_url}{target.prefix}/Users/{id_}", json=body, headers=target.headers, timeout=30
            ).raise_for_status()

    def creates() -> None:
        for i in range(CHANGES):
            body = user_body(f"etcd{size}-{i}")
            session.post(
                f"{target.base_url}{target.prefix}/Users", json=body, headers=target.headers, timeout=30
            ).raise_for_status()

    for label, batch in (("update", updates), ("create", creates)):
        before, started = wal_bytes(etcd_url), time.monotonic()
        batch()
        elapsed, written = time.monotonic() - started, wal_bytes(etcd_url) - before
        idle_before = wal_bytes(etcd_url)
        time.sleep(elapsed)
        idle = wal_bytes(etcd_url) - idle_before
        out[f"{label}_raw"] = written / CHANGES
        out[label] = max(0.0, written - idle) / CHANGES
    return out


def measure(target: Target, scenario: str, tag: str, duration: float) -> loadgen.Result:
    plan = target.plan(scenario, tag)
    if scenario in ("get_user", "filter"):
        loadgen.run(target.base_url, plan, duration_s=1, connections=4)  # warm-up
    result = loadgen.run(target.base_url, plan, duration_s=duration, connections=4)
    if scenario == "add_member":
        target.member_adds += result.requests
    return result


def summary(runs: Sequence[loadgen.Result]) -> dict[str, Any]:
    rates = [r.rps for r in runs]
    return {
        "rps_median": round(statistics.median(rates), 1),
        "rps_min": round(min(rates), 1),
        "rps_max": round(max(rates), 1),
        "p50_ms": round(statistics.median(r.ms("p50") for r in runs), 2),
        "p99_ms": round(max(r.ms("p99") for r in runs), 2),
        "errors": sum(r.error_count for r in runs),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    figures: dict[str, Any] = {"sizes": {}, "load_average_start": os.getloadavg()}
    with (
        tempfile.TemporaryDirectory(prefix="kubescim-cmbench-") as tmp,
        running_postgres() as pg,
        configmap_cluster(args.write_rate) as cluster,
    ):
        workdir = Path(tmp)
        targets: list[Target] = []
        try:
            serving = (args.workers, args.threads)
            targets.append(start_target("configmaps", cluster.url, workdir, cluster.env, *serving))
            targets.append(start_target("postgresql", pg.create_database("bench"), workdir, {}, *serving))
            for size in args.sizes:
                log(f"== {size:,} users")
                entry: dict[str, Any] = {"rss_mib": {}, "scenarios": {}}
                for target in targets:
                    target.grow_to(size)
                    entry["rss_mib"][target.name] = target.worker_rss_mib()
                runs: dict[tuple[str, str], list[loadgen.Result]] = {}
                for round_ in range(args.rounds):
                    for target in targets:  # interleaved: A B A B ...
                        for scenario in SCENARIOS:
                            result = measure(target, scenario, f"{size}r{round_}", args.duration)
                            runs.setdefault((scenario, target.name), []).append(result)
                            log(
                                f"  round {round_ + 1} {target.name:10} {LABELS[scenario]:18} "
                                f"{result.rps:8.1f}/s p50 {result.ms('p50'):.1f} ms"
                            )
                for (scenario, name), results in runs.items():
                    entry["scenarios"].setdefault(scenario, {})[name] = summary(results)
                etcd_url = cluster.plane.etcd_url
                entry["etcd_bytes_per_change"] = etcd_bytes_per_change(targets[0], etcd_url, size)
                figures["sizes"][str(size)] = entry
        finally:
            for target in targets:
                target.server.stop()
    figures["load_average_end"] = os.getloadavg()
    return figures


def rss_growth(figures: dict[str, Any], name: str) -> float | None:
    sizes = sorted(int(s) for s in figures["sizes"])
    if len(sizes) < 2:
        return None
    first, last = (statistics.mean(figures["sizes"][str(s)]["rss_mib"][name]) for s in (sizes[0], sizes[-1]))
    return (last - first) / ((sizes[-1] - sizes[0]) / 1000)


def print_table(figures: dict[str, Any]) -> None:
    print(
        f"{'users':>6}  {'scenario':18} {'target':10} {'req/s (min-max)':>22} "
        f"{'p50 ms':>8} {'p99 ms':>8} {'err':>4}"
    )
    for size, entry in figures["sizes"].items():
        for scenario in SCENARIOS:
            for name, s in entry["scenarios"][scenario].items():
                spread = f"{s['rps_median']:.1f} ({s['rps_min']:.0f}-{s['rps_max']:.0f})"
                latency = f"{s['p50_ms']:>8.2f} {s['p99_ms']:>8.2f}"
                print(
                    f"{int(size):>6,}  {LABELS[scenario]:18} {name:10} {spread:>22} "
                    f"{latency} {s['errors']:>4}"
                )
    print()
    for size, entry in figures["sizes"].items():
        etcd = entry["etcd_bytes_per_change"]
        print(
            f"{int(size):>6,} users: etcd WAL bytes per user update {etcd['update']:,.0f} "
            f"(raw {etcd['update_raw']:,.0f}), per user create {etcd['create']:,.0f} "
            f"(raw {etcd['create_raw']:,.0f})"
        )
        rss = ", ".join(f"{n} {statistics.mean(v):.1f} MiB" for n, v in entry["rss_mib"].items())
        print(f"{int(size):>6,} users: worker RSS (mean of workers): {rss}")
    for name in ("configmaps", "postgresql"):
        growth = rss_growth(figures, name)
        if growth is not None:
            print(f"worker RSS growth per 1,000 users, {name}: {growth:.1f} MiB")
    print(f"load average: start {figures['load_average_start']}, end {figures['load_average_end']}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=lambda t: [int(x) for x in t.split(",")], default=[1000, 2000])
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per scenario and round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads per worker (default 1: sync workers, as docs/storage-configmaps.md was measured)",
    )
    parser.add_argument("--write-rate", type=float, default=WRITE_RATE)
    parser.add_argument("--save", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    loadgen.require_wrk()
    figures = run(args)
    print_table(figures)
    if args.save:
        args.save.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
