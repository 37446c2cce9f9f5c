"""``kubescim-operator``: run the operator (active/standby through kopf peering)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import kopf

from .handlers import build_settings, make_reconciler, register
from .settings import OperatorSettings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kubescim-operator", description="Reconcile kubescim directories.")
    parser.add_argument("--namespace", "-n", action="append", default=[], help="watch only these namespaces")
    parser.add_argument("--standalone", action="store_true", help="no peering (single replica, development)")
    parser.add_argument("--liveness", default="http://0.0.0.0:8081/healthz", help="liveness probe endpoint")
    parser.add_argument("--verbose", "-v", action="store_true", help="log every handler run")
    parser.add_argument("--log-format", choices=["plain", "full", "json"], default="full")
    args = parser.parse_args(argv)
    kopf.configure(verbose=args.verbose, log_format=kopf.LogFormat[args.log_format.upper()])
    op = OperatorSettings()
    registry = kopf.OperatorRegistry()
    register(registry, op)
    kopf.run(
        registry=registry,
        settings=build_settings(op),
        memo=kopf.Memo(reconciler=make_reconciler(op)),
        standalone=args.standalone,
        peering_name=None if args.standalone else "kubescim",
        clusterwide=not args.namespace,
        namespaces=args.namespace,
        liveness_endpoint=args.liveness,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
