"""pytest fixtures for tests that talk to a real Kubernetes API server.

Enable with ``pytest_plugins = ["tests.support.kube_fixtures"]`` in the root conftest.
One control plane serves the whole session (it takes seconds to start); each test gets
its own namespace, so tests stay independent.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator

import pytest
from kubernetes import client as k8s
from kubernetes.config import kube_config

from tests.support.controlplane import ControlPlane, ControlPlaneError, locate_binaries


@pytest.fixture(scope="session")
def control_plane() -> Iterator[ControlPlane]:
    """A running etcd + kube-apiserver + kube-controller-manager, with ``crds/`` installed.

    ``$KUBECONFIG`` (and the kubernetes client's default location, which it reads only at
    import) point at its admin kubeconfig for the session. Set
    ``KUBESCIM_CONTROLPLANE_KEEP=1`` to keep its working directory (logs) afterwards.
    """
    keep = bool(os.environ.get("KUBESCIM_CONTROLPLANE_KEEP"))
    try:
        plane = ControlPlane(locate_binaries(), keep_workdir=keep)
        plane.start()
    except ControlPlaneError as error:  # fail, never skip: a missing build is a setup error
        raise pytest.fail.Exception(str(error), pytrace=False) from None
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("KUBECONFIG", str(plane.kubeconfig))
            patch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(plane.kubeconfig))
            yield plane
    finally:
        plane.stop()


@pytest.fixture
def kube_api(control_plane: ControlPlane) -> Iterator[k8s.ApiClient]:
    """An admin ApiClient (``system:masters``), closed after the test."""
    with control_plane.api_client() as api:
        yield api


@pytest.fixture
def namespace(kube_api: k8s.ApiClient) -> Iterator[str]:
    """The name of a fresh namespace, deleted (with everything in it) after the test."""
    core = k8s.CoreV1Api(kube_api)
    name = f"test-{uuid.uuid4().hex[:10]}"
    core.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=name)))
    yield name
    core.delete_namespace(name)


@pytest.fixture
def kube_api_as(control_plane: ControlPlane) -> Iterator[Callable[[str, str], k8s.ApiClient]]:
    """``kube_api_as(namespace, service_account)``: an ApiClient holding a fresh token of
    that ServiceAccount, so the test acts with exactly the permissions bound to it."""
    with contextlib.ExitStack() as clients:

        def client_for(namespace: str, service_account: str) -> k8s.ApiClient:
            api = control_plane.api_client(control_plane.mint_token(namespace, service_account))
            clients.enter_context(api)
            return api

        yield client_for
