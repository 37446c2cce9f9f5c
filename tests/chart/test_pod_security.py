"""Every pod the chart renders meets the restricted Pod Security Standard
(https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted), field by
field, plus a read-only root filesystem with an emptyDir for /tmp."""

from __future__ import annotations

from typing import Any

import pytest

from tests.chart.scenarios import SCENARIOS
from tests.support.chart import pod_specs, render

ALLOWED_VOLUME_TYPES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}


def _containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return [*pod.get("initContainers", []), *pod["containers"], *pod.get("ephemeralContainers", [])]


def _check_pod(pod: dict[str, Any]) -> None:
    # Baseline: no host namespaces, ports, paths, privileged containers or added capabilities.
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        assert not pod.get(key), key
    security = pod["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["runAsUser"] != 0
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    assert "sysctls" not in security
    for volume in pod.get("volumes", []):
        assert set(volume) - {"name"} <= ALLOWED_VOLUME_TYPES, volume
    tmp = {v["name"] for v in pod.get("volumes", []) if "emptyDir" in v}
    for container in _containers(pod):
        name = container["name"]
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False, name
        assert context["capabilities"]["drop"] == ["ALL"], name
        assert not context["capabilities"].get("add"), name
        assert context.get("privileged", False) is False, name
        assert context.get("runAsNonRoot", True) is True, name
        assert context.get("runAsUser", 1) != 0, name
        assert context.get("seccompProfile", {"type": "RuntimeDefault"})["type"] == "RuntimeDefault", name
        assert context["readOnlyRootFilesystem"] is True, name
        assert not any(p.get("hostPort") for p in container.get("ports", [])), name
        mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
        assert mounts.get("/tmp") in tmp, f"{name}: /tmp must be an emptyDir"


@pytest.mark.parametrize("values", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_every_pod_meets_the_restricted_standard(values: dict[str, Any]) -> None:
    pods = dict(pod_specs(render(values)))
    expected = {"Deployment/kubescim-operator", "Deployment/kubescim-server"}
    if values.get("webhooks", {}).get("enabled"):
        expected.add("Deployment/kubescim-webhooks")
    assert set(pods) == expected
    for workload, pod in pods.items():
        try:
            _check_pod(pod)
        except AssertionError as error:
            pytest.fail(f"{workload}: {error}")


def test_the_check_catches_a_writable_root_filesystem() -> None:
    pod = dict(pod_specs(render()))["Deployment/kubescim-server"]
    pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"] = False
    with pytest.raises(AssertionError):
        _check_pod(pod)
