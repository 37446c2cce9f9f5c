"""The three kinds of target: the ceilings, scim2-server (the peer) and kubescim.

A SCIM target answers ``load_phase(plan) -> Seeded``: after it returns, the target
serves exactly what the plan names (the peer is restarted with the plan seeded in
memory; kubescim, on PostgreSQL or on ConfigMaps, keeps what earlier phases stored and
adds the rest over HTTP).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlparse

import psycopg

from benchmarks import ceilings, loadgen
from benchmarks.scenarios import SAMPLE
from benchmarks.seeding import HttpSeeder
from benchmarks.seedplan import Seeded, SeedPlan
from benchmarks.servers import REPO, Server, child_env, gunicorn
from tests.support.postgres import PostgresServer, free_port

PEER_TOKEN = "bench-peer-token"


def _ready_or_stop(server: Server, url: str, headers: dict[str, str] | None = None) -> None:
    """Wait for a server a constructor started; stop it if it never answers."""
    try:
        server.wait_http(url, headers)
    except BaseException:
        server.stop()
        raise


class CeilingTarget:
    """``benchmarks/ceilings.py`` on its own database."""

    name = "ceiling"

    def __init__(self, pg: PostgresServer, workdir: Path, workers: int, threads: int = 4) -> None:
        url = pg.create_database("ceilings")
        self.ids = ceilings.setup_schema(url, SAMPLE)
        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        self.server = gunicorn(
            "ceilings",
            "benchmarks.ceilings:app",
            port,
            workers,
            threads,
            {"BENCH_CEILING_DATABASE_URL": url},
            workdir / "ceilings.log",
        )
        _ready_or_stop(self.server, f"{self.base_url}/json")

    def stop(self) -> None:
        self.server.stop()


class PeerTarget:
    """scim2-server 0.8.3 in memory (``benchmarks/peer.py``), restarted for each phase."""

    name = "scim2-server"
    prefix = "/v2"
    token = PEER_TOKEN

    def __init__(self, workdir: Path, workers: int, threads: int = 4) -> None:
        self.workdir = workdir
        self.workers = workers
        self.threads = threads
        self.base_url = ""
        self.server: Server | None = None
        self.phase = 0

    def load_phase(self, plan: SeedPlan) -> Seeded:
        self.stop()
        self.phase += 1
        plan_file = self.workdir / f"peer-plan-{self.phase}.json"
        out = self.workdir / f"peer-seeded-{self.phase}.json"
        plan.dump(plan_file)
        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        env = {
            "BENCH_PEER_SEED": str(plan_file),
            "BENCH_PEER_OUT": str(out),
            "BENCH_PEER_TOKEN": self.token,
        }
        # --preload: the master seeds once and both workers fork with the same data.
        self.server = gunicorn(
            "scim2-server",
            "benchmarks.peer:app",
            port,
            self.workers,
            self.threads,
            env,
            self.workdir / "peer.log",
            extra=["--preload"],
        )
        self.server.wait_http(f"{self.base_url}/v2/ServiceProviderConfig", timeout_s=600)
        return Seeded.load(out)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


def kubescim_unavailable() -> str | None:
    """Why kubescim cannot be benchmarked yet, or None when its CLI answers."""
    if not (REPO / "scim_server" / "cli.py").exists():
        return "scim_server/cli.py does not exist yet"
    proc = subprocess.run(
        [sys.executable, "-m", "scim_server.cli", "--help"],
        cwd=REPO,
        env=child_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        return f"`python -m scim_server.cli --help` failed: {proc.stderr.strip()[-300:]}"
    return None


class KubescimTarget:
    """kubescim served by ``python -m scim_server.cli serve`` on one storage URL.

    ``env`` adds to the server's environment (the ConfigMap backend's kubeconfig and
    write limit: ``configmap_cluster.ConfigMapCluster.env``).
    """

    directory = "bench"

    def __init__(
        self,
        database_url: str,
        workdir: Path,
        workers: int,
        threads: int = 4,
        *,
        name: str = "kubescim",
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.workdir = workdir
        state = Path(tempfile.mkdtemp(prefix=f"{name}-state-", dir=workdir))
        metrics = Path(tempfile.mkdtemp(prefix=f"{name}-metrics-", dir=workdir))
        self.env = {
            **(env or {}),
            "KUBESCIM_DATABASE_URL": database_url,
            "KUBESCIM_STATE_DIR": str(state),
            # serve would otherwise leave a fresh /tmp/kubescim-metrics-* behind per run
            "PROMETHEUS_MULTIPROC_DIR": str(metrics),
        }
        self._cli("migrate")
        created = json.loads(self._cli("directories", "create", self.directory, "-o", "json"))
        self.token = str(created["token"])
        path = urlparse(str(created.get("endpoint", ""))).path.rstrip("/")
        self.prefix = path or f"/scim/v2/{self.directory}"
        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        argv = [
            sys.executable,
            "-m",
            "scim_server.cli",
            "serve",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
        ]
        self.server = Server(name, argv, child_env(self.env), workdir / f"{name}.log")
        self._wait_ready(self.server, self.base_url)
        self.seeder = HttpSeeder(self.base_url, self.prefix, self.token)
        self.stored = Seeded()

    @classmethod
    def on_postgres(cls, pg: PostgresServer, workdir: Path, workers: int, threads: int = 4) -> KubescimTarget:
        """kubescim on a fresh database ``kubescim`` of ``pg``."""
        return cls(pg.create_database("kubescim"), workdir, workers, threads)

    def _wait_ready(self, server: Server, base_url: str) -> None:
        """Wait for /readyz (the ConfigMap cache listed) and then for the directory's endpoint."""
        _ready_or_stop(server, f"{base_url}/readyz")
        _ready_or_stop(
            server,
            f"{base_url}{self.prefix}/ServiceProviderConfig",
            {"Authorization": f"Bearer {self.token}"},
        )

    def create_directory(self, name: str) -> tuple[str, str]:
        """Create another directory; return its base path and its token."""
        created = json.loads(self._cli("directories", "create", name, "-o", "json"))
        path = urlparse(str(created.get("endpoint", ""))).path.rstrip("/")
        return path or f"/scim/v2/{name}", str(created["token"])

    def another_server(self, name: str, serve_args: list[str]) -> tuple[str, Server]:
        """A second ``serve`` process on the same database and directory, with other options.

        Returns its base URL and the server (the caller stops it).
        """
        port = free_port()
        argv = [sys.executable, "-m", "scim_server.cli", "serve", "--bind", f"127.0.0.1:{port}", *serve_args]
        server = Server(name, argv, child_env(self.env), self.workdir / f"{name}.log")
        base_url = f"http://127.0.0.1:{port}"
        self._wait_ready(server, base_url)
        return base_url, server

    def _cli(self, *args: str) -> str:
        proc = subprocess.run(
            [sys.executable, "-m", "scim_server.cli", *args],
            cwd=REPO,
            env=child_env(self.env),
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"kubescim {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc.stdout

    def load_phase(self, plan: SeedPlan) -> Seeded:
        for users in plan.users:
            if users.name in self.stored.users:
                continue
            if users.need_ids:
                self.stored.users[users.name] = self.seeder.users(users)
            else:
                self.seeder.bulk_users(users, loadgen.run)
                self.stored.users[users.name] = []
        for groups in plan.groups:
            if groups.name not in self.stored.groups:
                members = self.stored.users[groups.members_from][: groups.members]
                self.stored.groups[groups.name] = self.seeder.groups(groups, members)
        url = self.env["KUBESCIM_DATABASE_URL"]
        if url.startswith(("postgresql://", "postgres://")):
            # Measure the steady state: fresh statistics, and no autovacuum woken by the
            # seeding halfway through a scenario.
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("VACUUM (ANALYZE)")
        return self.stored

    def stop(self) -> None:
        self.server.stop()
