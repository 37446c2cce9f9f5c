"""How long until N ScimDirectories applied at once are all Ready (target: 1,000 in <= 60 s).

Starts the test suite's real control plane (kube-apiserver + etcd + controller-manager,
built by ``hack/controlplane/build.sh``), runs the operator as its own process the way
a Deployment would (``python -m scim_operator.main``, production settings), creates one
Organization and N ScimDirectories with the given concurrency, and polls the list until
every directory reports Ready, printing progress to stderr and the figures to stdout.

    python -m benchmarks.directories_ready                 # 1,000 directories
    python -m benchmarks.directories_ready --count 200     # a quicker look
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from kubernetes import client

from scim_operator.timing import parse_summary
from tests.support.controlplane import ControlPlane, locate_binaries
from tests.support.postgres import free_port

GROUP, VERSION = "kubescim.io", "v1alpha1"
TARGET_SECONDS = 60.0
SHUTDOWN_SECONDS = 30.0


def ready_count(custom: client.CustomObjectsApi, namespace: str) -> int:
    items = custom.list_namespaced_custom_object(GROUP, VERSION, namespace, "scimdirectories")["items"]
    return sum(
        1
        for item in items
        for cond in (item.get("status") or {}).get("conditions") or []
        if cond["type"] == "Ready" and cond["status"] == "True"
    )


def reference_seconds(api: client.ApiClient, count: int, concurrency: int) -> float:
    """The same run's floor: how long this API server takes to accept the writes the
    operator makes for ``count`` directories (a Secret, an ExternalName Service, an
    Ingress and an Event each), sent by a client that does nothing else, with the
    operator's parallelism. Reconciling cannot be faster than this."""
    core, net = client.CoreV1Api(api), client.NetworkingV1Api(api)
    namespace = "bench-reference"
    core.create_namespace({"metadata": {"name": namespace}})

    def writes(i: int) -> None:
        name = f"ref-{i:05d}"
        meta = {"name": name, "labels": {"app.kubernetes.io/managed-by": "bench"}}
        core.create_namespaced_secret(namespace, {"metadata": meta, "data": {"token": "dG9rZW4="}})
        service = {"type": "ExternalName", "externalName": "server.example", "ports": [{"port": 8080}]}
        core.create_namespaced_service(namespace, {"metadata": meta, "spec": service})
        path = {
            "path": f"/scim/v2/{name}",
            "pathType": "Prefix",
            "backend": {"service": {"name": name, "port": {"number": 8080}}},
        }
        rule = {"host": "scim.bench.example", "http": {"paths": [path]}}
        net.create_namespaced_ingress(namespace, {"metadata": meta, "spec": {"rules": [rule]}})
        event = {
            "metadata": {"generateName": f"{name}."},
            "involvedObject": {"kind": "Secret", "name": name, "namespace": namespace},
            "reason": "Bench",
            "message": "reference write",
            "type": "Normal",
        }
        core.create_namespaced_event(namespace, event)

    started = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(writes, range(count)))
    return round(time.monotonic() - started, 1)


def stop_operator(operator: subprocess.Popen[bytes]) -> float | None:
    """SIGTERM, as a Deployment does; the seconds until exit, or None after SHUTDOWN_SECONDS
    (then SIGABRT, so faulthandler writes every thread's stack to the log)."""
    started = time.monotonic()
    os.killpg(operator.pid, signal.SIGTERM)
    try:
        operator.wait(SHUTDOWN_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(operator.pid, signal.SIGABRT)
        operator.wait()
        return None
    return round(time.monotonic() - started, 2)


def start_operator(plane: ControlPlane, workdir: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "KUBECONFIG": str(plane.kubeconfig),
        "KUBESCIM_DATABASE_URL": f"sqlite:///{workdir / 'kubescim.db'}",
        "KUBESCIM_OPERATOR_DEFAULT_HOST": "scim.bench.example",
    }
    log = open(workdir / "operator.log", "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [
            sys.executable,
            "-X",
            "faulthandler",  # SIGABRT on a hung shutdown dumps every thread into the log
            "-m",
            "scim_operator.main",
            "--standalone",
            "--liveness",
            f"http://127.0.0.1:{free_port()}/healthz",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def time_split(timing: dict[str, dict[str, float]]) -> str:
    """Where the operator's threads spent their time, from its log's timing line."""
    if not timing:
        return "operator timing: no summary line in its log (it did not stop cleanly)"

    def seconds(bucket: str) -> float:
        return float(timing.get(bucket, {}).get("seconds", 0.0))

    api = seconds("api_write") + seconds("api_read")
    return (
        f"operator time, thread-seconds over its {int(timing.get('working', {}).get('count', 0))} "
        f"pieces of work: API writes {seconds('api_write'):.1f} s, API reads {seconds('api_read'):.1f} s, "
        f"other reconcile work {max(0.0, seconds('working') - api):.1f} s, "
        f"waiting for a reconcile thread {seconds('waiting'):.1f} s"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16, help="parallel create requests")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("-o", "--output", choices=["text", "json"], default="text")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="kubescim-bench-dirs-"))
    plane = ControlPlane(locate_binaries())
    print("starting control plane...", file=sys.stderr)
    plane.start()
    operator: subprocess.Popen[bytes] | None = None
    try:
        with plane.api_client() as api:
            core, custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
            namespace = "bench"
            core.create_namespace({"metadata": {"name": namespace}})
            operator = start_operator(plane, workdir)
            custom.create_namespaced_custom_object(
                GROUP,
                VERSION,
                namespace,
                "organizations",
                {
                    "apiVersion": f"{GROUP}/{VERSION}",
                    "kind": "Organization",
                    "metadata": {"name": "acme"},
                    "spec": {"displayName": "Acme"},
                },
            )

            def create(i: int) -> None:
                body: dict[str, Any] = {
                    "apiVersion": f"{GROUP}/{VERSION}",
                    "kind": "ScimDirectory",
                    "metadata": {"name": f"dir-{i:05d}"},
                    "spec": {"organizationRef": {"name": "acme"}, "provider": "okta"},
                }
                custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "scimdirectories", body)

            started = time.monotonic()
            with ThreadPoolExecutor(args.concurrency) as pool:
                list(pool.map(create, range(args.count)))
            applied = time.monotonic() - started
            print(f"applied {args.count} ScimDirectories in {applied:.1f} s", file=sys.stderr)
            ready, last_report = 0, 0.0
            while ready < args.count:
                if time.monotonic() - started > args.timeout:
                    break
                time.sleep(0.5)
                ready = ready_count(custom, namespace)
                if time.monotonic() - last_report >= 5:
                    last_report = time.monotonic()
                    print(
                        f"  {time.monotonic() - started:6.1f} s: {ready}/{args.count} Ready", file=sys.stderr
                    )
            elapsed = time.monotonic() - started
        shutdown = stop_operator(operator)
        operator = None
        # After the operator stopped: its watches would otherwise see these objects too.
        print(f"reference: the operator's writes for {args.count} directories...", file=sys.stderr)
        with plane.api_client() as api:
            reference = reference_seconds(api, args.count, concurrency=32)
    finally:
        if operator is not None:
            stop_operator(operator)
        plane.stop()
    log_text = (workdir / "operator.log").read_text(errors="replace")
    timing = {
        k: {"count": b.count, "seconds": round(b.seconds, 1)} for k, b in parse_summary(log_text).items()
    }
    result = {
        "operator_timing": timing,
        "directories": args.count,
        "ready": ready,
        "apply_seconds": round(applied, 1),
        "all_ready_seconds": round(elapsed, 1),
        "target_seconds": TARGET_SECONDS,
        "shutdown_seconds": shutdown,
        "reference_seconds": reference,
        "pass": ready == args.count and elapsed <= TARGET_SECONDS and shutdown is not None,
        "operator_log": str(workdir / "operator.log"),
    }
    if args.output == "json":
        print(json.dumps(result, indent=2))
    else:
        verdict = "PASS" if result["pass"] else "FAIL"
        print(
            f"{ready}/{args.count} ScimDirectories Ready {elapsed:.1f} s after the first apply "
            f"(applying took {applied:.1f} s); target <= {TARGET_SECONDS:.0f} s: {verdict}"
        )
        print(
            f"same-run reference: the API server accepts the operator's writes for {args.count} "
            f"directories in {reference:.1f} s when a client does nothing else "
            f"(all Ready took {elapsed / reference:.1f}x that)"
        )
        print(time_split(timing))
        print(
            f"operator exited {shutdown:.1f} s after SIGTERM"
            if shutdown is not None
            else f"operator did not exit within {SHUTDOWN_SECONDS:.0f} s of SIGTERM (stacks in its log)"
        )
    return 0 if result["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
