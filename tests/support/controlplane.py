"""A real Kubernetes control plane for tests: etcd, kube-apiserver, kube-controller-manager.

Why: the operator, the ConfigMap backend and the token registry rely on what only a real
API server does (resourceVersion conflicts, selectors, schema validation, RBAC, garbage
collection). The binaries are built once per machine by ``hack/controlplane/build.sh``;
this module runs them on free loopback ports with certificates it generates, the way
controller-runtime's envtest does, plus the controller manager for garbage collection.

By hand: ``python -m tests.support.controlplane up`` (prints ``export KUBECONFIG=...``).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import ctypes
import datetime
import http.client
import ipaddress
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self, cast

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from kubernetes import client as k8s

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO_ROOT / "hack" / "controlplane" / "build.sh"
BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager")
BUILD_HINT = "run `bash hack/controlplane/build.sh` (a few minutes, once per machine)"

# What tests rely on; the node, volume and workload controllers have nothing to act on here.
DEFAULT_CONTROLLERS = (
    "garbage-collector-controller",
    "namespace-controller",
    "serviceaccount-controller",
    "serviceaccount-token-controller",
    "root-ca-certificate-publisher-controller",
    "clusterrole-aggregation-controller",
)


class ControlPlaneError(RuntimeError):
    """The control plane could not be located, started or used."""


def locate_binaries() -> Path:
    """Return the directory holding etcd, kube-apiserver and kube-controller-manager.

    ``$KUBESCIM_CONTROLPLANE_BIN`` wins; otherwise ask ``build.sh --locate`` for its cache.
    Raises ControlPlaneError, saying how to build them, when they are missing.
    """
    configured = os.environ.get("KUBESCIM_CONTROLPLANE_BIN")
    if configured:
        bin_dir = Path(configured)
        missing = [name for name in BINARIES if not os.access(bin_dir / name, os.X_OK)]
        if missing:
            raise ControlPlaneError(
                f"KUBESCIM_CONTROLPLANE_BIN={configured} lacks {', '.join(missing)}; "
                f"unset it and {BUILD_HINT}"
            )
        return bin_dir
    located = subprocess.run(
        ["bash", str(BUILD_SCRIPT), "--locate"], capture_output=True, text=True, check=False
    )
    if located.returncode != 0:
        raise ControlPlaneError(
            f"Kubernetes control-plane binaries are not built: {BUILD_HINT}. ({located.stderr.strip()})"
        )
    return Path(located.stdout.strip().splitlines()[-1])


def free_ports(count: int) -> list[int]:
    """Return ``count`` distinct loopback TCP ports that were free a moment ago."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL the child if the test process dies without tearing down."""
    if sys.platform == "linux":
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


_PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@dataclass(frozen=True)
class Pki:
    """The certificates and keys of one control plane, as PEM files in one directory.

    One CA signs the serving certificate (shared by the API server and the controller
    manager) and the client certificates; one RSA key signs ServiceAccount tokens.
    """

    ca_cert: Path
    serving_cert: Path
    serving_key: Path
    admin_cert: Path
    admin_key: Path
    controller_manager_cert: Path
    controller_manager_key: Path
    service_account_key: Path

    @classmethod
    def create(cls, directory: Path) -> Pki:
        """Generate everything into ``directory`` (created, mode 0700)."""
        directory.mkdir(mode=0o700, parents=True)
        pki = cls(
            *(
                directory / name
                for name in (
                    "ca.crt",
                    "serving.crt",
                    "serving.key",
                    "admin.crt",
                    "admin.key",
                    "kube-controller-manager.crt",
                    "kube-controller-manager.key",
                    "service-account.key",
                )
            )
        )
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = _certificate("kubescim-test-ca", [], ca_key.public_key(), ca_key, None, ca=True)
        _write_pem(pki.ca_cert, ca, None)
        serving_names: list[x509.GeneralName] = [
            x509.DNSName("localhost"),
            *(
                x509.DNSName(n)
                for n in (
                    "kubernetes",
                    "kubernetes.default",
                    "kubernetes.default.svc",
                    "kubernetes.default.svc.cluster.local",
                )
            ),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address("10.0.0.1")),
        ]
        for cert_path, key_path, common_name, groups, usage in (
            (pki.serving_cert, pki.serving_key, "kube-apiserver", [], serving_names),
            (pki.admin_cert, pki.admin_key, "kubescim-test-admin", ["system:masters"], None),
            (
                pki.controller_manager_cert,
                pki.controller_manager_key,
                "system:kube-controller-manager",
                [],
                None,
            ),
        ):
            key = ec.generate_private_key(ec.SECP256R1())
            cert = _certificate(common_name, groups, key.public_key(), ca_key, ca, san=usage)
            _write_pem(cert_path, cert, None)
            _write_pem(key_path, None, key)
        _write_pem(pki.service_account_key, None, rsa.generate_private_key(65537, 2048))
        return pki

    def client_context(self, cert: Path | None, key: Path | None) -> ssl.SSLContext:
        """A TLS client context trusting this CA, presenting ``cert`` if given."""
        context = ssl.create_default_context(cafile=str(self.ca_cert))
        if cert is not None:
            context.load_cert_chain(str(cert), str(key) if key else None)
        return context


def _certificate(
    common_name: str,
    organizations: list[str],
    public_key: Any,
    issuer_key: _PrivateKey,
    issuer: x509.Certificate | None,
    *,
    ca: bool = False,
    san: list[x509.GeneralName] | None = None,
) -> x509.Certificate:
    """A certificate valid from an hour ago for a year: a CA, a server (``san``) or a client."""
    subject = x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in organizations]
        + [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    )
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject if issuer else subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
        usage = ExtendedKeyUsageOID.SERVER_AUTH if san else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _write_pem(path: Path, cert: x509.Certificate | None, key: _PrivateKey | None) -> None:
    if cert is not None:
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    if key is not None:
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        path.chmod(0o600)


@dataclass
class _Process:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    log_file: IO[bytes]

    def log_tail(self, lines: int = 40) -> str:
        self.log_file.flush()
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self, timeout: float) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        self.log_file.close()


@dataclass
class ControlPlane:
    """etcd + kube-apiserver (RBAC) + kube-controller-manager on loopback ports.

    ``start()`` returns once the API server is ready and the CRDs from ``crds_dir`` are
    Established; ``stop()`` kills the processes (by process group) and removes the
    working directory. Admin access is a client certificate in ``system:masters``.
    """

    bin_dir: Path
    crds_dir: Path | None = REPO_ROOT / "crds"
    controllers: Sequence[str] = DEFAULT_CONTROLLERS
    startup_timeout: float = 90.0
    keep_workdir: bool = False
    workdir: Path = field(init=False, default=Path())
    server: str = field(init=False, default="")
    _etcd_url: str = field(init=False, default="")
    _ports: list[int] = field(init=False, default_factory=list)
    _pki: Pki = field(init=False)
    _processes: list[_Process] = field(init=False, default_factory=list)

    @property
    def kubeconfig(self) -> Path:
        """The admin kubeconfig (context ``kubescim-test``)."""
        return self.workdir / "admin.kubeconfig"

    @property
    def etcd_url(self) -> str:
        """etcd's client URL (plain HTTP on loopback: its ``/metrics`` for benchmarks)."""
        return self._etcd_url

    @property
    def pids(self) -> list[int]:
        """The process ids of etcd, the API server and the controller manager (while running)."""
        return [p.popen.pid for p in self._processes]

    @property
    def ca_file(self) -> Path:
        """The CA that signs the API server's serving certificate."""
        return self._pki.ca_cert

    def start(self) -> None:
        """Start the processes and wait for them; raises ControlPlaneError on failure."""
        self.workdir = Path(tempfile.mkdtemp(prefix="kubescim-controlplane-"))
        try:
            self._pki = Pki.create(self.workdir / "pki")
            self._ports = free_ports(4)
            self._start_etcd()
            self._start_apiserver()
            self._start_controller_manager()
            if self.crds_dir is not None and self.crds_dir.is_dir():
                self.install_crds(sorted(self.crds_dir.glob("*.yaml")))
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop every process (newest first) and remove the working directory."""
        while self._processes:
            self._processes.pop().stop(timeout=15)
        if self.workdir != Path() and not self.keep_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- clients ---------------------------------------------------------------------------

    def api_client(self, token: str | None = None) -> k8s.ApiClient:
        """An ApiClient as admin, or as the bearer of ``token``; close it when done."""
        config = k8s.Configuration()
        config.host = self.server
        config.ssl_ca_cert = str(self._pki.ca_cert)
        if token is None:
            config.cert_file = str(self._pki.admin_cert)
            config.key_file = str(self._pki.admin_key)
        else:
            config.api_key = {"authorization": f"Bearer {token}"}
        return k8s.ApiClient(config)

    def mint_token(self, namespace: str, service_account: str, expiration_seconds: int = 3600) -> str:
        """Return a bound token for the ServiceAccount (TokenRequest API).

        Raises kubernetes.client.ApiException when the ServiceAccount does not exist.
        """
        request = k8s.AuthenticationV1TokenRequest(
            spec=k8s.V1TokenRequestSpec(audiences=[], expiration_seconds=expiration_seconds)
        )
        with self.api_client() as api:
            response = k8s.CoreV1Api(api).create_namespaced_service_account_token(
                service_account, namespace, request
            )
        if response.status is None or not response.status.token:
            raise ControlPlaneError(f"TokenRequest for {namespace}/{service_account} returned no token")
        return response.status.token

    def write_kubeconfig(self, path: Path, token: str | None = None) -> Path:
        """Write a self-contained kubeconfig, as admin or as the bearer of ``token``."""
        if token is None:
            return self._write_kubeconfig(path, self._pki.admin_cert, self._pki.admin_key)
        return self._write_kubeconfig(path, token=token)

    def _write_kubeconfig(
        self, path: Path, cert: Path | None = None, key: Path | None = None, token: str | None = None
    ) -> Path:
        user = {"token": token} if token else {}
        if cert is not None and key is not None:
            user = {"client-certificate-data": _b64(cert), "client-key-data": _b64(key)}
        name = "kubescim-test"
        kubeconfig = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": name,
                    "cluster": {
                        "server": self.server,
                        "certificate-authority-data": _b64(self._pki.ca_cert),
                    },
                }
            ],
            "users": [{"name": name, "user": user}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
            "current-context": name,
        }
        path.write_text(yaml.safe_dump(kubeconfig, sort_keys=False))
        path.chmod(0o600)
        return path

    # -- CRDs ------------------------------------------------------------------------------

    def install_crds(self, files: Iterable[Path]) -> list[str]:
        """Create every CustomResourceDefinition in the YAML files; wait until Established.

        Returns the CRD names. Raises kubernetes.client.ApiException if the API server
        refuses one, ControlPlaneError if one is not Established in time.
        """
        bodies = [
            doc
            for file in files
            for doc in yaml.safe_load_all(file.read_text())
            if doc and doc.get("kind") == "CustomResourceDefinition"
        ]
        return [self.install_crd(body) for body in bodies]

    def install_crd(self, body: dict[str, Any], timeout: float = 30.0) -> str:
        """Create one CRD from its manifest and wait until it is Established."""
        with self.api_client() as api:
            extensions = k8s.ApiextensionsV1Api(api)
            extensions.create_custom_resource_definition(cast(Any, body))  # a dict is accepted
            name = str(body["metadata"]["name"])

            def established() -> bool:
                crd = extensions.read_custom_resource_definition_status(name)
                conditions = (crd.status.conditions if crd.status else None) or []
                return any(c.type == "Established" and c.status == "True" for c in conditions)

            self._wait(f"CRD {name} Established", established, timeout)
        return name

    # -- processes -------------------------------------------------------------------------

    def _start_etcd(self) -> None:
        client_port, peer_port = self._ports[0], self._ports[1]
        client_url, peer_url = f"http://127.0.0.1:{client_port}", f"http://127.0.0.1:{peer_port}"
        self._etcd_url = client_url
        self._spawn(
            "etcd",
            f"--data-dir={self.workdir / 'etcd'}",
            f"--listen-client-urls={client_url}",
            f"--advertise-client-urls={client_url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            "--name=kubescim-test",
            f"--initial-cluster=kubescim-test={peer_url}",
            "--unsafe-no-fsync=true",  # throwaway data: durability buys nothing, fsync costs
            "--log-level=warn",
        )
        self._wait("etcd /health", lambda: _http_get("127.0.0.1", client_port, "/health", None), 30)

    def _start_apiserver(self) -> None:
        port = self._ports[2]
        self.server = f"https://127.0.0.1:{port}"
        pki = self._pki
        self._spawn(
            "kube-apiserver",
            f"--etcd-servers={self._etcd_url}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={port}",
            f"--cert-dir={self.workdir / 'kube-apiserver'}",
            f"--tls-cert-file={pki.serving_cert}",
            f"--tls-private-key-file={pki.serving_key}",
            f"--client-ca-file={pki.ca_cert}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki.service_account_key}",
            f"--service-account-signing-key-file={pki.service_account_key}",
            "--service-cluster-ip-range=10.0.0.0/24",
            "--authorization-mode=RBAC",
            "--allow-privileged=true",
            # Endpoints may not point at loopback; nothing in-cluster dials the API server.
            "--endpoint-reconciler-type=none",
            "--profiling=false",
        )
        self.write_kubeconfig(self.kubeconfig)
        context = pki.client_context(pki.admin_cert, pki.admin_key)
        self._wait(
            "kube-apiserver /readyz",
            lambda: _http_get("127.0.0.1", port, "/readyz", context),
            self.startup_timeout,
        )

    def _start_controller_manager(self) -> None:
        port = self._ports[3]
        pki = self._pki
        kubeconfig = self._write_kubeconfig(
            self.workdir / "kube-controller-manager.kubeconfig",
            pki.controller_manager_cert,
            pki.controller_manager_key,
        )
        self._spawn(
            "kube-controller-manager",
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            "--authentication-skip-lookup=true",  # no front proxy, so no request-header CA
            "--bind-address=127.0.0.1",
            f"--secure-port={port}",
            f"--cert-dir={self.workdir / 'kube-controller-manager'}",
            f"--tls-cert-file={pki.serving_cert}",
            f"--tls-private-key-file={pki.serving_key}",
            "--leader-elect=false",
            "--use-service-account-credentials=true",
            f"--service-account-private-key-file={pki.service_account_key}",
            f"--root-ca-file={pki.ca_cert}",
            f"--controllers={','.join(self.controllers)}",
            "--cluster-name=kubescim-test",
            "--profiling=false",
        )
        context = pki.client_context(None, None)
        self._wait(
            "kube-controller-manager /healthz",
            lambda: _http_get("127.0.0.1", port, "/healthz", context),
            self.startup_timeout,
        )

    def _spawn(self, name: str, *args: str) -> None:
        log_path = self.workdir / "logs" / f"{name}.log"
        log_path.parent.mkdir(exist_ok=True)
        log_file = log_path.open("wb")
        popen = subprocess.Popen(
            [str(self.bin_dir / name), *args],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # only calls prctl: safe between fork and exec
        )
        self._processes.append(_Process(name, popen, log_path, log_file))

    def _wait(self, what: str, ready: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            for process in self._processes:
                if process.popen.poll() is not None:
                    raise ControlPlaneError(
                        f"{process.name} exited with {process.popen.returncode} while waiting "
                        f"for {what}; its log ({process.log_path}) ends:\n{process.log_tail()}"
                    )
            try:
                if ready():
                    return
            except (OSError, http.client.HTTPException, k8s.ApiException) as error:
                last_error = error
            time.sleep(0.1)
        logs = "\n".join(f"--- {p.name}:\n{p.log_tail(15)}" for p in self._processes)
        raise ControlPlaneError(f"timed out after {timeout}s waiting for {what} ({last_error})\n{logs}")


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def _http_get(host: str, port: int, path: str, context: ssl.SSLContext | None) -> bool:
    """True when GET ``path`` answers 200."""
    connection: http.client.HTTPConnection
    if context is None:
        connection = http.client.HTTPConnection(host, port, timeout=5)
    else:
        connection = http.client.HTTPSConnection(host, port, timeout=5, context=context)
    try:
        connection.request("GET", path)
        return connection.getresponse().status == 200
    finally:
        connection.close()


def main(argv: Sequence[str] | None = None) -> int:
    """``up``: start a control plane, print how to reach it, stop it on Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m tests.support.controlplane")
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start a control plane and wait until Ctrl-C")
    up.add_argument("--crds", type=Path, default=REPO_ROOT / "crds", help="CRD directory to install")
    up.add_argument("--keep", action="store_true", help="keep the working directory (logs) on exit")
    args = parser.parse_args(argv)

    try:
        plane = ControlPlane(locate_binaries(), crds_dir=args.crds, keep_workdir=args.keep)
        started = time.monotonic()
        plane.start()
    except ControlPlaneError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    stopping = threading.Event()
    # Explicit handlers: a shell may start background jobs with SIGINT ignored.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    try:
        print(
            f"# control plane ready in {time.monotonic() - started:.1f}s at {plane.server}", file=sys.stderr
        )
        print(f"# logs: {plane.workdir / 'logs'}; Ctrl-C stops it", file=sys.stderr)
        print(f"export KUBECONFIG={plane.kubeconfig}", flush=True)
        stopping.wait()
    finally:
        plane.stop()
        print("# stopped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
