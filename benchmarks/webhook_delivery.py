"""Webhook delivery: throughput and end-to-end latency (SCIM write -> webhook received).

A real ``kubescim serve`` (gunicorn) takes SCIM writes from a few client threads, a real
``kubescim webhooks run`` worker delivers the events, and a receiver in this process
records when each arrives. Latency is from the start of the SCIM request that caused an
event to the receiver reading its delivery; throughput is events delivered per second
from the first delivery to the last.

    python -m benchmarks.webhook_delivery                # SQLite, 10,000 changes
    python -m benchmarks.webhook_delivery --postgres     # a throwaway PostgreSQL
    python -m benchmarks.webhook_delivery --changes 2000 --concurrency 8
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

from benchmarks.cpuwatch import CpuWatch, foreign_load
from benchmarks.servers import Server, child_env
from tests.support.postgres import free_port, running_postgres


class Receiver:
    """Records when each event arrives, by the username it carries."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.duplicates = 0
        self.lock = threading.Lock()

    def record(self, body: bytes) -> None:
        at = time.time()
        data = json.loads(body)["data"]
        key = data.get("username")
        if key is None:
            return
        with self.lock:
            if key in self.arrived:
                self.duplicates += 1
            else:
                self.arrived[key] = at


@contextlib.contextmanager
def receiving(receiver: Receiver) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            receiver.record(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "scim_server.cli", *args]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(
    database_url: str | None,
    changes: int,
    directories: int,
    concurrency: int,
    workdir: Path,
    drain: bool = False,
) -> dict[str, Any]:
    """One run; ``drain``: the worker is stopped while the changes are written, then
    started, so delivery throughput is measured on a backlog rather than capped by the
    write rate (latency then includes the wait and is not reported)."""
    from scim_server.tokens.local import LocalTokenRegistry
    from scim_server.tokens.organizations import LocalOrganizationRegistry

    state = workdir / "state"
    env = {"KUBESCIM_STATE_DIR": str(state), "KUBESCIM_WEBHOOK_CONCURRENCY": str(concurrency)}
    if database_url:
        env["KUBESCIM_DATABASE_URL"] = database_url
    names = [f"bench-{i}" for i in range(directories)]
    tokens = {d: LocalTokenRegistry(state).issue(d) for d in names}
    orgs = LocalOrganizationRegistry(state)
    orgs.create("bench", names)
    receiver = Receiver()
    started: dict[str, float] = {}
    with receiving(receiver) as url:
        orgs.add_webhook("bench", "app", url, ["dsync.user.created"])
        port = free_port()
        server = Server(
            "kubescim",
            _cli("serve", "--bind", f"127.0.0.1:{port}", "--workers", "2"),
            child_env(env),
            workdir / "serve.log",
        )
        worker: Server | None = None
        try:
            base = f"http://127.0.0.1:{port}"
            server.wait_http(f"{base}/healthz")
            worker = Server("worker", _cli("webhooks", "run"), child_env(env), workdir / "worker.log")
            time.sleep(2)  # the worker starts each stream at the latest event: let it start first
            watch = CpuWatch([server.proc.pid, worker.proc.pid])
            watch.start()

            def write(directory: str, count: int, offset: int) -> None:
                session = requests.Session()
                session.headers["Authorization"] = f"Bearer {tokens[directory]}"
                for i in range(count):
                    key = f"{directory}-u{offset + i}"
                    started[key] = time.time()
                    response = session.post(
                        f"{base}/scim/v2/{directory}/Users",
                        json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": key},
                        timeout=30,
                    )
                    response.raise_for_status()

            if drain:
                worker.stop()
            per = changes // len(names)
            writers = [threading.Thread(target=write, args=(d, per, 0)) for d in names]
            t0 = time.time()
            for t in writers:
                t.start()
            for t in writers:
                t.join()
            written = time.time()
            if drain:
                worker = Server("worker", _cli("webhooks", "run"), child_env(env), workdir / "worker2.log")
            deadline = time.time() + 600
            while len(receiver.arrived) < per * len(names) and time.time() < deadline:
                time.sleep(0.05)
            others = watch.stop()
        finally:
            if worker is not None:
                worker.stop()
            server.stop()
    latencies = [receiver.arrived[k] - started[k] for k in receiver.arrived if k in started]
    first, last = min(receiver.arrived.values()), max(receiver.arrived.values())
    return {
        "mode": "drain" if drain else "live",
        "backend": "postgresql" if database_url else "sqlite",
        "changes": per * len(names),
        "delivered": len(receiver.arrived),
        "duplicates": receiver.duplicates,
        "write_rate": per * len(names) / (written - t0),
        "delivery_rate": len(receiver.arrived) / max(last - first, 1e-9),
        "latency_p50_ms": 1000 * _percentile(latencies, 0.5),
        "latency_p99_ms": 1000 * _percentile(latencies, 0.99),
        "latency_mean_ms": 1000 * statistics.fmean(latencies),
        "other_cpu": others,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--changes", type=int, default=10_000)
    parser.add_argument("--directories", type=int, default=4, help="SCIM writers, one per directory")
    parser.add_argument("--concurrency", type=int, default=4, help="KUBESCIM_WEBHOOK_CONCURRENCY")
    parser.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL instead of SQLite")
    parser.add_argument(
        "--drain", action="store_true", help="write everything first, then deliver the backlog"
    )
    args = parser.parse_args()
    busy = foreign_load()
    print(f"machine busy before the run: {busy:.0%} of CPU used by other programs")
    with tempfile.TemporaryDirectory(prefix="kubescim-bench-") as tmp, contextlib.ExitStack() as stack:
        url = None
        if args.postgres:
            url = stack.enter_context(running_postgres()).create_database("bench")
        result = run(url, args.changes, args.directories, args.concurrency, Path(tmp), args.drain)
    print(
        f"{result['backend']} ({result['mode']}): {result['delivered']}/{result['changes']} delivered, "
        f"{result['duplicates']} duplicates\n"
        f"  SCIM writes       {result['write_rate']:8.0f} /s ({args.directories} writers)\n"
        f"  deliveries        {result['delivery_rate']:8.0f} /s (concurrency {args.concurrency})\n"
        f"  write -> received p50 {result['latency_p50_ms']:.0f} ms, p99 {result['latency_p99_ms']:.0f} ms, "
        f"mean {result['latency_mean_ms']:.0f} ms\n"
        f"  other programs used {result['other_cpu']:.0%} of the machine during the run"
    )
    print(json.dumps(result))
    return 0 if result["delivered"] == result["changes"] else 1


if __name__ == "__main__":
    sys.exit(main())
