"""A real Kubernetes control plane holding a namespace for kubescim's ConfigMap storage.

The benchmarks that serve kubescim on ``configmaps://NAMESPACE`` (``configmap_storage.py``,
and the ``kubescim-configmaps`` target of ``scim_throughput.py``) start the test suite's
control plane (``tests/support/controlplane.py``: etcd, kube-apiserver and
kube-controller-manager, built once by ``hack/controlplane/build.sh``) with this.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from kubernetes import client

from tests.support.controlplane import ControlPlane, ControlPlaneError, locate_binaries

NAMESPACE = "kubescim-bench"
WRITE_RATE = 1000.0
"""The benchmarks' write limit per server process: far above the shipped 20/s, so a
figure shows what the backend costs, not the limiter."""


def controlplane_missing() -> str | None:
    """Why the control plane cannot start here (binaries not built), or None."""
    try:
        locate_binaries()
    except ControlPlaneError as exc:
        return str(exc)
    return None


@dataclass(frozen=True)
class ConfigMapCluster:
    """A running control plane and the namespace kubescim stores a directory in."""

    plane: ControlPlane
    namespace: str
    write_rate: float

    @property
    def url(self) -> str:
        """The ``KUBESCIM_DATABASE_URL`` of the namespace."""
        return f"configmaps://{self.namespace}"

    @property
    def env(self) -> dict[str, str]:
        """What a ``kubescim`` process needs beside the URL: the kubeconfig and the write limit."""
        return {
            "KUBECONFIG": str(self.plane.kubeconfig),
            "KUBESCIM_STORAGE_WRITE_RATE": str(self.write_rate),
        }


@contextlib.contextmanager
def configmap_cluster(
    write_rate: float = WRITE_RATE, namespace: str = NAMESPACE
) -> Iterator[ConfigMapCluster]:
    """Start a control plane with ``namespace`` created; stop it on exit.

    Raises tests.support.controlplane.ControlPlaneError when the binaries are missing or
    the control plane does not start.
    """
    plane = ControlPlane(locate_binaries())
    plane.start()
    try:
        with plane.api_client() as api:
            client.CoreV1Api(api).create_namespace(
                client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace))
            )
        yield ConfigMapCluster(plane, namespace, write_rate)
    finally:
        plane.stop()
