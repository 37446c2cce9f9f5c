"""The test control plane is a real Kubernetes API server, not an emulator.

Each test proves one behaviour that kubescim relies on and that an HTTP mock would fake:
optimistic concurrency, selectors, schema validation, the status subresource, garbage
collection and RBAC. All through the official kubernetes client, never patched.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes import watch

from tests.support.controlplane import ControlPlane, ControlPlaneError, locate_binaries

pytestmark = pytest.mark.slow

GROUP = "kubetest.kubescim.io"
WIDGETS = {"group": GROUP, "version": "v1", "plural": "widgets"}


def eventually(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """Poll ``condition`` until it holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout}s")
        time.sleep(0.2)


def config_map(name: str, labels: dict[str, str] | None = None, **meta: Any) -> k8s.V1ConfigMap:
    return k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name=name, labels=labels, **meta), data={"key": "value"})


def api_error(call: Callable[[], object]) -> k8s.ApiException:
    with pytest.raises(k8s.ApiException) as caught:
        call()
    return caught.value


@pytest.fixture(scope="module")
def widget_crd(control_plane: ControlPlane) -> Iterator[str]:
    """A test-only namespaced CRD with a structural schema and a status subresource."""
    name = control_plane.install_crd(
        {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": f"widgets.{GROUP}"},
            "spec": {
                "group": GROUP,
                "scope": "Namespaced",
                "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                "versions": [
                    {
                        "name": "v1",
                        "served": True,
                        "storage": True,
                        "subresources": {"status": {}},
                        "schema": {
                            "openAPIV3Schema": {
                                "type": "object",
                                "properties": {
                                    "spec": {
                                        "type": "object",
                                        "required": ["size"],
                                        "properties": {
                                            "size": {"type": "integer", "minimum": 1},
                                            "colour": {"type": "string", "enum": ["red", "blue"]},
                                        },
                                    },
                                    "status": {
                                        "type": "object",
                                        "properties": {"ready": {"type": "boolean"}},
                                    },
                                },
                            }
                        },
                    }
                ],
            },
        }
    )
    yield name
    with control_plane.api_client() as api:
        k8s.ApiextensionsV1Api(api).delete_custom_resource_definition(name)


def widget(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": f"{GROUP}/v1", "kind": "Widget", "metadata": {"name": name}, "spec": spec}


def test_write_with_stale_resource_version_is_a_conflict(kube_api: k8s.ApiClient, namespace: str) -> None:
    core = k8s.CoreV1Api(kube_api)
    stale = core.create_namespaced_config_map(namespace, config_map("shared"))
    fresh = core.read_namespaced_config_map("shared", namespace)
    fresh.data = {"key": "first writer"}
    core.replace_namespaced_config_map("shared", namespace, fresh)

    stale.data = {"key": "second writer"}
    error = api_error(lambda: core.replace_namespaced_config_map("shared", namespace, stale))

    assert error.status == 409
    assert error.reason == "Conflict"
    assert core.read_namespaced_config_map("shared", namespace).data == {"key": "first writer"}


def test_label_selector_filters_lists_and_watches(kube_api: k8s.ApiClient, namespace: str) -> None:
    core = k8s.CoreV1Api(kube_api)
    core.create_namespaced_config_map(namespace, config_map("mine-1", {"app": "mine"}))
    core.create_namespaced_config_map(namespace, config_map("theirs-1", {"app": "theirs"}))

    listed = core.list_namespaced_config_map(namespace, label_selector="app=mine")
    assert [item.metadata.name for item in listed.items] == ["mine-1"]

    # Created in this order, "theirs-2" would be the first event if the selector leaked.
    core.create_namespaced_config_map(namespace, config_map("theirs-2", {"app": "theirs"}))
    core.create_namespaced_config_map(namespace, config_map("mine-2", {"app": "mine"}))
    events = watch.Watch().stream(
        core.list_namespaced_config_map,
        namespace,
        label_selector="app=mine",
        resource_version=listed.metadata.resource_version,
        timeout_seconds=30,
    )
    with contextlib.closing(events):
        first = next(events)

    assert (first["type"], first["object"].metadata.name) == ("ADDED", "mine-2")


def test_structural_schema_rejects_an_invalid_object(
    kube_api: k8s.ApiClient, namespace: str, widget_crd: str
) -> None:
    custom = k8s.CustomObjectsApi(kube_api)
    invalid = widget("too-small", {"size": 0, "colour": "green"})

    error = api_error(
        lambda: custom.create_namespaced_custom_object(**WIDGETS, namespace=namespace, body=invalid)
    )

    status = json.loads(error.body)
    assert (error.status, status["reason"]) == (422, "Invalid")
    assert status["message"].startswith(f'Widget.{GROUP} "too-small" is invalid: ')
    assert (
        "spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1"
        in status["message"]
    )
    assert 'spec.colour: Unsupported value: "green": supported values: "red", "blue"' in status["message"]


def test_structural_schema_prunes_unknown_fields(
    kube_api: k8s.ApiClient, namespace: str, widget_crd: str
) -> None:
    custom = k8s.CustomObjectsApi(kube_api)
    body = widget("pruned", {"size": 1, "unknown": "dropped"})

    created = custom.create_namespaced_custom_object(**WIDGETS, namespace=namespace, body=body)

    assert created["spec"] == {"size": 1}


def test_status_subresource_write_does_not_change_spec(
    kube_api: k8s.ApiClient, namespace: str, widget_crd: str
) -> None:
    custom = k8s.CustomObjectsApi(kube_api)
    created = custom.create_namespaced_custom_object(
        **WIDGETS, namespace=namespace, body=widget("w", {"size": 2})
    )

    patched = custom.patch_namespaced_custom_object_status(
        **WIDGETS, namespace=namespace, name="w", body={"spec": {"size": 5}, "status": {"ready": True}}
    )

    assert patched["status"] == {"ready": True}
    assert patched["spec"] == {"size": 2}
    assert patched["metadata"]["generation"] == created["metadata"]["generation"]


def test_deleting_an_owner_garbage_collects_its_dependents(kube_api: k8s.ApiClient, namespace: str) -> None:
    core = k8s.CoreV1Api(kube_api)
    owner = core.create_namespaced_config_map(namespace, config_map("owner"))
    reference = k8s.V1OwnerReference(api_version="v1", kind="ConfigMap", name="owner", uid=owner.metadata.uid)
    core.create_namespaced_config_map(namespace, config_map("dependent", owner_references=[reference]))
    core.create_namespaced_config_map(namespace, config_map("bystander"))

    core.delete_namespaced_config_map("owner", namespace)

    def remaining() -> set[str]:
        return {cm.metadata.name for cm in core.list_namespaced_config_map(namespace).items}

    eventually(lambda: "dependent" not in remaining())
    assert "bystander" in remaining()


def test_service_account_token_without_a_role_is_forbidden(
    kube_api: k8s.ApiClient, namespace: str, kube_api_as: Callable[[str, str], k8s.ApiClient]
) -> None:
    core, rbac = k8s.CoreV1Api(kube_api), k8s.RbacAuthorizationV1Api(kube_api)
    core.create_namespaced_service_account(
        namespace, k8s.V1ServiceAccount(metadata=k8s.V1ObjectMeta(name="reader"))
    )
    as_reader = k8s.CoreV1Api(kube_api_as(namespace, "reader"))

    error = api_error(lambda: as_reader.list_namespaced_config_map(namespace))
    assert error.status == 403
    assert f"system:serviceaccount:{namespace}:reader" in error.body

    rbac.create_namespaced_role(
        namespace,
        k8s.V1Role(
            metadata=k8s.V1ObjectMeta(name="configmap-reader"),
            rules=[k8s.V1PolicyRule(api_groups=[""], resources=["configmaps"], verbs=["get", "list"])],
        ),
    )
    rbac.create_namespaced_role_binding(
        namespace,
        k8s.V1RoleBinding(
            metadata=k8s.V1ObjectMeta(name="reader"),
            role_ref=k8s.V1RoleRef(
                api_group="rbac.authorization.k8s.io", kind="Role", name="configmap-reader"
            ),
            subjects=[k8s.RbacV1Subject(kind="ServiceAccount", name="reader", namespace=namespace)],
        ),
    )

    def can_list_config_maps() -> bool:
        try:
            as_reader.list_namespaced_config_map(namespace)
        except k8s.ApiException as error:
            if error.status != 403:
                raise
            return False
        return True

    eventually(can_list_config_maps, timeout=10)
    assert api_error(lambda: as_reader.list_namespaced_secret(namespace)).status == 403
    assert api_error(lambda: as_reader.create_namespaced_config_map(namespace, config_map("x"))).status == 403


def test_missing_binaries_fail_with_the_build_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KUBESCIM_CONTROLPLANE_BIN", str(tmp_path))

    with pytest.raises(ControlPlaneError, match=r"bash hack/controlplane/build\.sh"):
        locate_binaries()


def test_crd_files_are_installed_and_established(
    control_plane: ControlPlane, kube_api: k8s.ApiClient, tmp_path: Path
) -> None:
    manifest = tmp_path / "gadgets.yaml"
    manifest.write_text(
        f"""\
apiVersion: v1
kind: ConfigMap
metadata: {{name: not-a-crd}}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {{name: gadgets.{GROUP}}}
spec:
  group: {GROUP}
  scope: Cluster
  names: {{plural: gadgets, singular: gadget, kind: Gadget}}
  versions:
    - name: v1
      served: true
      storage: true
      schema: {{openAPIV3Schema: {{type: object}}}}
"""
    )
    extensions = k8s.ApiextensionsV1Api(kube_api)

    try:
        assert control_plane.install_crds([manifest]) == [f"gadgets.{GROUP}"]
        custom = k8s.CustomObjectsApi(kube_api)
        gadget = {"apiVersion": f"{GROUP}/v1", "kind": "Gadget", "metadata": {"name": "g"}}
        custom.create_cluster_custom_object(GROUP, "v1", "gadgets", gadget)
    finally:
        extensions.delete_custom_resource_definition(f"gadgets.{GROUP}")
