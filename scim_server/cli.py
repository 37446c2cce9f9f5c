"""The ``kubescim`` command line.

Follows kubectl/helm conventions: subcommands, ``-o json|yaml`` for machine-readable
output, one-line errors on stderr, exit code 0 on success, 1 on failure, 2 on usage.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from . import __version__
from .config import Settings
from .crd.durations import parse_duration
from .crd.spec import validate_directory_id
from .tokens.local import LocalTokenRegistry
from .tokens.organizations import LocalOrganizationRegistry

if TYPE_CHECKING:
    from .storage import Storage


class CliError(Exception):
    """A failure to report as one line on stderr with exit code 1."""


_DEFAULT_BASE_URL = "http://127.0.0.1:8080"


def _settings(args: argparse.Namespace) -> Settings:
    """The environment's settings, with the flags given on the command line winning."""
    overrides: dict[str, Any] = {}
    if getattr(args, "state_dir", None):
        overrides["state_dir"] = Path(args.state_dir)
    if getattr(args, "database_url", None):
        overrides["database_url"] = args.database_url
    if getattr(args, "base_url", None):
        overrides["public_url"] = args.base_url
    return Settings(**overrides)


def _emit(data: Any, output: str, text: str) -> None:
    if output == "json":
        print(json.dumps(data, indent=2))
    elif output == "yaml":
        print(yaml.safe_dump(data, sort_keys=False), end="")
    else:
        print(text)


def _endpoint(settings: Settings, name: str, fallback: str) -> str:
    base = (settings.public_url or fallback).rstrip("/")
    return f"{base}/scim/v2/{name}"


def _parse_duration(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise CliError(str(exc)) from None


# -- commands ---------------------------------------------------------------------------


def cmd_directories_create(args: argparse.Namespace) -> int:
    settings = _settings(args)
    name = _directory_name(args.name)
    registry = LocalTokenRegistry(settings.state_dir, settings.tokens_file)
    if registry.has(name) and not args.new_token:
        raise CliError(f"directory {name!r} already exists (use 'kubescim tokens rotate {name}')")
    token = registry.issue(name)
    _activate(settings, name)
    if args.organization:
        _attach(settings, args.organization, name)
    endpoint = _endpoint(settings, name, _DEFAULT_BASE_URL)
    data = {"name": name, "endpoint": endpoint, "token": token}
    _emit(data, args.output, f"directory: {name}\nendpoint:  {endpoint}\ntoken:     {token}")
    return 0


def cmd_directories_list(args: argparse.Namespace) -> int:
    settings = _settings(args)
    names = LocalTokenRegistry(settings.state_dir, settings.tokens_file).directories()
    rows = [{"name": n, "endpoint": _endpoint(settings, n, _DEFAULT_BASE_URL)} for n in names]
    text = "\n".join(["NAME\tENDPOINT", *(f"{r['name']}\t{r['endpoint']}" for r in rows)])
    _emit(rows, args.output, text)
    return 0


def cmd_directories_delete(args: argparse.Namespace) -> int:
    settings = _settings(args)
    name = _directory_name(args.name)
    registry = LocalTokenRegistry(settings.state_dir, settings.tokens_file)
    if not registry.revoke(name):
        raise CliError(f"directory {name!r} not found")
    if not args.keep_data:
        from .storage import open_storage

        storage = open_storage(settings.effective_database_url, pool_size=1)
        try:
            storage.delete_directory(name)
        finally:
            storage.close()
    print(f"directory {name!r} deleted" + (" (data kept)" if args.keep_data else ""))
    return 0


@contextmanager
def _directory_store(args: argparse.Namespace) -> Iterator[tuple[str, Storage]]:
    """The directory name and the configured store of an export or import; their
    failures (a bad line, a refused write, an unreadable file) become one-line errors."""
    from .transfer.format import LineError
    from .transfer.runner import TransferError

    name = _directory_name(args.name)
    storage = _open_storage(_settings(args))
    try:
        yield name, storage
    except (LineError, TransferError) as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"{exc.filename or 'input'}: {exc.strerror or exc}") from None
    finally:
        storage.close()


def _activate(settings: Settings, name: str) -> None:
    """Record ``dsync.activated`` for a new directory (where the backend keeps events)."""
    from .storage import open_storage

    storage = open_storage(settings.effective_database_url, pool_size=1)
    try:
        storage.activate_directory(name)
    finally:
        storage.close()


def cmd_directories_export(args: argparse.Namespace) -> int:
    from .transfer.runner import export_directory
    from .transfer.streams import atomic_file, stdout_utf8

    generator = f"kubescim {__version__}"
    to_stdout = args.filename in (None, "-")
    with _directory_store(args) as (name, storage):
        if to_stdout:
            header = export_directory(storage, name, stdout_utf8(), generator=generator)
            sys.stdout.flush()
        else:
            with atomic_file(Path(args.filename)) as out:
                header = export_directory(storage, name, out.write, generator=generator)
    where = "" if to_stdout else f" to {args.filename}"
    print(f"exported {header.users} users and {header.groups} groups of {name!r}{where}", file=sys.stderr)
    return 0


def cmd_directories_import(args: argparse.Namespace) -> int:
    from .transfer.runner import existing, import_plan, read_export
    from .transfer.streams import Progress, input_lines

    with _directory_store(args) as (name, storage):
        stats = storage.stats(name)
        if stats.users + stats.groups and not args.merge:
            raise CliError(
                f"directory {name!r} already holds {stats.users} users and {stats.groups} groups: "
                "import into an empty directory, or pass --merge to add to it"
            )
        found = existing(storage, name) if stats.users + stats.groups else None
        with input_lines(args.filename) as lines:
            plan = read_export(lines, found)
        summary = {
            "directory": name,
            "source": plan.header.directory,
            "users": len(plan.users),
            "groups": len(plan.groups),
            "dryRun": args.dry_run,
        }
        if not args.dry_run:
            started = time.monotonic()
            import_plan(storage, name, plan, Progress(len(plan.users) + len(plan.groups), started))
            summary["seconds"] = round(time.monotonic() - started, 3)
    verb = "would import" if args.dry_run else "imported"
    text = f"{verb} {summary['users']} users and {summary['groups']} groups into {name!r}"
    _emit(summary, args.output, text + (f" in {summary['seconds']} s" if "seconds" in summary else ""))
    return 0


def _attach(settings: Settings, organization: str, directory: str) -> None:
    try:
        LocalOrganizationRegistry(settings.state_dir).attach(organization, directory)
    except KeyError:
        raise CliError(f"organization {organization!r} not found") from None
    except ValueError as exc:
        raise CliError(str(exc)) from None


def cmd_organizations_create(args: argparse.Namespace) -> int:
    settings = _settings(args)
    try:
        key = LocalOrganizationRegistry(settings.state_dir).create(args.name, args.directory or [])
    except ValueError as exc:
        raise CliError(str(exc)) from None
    data = {"name": args.name, "directories": sorted(set(args.directory or [])), "apiKey": key}
    _emit(data, args.output, f"organization: {args.name}\napi key:      {key}")
    return 0


def cmd_organizations_list(args: argparse.Namespace) -> int:
    settings = _settings(args)
    orgs = LocalOrganizationRegistry(settings.state_dir).organizations()
    rows = [{"name": n, "directories": d} for n, d in orgs.items()]
    text = "\n".join(["NAME\tDIRECTORIES", *(f"{r['name']}\t{','.join(r['directories'])}" for r in rows)])
    _emit(rows, args.output, text)
    return 0


def cmd_organizations_attach(args: argparse.Namespace) -> int:
    settings = _settings(args)
    _attach(settings, args.name, _directory_name(args.directory))
    print(f"directory {args.directory!r} belongs to organization {args.name!r}")
    return 0


def cmd_organizations_rotate_key(args: argparse.Namespace) -> int:
    settings = _settings(args)
    grace = _parse_duration(args.grace)
    try:
        key = LocalOrganizationRegistry(settings.state_dir).rotate(args.name, grace)
    except KeyError:
        raise CliError(f"organization {args.name!r} not found") from None
    data = {"name": args.name, "apiKey": key, "previousKeysValidFor": f"{int(grace.total_seconds())}s"}
    _emit(data, args.output, f"api key: {key}\nprevious keys stay valid for {args.grace}")
    return 0


def cmd_organizations_delete(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if not LocalOrganizationRegistry(settings.state_dir).delete(args.name):
        raise CliError(f"organization {args.name!r} not found")
    print(f"organization {args.name!r} deleted (its API keys no longer work)")
    return 0


def cmd_organizations_add_webhook(args: argparse.Namespace) -> int:
    settings = _settings(args)
    try:
        secret = LocalOrganizationRegistry(settings.state_dir).add_webhook(
            args.name, args.webhook, args.url, args.event or [], args.secret
        )
    except KeyError:
        raise CliError(f"organization {args.name!r} not found") from None
    except ValueError as exc:
        raise CliError(str(exc)) from None
    data = {"organization": args.name, "name": args.webhook, "url": args.url, "signingSecret": secret}
    _emit(data, args.output, f"webhook: {args.name}/{args.webhook} -> {args.url}\nsigning secret: {secret}")
    return 0


def cmd_organizations_remove_webhook(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if not LocalOrganizationRegistry(settings.state_dir).remove_webhook(args.name, args.webhook):
        raise CliError(f"webhook {args.name}/{args.webhook} not found")
    print(f"webhook {args.name}/{args.webhook} removed")
    return 0


_NO_DELIVERY_STATE = (
    "webhooks and 'kubescim events prune' need SQLite or PostgreSQL storage: configmaps:// and "
    "secrets:// keep no delivery state, and their events are a bounded in-memory log in each "
    "server process (trimmed there by age and count); use PostgreSQL ('kubescim directories "
    "export' and 'import' move a directory)"
)


def _open_delivery_storage(settings: Settings) -> Any:
    from .storage import open_storage

    url = settings.effective_database_url
    if url.startswith(("configmaps://", "secrets://")):
        raise CliError(_NO_DELIVERY_STATE)
    storage = open_storage(url, pool_size=settings.webhook_concurrency + 1)
    if not hasattr(storage, "claim_streams"):
        storage.close()
        raise CliError(_NO_DELIVERY_STATE)
    return storage


def cmd_webhooks_run(args: argparse.Namespace) -> int:
    import signal
    import threading

    from . import logs
    from .webhooks.worker import Worker

    settings = _settings(args)
    logs.configure(settings.log_format, settings.log_level)  # retries, dead letters: INFO and up
    storage = _open_delivery_storage(settings)
    if settings.webhook_metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(settings.webhook_metrics_port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # The source of the webhooks also gives the directories' policies: on Kubernetes from
    # the same listing (no API key Secrets read), so the worker needs only what it lists.
    source = _endpoint_source(settings, LocalOrganizationRegistry(settings.state_dir))
    worker = Worker(storage, source, settings, policies=source)
    try:
        if args.once:
            worker.refresh()
            while worker.tick():
                pass
        else:
            worker.run(stop)
    except KeyboardInterrupt:
        pass
    finally:
        storage.close()
    return 0


def _endpoint_source(settings: Settings, registry: LocalOrganizationRegistry) -> Any:
    if settings.token_source == "kubernetes":
        from .crd.client import kube_configuration
        from .webhooks.kubernetes import KubernetesEndpointSource

        return KubernetesEndpointSource(kube_configuration(), settings.token_namespace)
    return registry


def cmd_webhooks_status(args: argparse.Namespace) -> int:
    settings = _settings(args)
    storage = _open_delivery_storage(settings)
    registry = LocalOrganizationRegistry(settings.state_dir)
    try:
        rows = []
        for endpoint in _endpoint_source(settings, registry).endpoints():
            for state in storage.stream_states(endpoint.id):
                rows.append(
                    {
                        "webhook": endpoint.id,
                        "directory": state.directory,
                        "delivered": state.seq,
                        "backlog": state.backlog,
                        "lastError": state.last_error,
                        "deadLetters": state.dead_letters,
                    }
                )
    finally:
        storage.close()
    lines = ["WEBHOOK\tDIRECTORY\tDELIVERED\tBACKLOG\tDEAD\tLAST ERROR"]
    lines += [
        f"{r['webhook']}\t{r['directory']}\t{r['delivered']}\t{r['backlog']}\t{r['deadLetters']}\t"
        f"{r['lastError'] or ''}"
        for r in rows
    ]
    _emit(rows, args.output, "\n".join(lines))
    return 0


def cmd_webhooks_redeliver(args: argparse.Namespace) -> int:
    settings = _settings(args)
    storage = _open_delivery_storage(settings)
    try:
        if not storage.rewind(args.webhook, args.directory, args.after):
            raise CliError(
                f"no delivery stream for webhook {args.webhook!r} and directory {args.directory!r}"
            )
    finally:
        storage.close()
    print(f"events of {args.directory} after number {args.after} will be delivered again to {args.webhook}")
    return 0


def cmd_events_prune(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    settings = _settings(args)
    storage = _open_delivery_storage(settings)
    try:
        cutoff = datetime.now(UTC) - timedelta(days=settings.event_retention_days)
        count = storage.prune_events(cutoff)
    finally:
        storage.close()
    print(f"deleted {count} events older than {settings.event_retention_days} days")
    return 0


def cmd_tokens_rotate(args: argparse.Namespace) -> int:
    settings = _settings(args)
    name = _directory_name(args.name)
    registry = LocalTokenRegistry(settings.state_dir, settings.tokens_file)
    if not registry.has(name):
        raise CliError(f"directory {name!r} not found")
    grace = _parse_duration(args.grace)
    token = registry.issue(name, grace=grace)
    data = {
        "name": name,
        "token": token,
        "previousTokensValidFor": f"{int(grace.total_seconds())}s",
    }
    _emit(data, args.output, f"token: {token}\nprevious tokens stay valid for {args.grace}")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = _settings(args)
    url = settings.effective_database_url
    if not url.startswith(("postgresql://", "postgres://")):
        print("nothing to migrate: the SQLite store applies its migrations when it opens the file")
        return 0
    from .storage.postgres import migrate

    applied = migrate(url)
    print(f"applied migrations: {', '.join(map(str, applied))}" if applied else "schema is up to date")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.manifests:
        settings = settings.model_copy(update={"manifests_dir": Path(args.manifests)})
        _announce_manifests(settings, args.bind, args.output)
    _check_storage(settings)
    _run_gunicorn(settings, args.bind, args.workers, args.threads, args.timeout)
    return 0


def cmd_quickstart(args: argparse.Namespace) -> int:
    settings = _settings(args)
    name = _directory_name(args.directory)
    registry = LocalTokenRegistry(settings.state_dir, settings.tokens_file)
    token = registry.issue(name)
    endpoint = _endpoint(settings, name, f"http://{_display_host(args.host)}:{args.port}")
    _check_storage(settings)
    data = {"name": name, "endpoint": endpoint, "token": token}
    _emit(
        data,
        args.output,
        "kubescim is serving a SCIM 2.0 directory on the embedded SQLite store\n"
        f"  state:    {settings.state_dir}\n"
        f"  endpoint: {endpoint}\n"
        f"  token:    {token}\n"
        "Paste both into your identity provider, or try:\n"
        f"  curl -H 'Authorization: Bearer {token}' {endpoint}/Users\n"
        "Press Ctrl-C to stop.",
    )
    sys.stdout.flush()
    _run_gunicorn(settings, f"{args.host}:{args.port}", args.workers, 4, 30)
    return 0


def _announce_manifests(settings: Settings, bind: str, output: str) -> None:
    """Issue tokens to newly declared directories and print every endpoint."""
    from .tokens.manifests import ManifestError, ensure_tokens, load_directories

    assert settings.manifests_dir is not None
    try:
        declared = load_directories(settings.manifests_dir)
    except ManifestError as exc:
        raise CliError(str(exc)) from None
    if not declared:
        raise CliError(f"no ScimDirectory manifests in {settings.manifests_dir}")
    registry = LocalTokenRegistry(settings.state_dir, settings.tokens_file)
    issued = ensure_tokens(declared, registry)
    host, _, port = bind.rpartition(":")
    fallback = f"http://{_display_host(host)}:{port}"
    rows = [
        {
            "namespace": d.namespace,
            "name": d.name,
            "directoryId": d.id,
            "endpoint": _endpoint(settings, d.id, fallback),
            "suspended": d.suspended,
            "token": issued.get(d.id),
        }
        for d in declared
    ]
    lines = ["NAMESPACE\tNAME\tENDPOINT\tTOKEN"]
    for r in rows:
        token = r["token"] or "(issued earlier; rotate with 'kubescim tokens rotate')"
        lines.append(f"{r['namespace']}\t{r['name']}\t{r['endpoint']}\t{token}")
    _emit(rows, output, "\n".join(lines))
    sys.stdout.flush()


def _display_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104


def _directory_name(name: str) -> str:
    try:
        return validate_directory_id(name)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _open_storage(settings: Settings) -> Storage:
    """Open the configured store. Raises CliError, credentials redacted, when it cannot."""
    from .storage import open_storage

    try:
        return open_storage(settings.effective_database_url, pool_size=1)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    except Exception as exc:
        raise CliError(f"cannot open storage: {type(exc).__name__}: {_redact(str(exc), settings)}") from None


def _check_storage(settings: Settings) -> None:
    """Open the store once before forking workers, so a bad URL fails fast and clearly."""
    _open_storage(settings).close()


def _redact(message: str, settings: Settings) -> str:
    url = settings.database_url or ""
    if "@" in url and "://" in url:
        credentials = url.split("://", 1)[1].rsplit("@", 1)[0]
        message = message.replace(credentials, "***")
    return message.splitlines()[0] if message else message


def _remove_if_master(master_pid: int, path: str) -> None:
    """Delete the metrics folder when the master exits (forked workers inherit atexit)."""
    if os.getpid() == master_pid:
        shutil.rmtree(path, ignore_errors=True)


def _run_gunicorn(settings: Settings, bind: str, workers: int, threads: int, timeout: int) -> None:
    from gunicorn.app.base import BaseApplication

    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        metrics_dir = tempfile.mkdtemp(prefix="kubescim-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        atexit.register(_remove_if_master, os.getpid(), metrics_dir)

    def child_exit(_server: Any, worker: Any) -> None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]

    options = {
        "bind": bind,
        "workers": workers,
        "threads": threads,
        "timeout": timeout,
        "worker_class": "gthread" if threads > 1 else "sync",
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "child_exit": child_exit,
        "worker_tmp_dir": "/dev/shm" if os.path.isdir("/dev/shm") else None,  # noqa: S108
        "forwarded_allow_ips": "*" if settings.trust_forwarded else "127.0.0.1",
    }

    class Application(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in options.items():
                if value is not None:
                    self.cfg.set(key, value)

        def load(self) -> Any:
            from .app import create_app

            return create_app(settings)

    Application().run()


# -- parser -------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kubescim", description="Self-hosted SCIM 2.0 directories: server and local tooling."
    )
    parser.add_argument("--version", action="version", version=f"kubescim {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--state-dir", help="local state (SQLite store, tokens); env KUBESCIM_STATE_DIR")
    common.add_argument(
        "--database-url", help="sqlite:///PATH or postgresql://...; env KUBESCIM_DATABASE_URL"
    )
    out = argparse.ArgumentParser(add_help=False)
    out.add_argument("-o", "--output", choices=["text", "json", "yaml"], default="text")
    base = argparse.ArgumentParser(add_help=False)
    base.add_argument(
        "--base-url",
        help="public URL of the server, used in printed endpoints "
        f"(default: env KUBESCIM_PUBLIC_URL, else {_DEFAULT_BASE_URL})",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    quick = sub.add_parser(
        "quickstart",
        parents=[common, out],
        help="create a local directory, print its endpoint and a fresh token, serve it",
    )
    quick.add_argument("--directory", default="default")
    quick.add_argument("--host", default="127.0.0.1")
    quick.add_argument("--port", type=int, default=8080)
    quick.add_argument("--workers", type=int, default=2)
    quick.set_defaults(func=cmd_quickstart)

    serve = sub.add_parser("serve", parents=[common], help="run the SCIM server under gunicorn")
    serve.add_argument("--bind", default="0.0.0.0:8080")
    serve.add_argument("--workers", type=int, default=2)
    serve.add_argument(
        "--threads",
        type=int,
        default=4,
        help="threads per worker (gthread, keeps connections open); 1 = sync workers (default 4)",
    )
    serve.add_argument("--timeout", type=int, default=30)
    serve.add_argument(
        "--manifests", metavar="DIR", help="serve the ScimDirectories declared in DIR's YAML files"
    )
    serve.add_argument("-o", "--output", choices=["text", "json", "yaml"], default="text")
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser("migrate", parents=[common], help="apply PostgreSQL schema migrations")
    migrate.set_defaults(func=cmd_migrate)

    dirs = sub.add_parser("directories", aliases=["directory", "dir"], help="manage local directories")
    dsub = dirs.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = dsub.add_parser(
        "create", parents=[common, out, base], help="create a directory and issue its token"
    )
    create.add_argument("name")
    create.add_argument("--new-token", action="store_true", help="issue another token if it exists")
    create.add_argument("--organization", help="the organization whose API keys may read the directory")
    create.set_defaults(func=cmd_directories_create)
    lst = dsub.add_parser("list", aliases=["ls"], parents=[common, out, base], help="list directories")
    lst.set_defaults(func=cmd_directories_list)
    delete = dsub.add_parser("delete", aliases=["rm"], parents=[common], help="revoke tokens, delete data")
    delete.add_argument("name")
    delete.add_argument("--keep-data", action="store_true")
    delete.set_defaults(func=cmd_directories_delete)
    export = dsub.add_parser(
        "export", parents=[common], help="write a directory's users and groups as NDJSON"
    )
    export.add_argument("name")
    export.add_argument("-f", "--filename", metavar="FILE", help="write to FILE (default: stdout)")
    export.set_defaults(func=cmd_directories_export)
    imp = dsub.add_parser(
        "import", parents=[common, out], help="restore an export into a directory (same ids and times)"
    )
    imp.add_argument("name")
    imp.add_argument("-f", "--filename", metavar="FILE", help="read FILE, or stdin for - (the default)")
    imp.add_argument(
        "--merge", action="store_true", help="add to a non-empty directory (ids and names must not clash)"
    )
    imp.add_argument("--dry-run", action="store_true", help="check the whole file, write nothing")
    imp.set_defaults(func=cmd_directories_import)

    orgs = sub.add_parser(
        "organizations", aliases=["organization", "org"], help="organizations and their directory-API keys"
    )
    osub = orgs.add_subparsers(dest="action", required=True, metavar="ACTION")
    ocreate = osub.add_parser(
        "create", parents=[common, out], help="create an organization, print its API key"
    )
    ocreate.add_argument("name")
    ocreate.add_argument("--directory", action="append", help="a directory it owns (repeatable)")
    ocreate.set_defaults(func=cmd_organizations_create)
    olist = osub.add_parser("list", aliases=["ls"], parents=[common, out], help="list organizations")
    olist.set_defaults(func=cmd_organizations_list)
    oattach = osub.add_parser("attach", parents=[common], help="add a directory to an organization")
    oattach.add_argument("name")
    oattach.add_argument("directory")
    oattach.set_defaults(func=cmd_organizations_attach)
    orotate = osub.add_parser(
        "rotate-key", parents=[common, out], help="issue a new API key; the old ones expire"
    )
    orotate.add_argument("name")
    orotate.add_argument("--grace", default="24h", help="how long previous keys stay valid (0 = now)")
    orotate.set_defaults(func=cmd_organizations_rotate_key)
    odelete = osub.add_parser("delete", aliases=["rm"], parents=[common], help="delete an organization")
    odelete.add_argument("name")
    odelete.set_defaults(func=cmd_organizations_delete)

    hook = osub.add_parser("add-webhook", parents=[common, out], help="declare a webhook, print its secret")
    hook.add_argument("name")
    hook.add_argument("webhook", help="the webhook's name (letters, digits, '-')")
    hook.add_argument("--url", required=True)
    hook.add_argument("--event", action="append", help="deliver only this event type (repeatable)")
    hook.add_argument("--secret", help="the signing secret (whsec_...); default: a new one")
    hook.set_defaults(func=cmd_organizations_add_webhook)
    unhook = osub.add_parser("remove-webhook", parents=[common], help="remove a webhook")
    unhook.add_argument("name")
    unhook.add_argument("webhook")
    unhook.set_defaults(func=cmd_organizations_remove_webhook)

    webhooks = sub.add_parser("webhooks", help="deliver change events to webhooks")
    wsub = webhooks.add_subparsers(dest="action", required=True, metavar="ACTION")
    wrun = wsub.add_parser("run", parents=[common], help="run a delivering worker (until SIGTERM)")
    wrun.add_argument("--once", action="store_true", help="deliver what is pending, then exit")
    wrun.set_defaults(func=cmd_webhooks_run)
    wstatus = wsub.add_parser(
        "status", parents=[common, out], help="delivery state per webhook and directory"
    )
    wstatus.set_defaults(func=cmd_webhooks_status)
    wredo = wsub.add_parser("redeliver", parents=[common], help="deliver a directory's events again")
    wredo.add_argument("webhook", help="<organization>/<webhook>")
    wredo.add_argument("directory")
    wredo.add_argument("--after", type=int, default=0, help="redeliver events numbered above this")
    wredo.set_defaults(func=cmd_webhooks_redeliver)

    events = sub.add_parser("events", help="the change event log")
    esub = events.add_subparsers(dest="action", required=True, metavar="ACTION")
    prune = esub.add_parser("prune", parents=[common], help="delete events older than the retention")
    prune.set_defaults(func=cmd_events_prune)

    tokens = sub.add_parser("tokens", help="manage bearer tokens")
    tsub = tokens.add_subparsers(dest="action", required=True, metavar="ACTION")
    rotate = tsub.add_parser("rotate", parents=[common, out], help="issue a new token; old ones expire")
    rotate.add_argument("name")
    rotate.add_argument("--grace", default="24h", help="how long previous tokens stay valid (0 = now)")
    rotate.set_defaults(func=cmd_tokens_rotate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
