"""The desired state of a ScimDirectory (Secret, Service, Ingress, status), computed directly.

These are the pure functions the reconcile loop and ``serve --manifests`` call; no cluster.
Objects the API server would return are modelled by the desired ones plus what the server
adds (defaults, uids), or minus what it drops (empty maps).
"""

from __future__ import annotations

import base64
import copy
from datetime import timedelta
from typing import Any

import pytest

from scim_operator import desired as d
from scim_server.crd import names as n
from tests.support.directories import NOW, ROUTE, UID, spec, token_secret


def ingress(namespace: str = "customers", **fields: Any) -> dict[str, Any]:
    return d.desired_ingress(
        namespace=namespace, name="okta", uid=UID, spec=spec(**fields), dir_id="customers-okta", route=ROUTE
    )


def as_returned_by_api(obj: dict[str, Any]) -> dict[str, Any]:
    """What a read returns: server-set fields added, empty ``metadata`` maps omitted."""
    out = copy.deepcopy(obj)
    meta = out["metadata"]
    for key in ("labels", "annotations"):
        if not meta.get(key):
            meta.pop(key, None)
    meta.update(uid="d3c1", resourceVersion="42", generation=1, creationTimestamp="2025-03-01T12:00:00Z")
    return out


# -- desired_service -------------------------------------------------------------------------


def test_no_bridge_service_in_the_servers_own_namespace() -> None:
    assert d.desired_service(namespace="kubescim", name="okta", uid=UID, dir_id="x", route=ROUTE) is None


def test_bridge_service_elsewhere_is_an_external_name_to_the_server() -> None:
    route = d.RouteConfig(server_service="scim", server_namespace="platform", cluster_domain="k8s.internal")

    body = d.desired_service(
        namespace="customers", name="okta", uid=UID, dir_id="customers-okta", route=route
    )

    assert body is not None
    assert body["metadata"] == {
        "name": "okta-scim",
        "namespace": "customers",
        "labels": n.labels("okta", "customers-okta"),
        "ownerReferences": [n.owner_reference("ScimDirectory", "okta", UID)],
    }
    assert body["spec"] == {
        "type": "ExternalName",
        "externalName": "scim.platform.svc.k8s.internal",
        "ports": [{"name": "http", "port": 8080, "targetPort": 8080}],
    }


# -- desired_ingress -------------------------------------------------------------------------


def only_path(body: dict[str, Any]) -> dict[str, Any]:
    [rule] = body["spec"]["rules"]
    [path] = rule["http"]["paths"]
    return dict(path)


def test_ingress_routes_the_directory_path_prefix() -> None:
    body = ingress()

    assert (body["apiVersion"], body["kind"]) == ("networking.k8s.io/v1", "Ingress")
    assert body["metadata"]["name"] == "okta-scim"
    assert body["metadata"]["namespace"] == "customers"
    assert body["metadata"]["labels"] == n.labels("okta", "customers-okta")
    assert body["metadata"]["ownerReferences"] == [n.owner_reference("ScimDirectory", "okta", UID)]
    path = only_path(body)
    assert (path["path"], path["pathType"]) == ("/scim/v2/customers-okta", "Prefix")


def test_ingress_host_defaults_to_the_route_default() -> None:
    assert ingress()["spec"]["rules"][0]["host"] == "scim.platform.example"
    assert ingress(endpoint={"host": "scim.acme.example"})["spec"]["rules"][0]["host"] == "scim.acme.example"


def test_ingress_class_comes_from_the_spec_then_the_route_default() -> None:
    assert ingress(endpoint={"ingressClassName": "nginx"})["spec"]["ingressClassName"] == "nginx"
    assert ingress()["spec"]["ingressClassName"] == "traefik"


def test_ingress_without_any_class_leaves_the_cluster_default() -> None:
    body = d.desired_ingress(
        namespace="customers", name="okta", uid=UID, spec=spec(), dir_id="x", route=d.RouteConfig()
    )
    assert "ingressClassName" not in body["spec"]


def test_ingress_tls_block_covers_the_host_with_the_named_token_secret() -> None:
    body = ingress(endpoint={"host": "scim.acme.example", "tlsSecretName": "scim-acme-tls"})
    assert body["spec"]["tls"] == [{"hosts": ["scim.acme.example"], "secretName": "scim-acme-tls"}]


def test_ingress_tls_without_a_host_covers_the_default_host() -> None:
    body = ingress(endpoint={"tlsSecretName": "wildcard-tls"})
    assert body["spec"]["tls"] == [{"hosts": ["scim.platform.example"], "secretName": "wildcard-tls"}]


def test_ingress_without_tls_secret_has_no_tls_block() -> None:
    assert "tls" not in ingress()["spec"]


def defaulted_ingress(**fields: Any) -> dict[str, Any]:
    route = d.RouteConfig(
        default_host="scim.platform.example",
        default_tls_secret="platform-tls",
        default_annotations=(("cert-manager.io/cluster-issuer", "platform"), ("team", "iam")),
    )
    return d.desired_ingress(
        namespace="customers", name="okta", uid=UID, spec=spec(**fields), dir_id="x", route=route
    )


def test_default_tls_secret_covers_endpoints_on_the_default_host() -> None:
    assert defaulted_ingress()["spec"]["tls"] == [
        {"hosts": ["scim.platform.example"], "secretName": "platform-tls"}
    ]


def test_default_tls_secret_is_not_used_for_a_host_of_the_specs_own() -> None:
    assert "tls" not in defaulted_ingress(endpoint={"host": "scim.acme.example"})["spec"]


def test_spec_tls_secret_wins_over_the_default() -> None:
    tls = defaulted_ingress(endpoint={"tlsSecretName": "own-tls"})["spec"]["tls"]
    assert tls == [{"hosts": ["scim.platform.example"], "secretName": "own-tls"}]


def test_default_annotations_apply_to_every_ingress_and_the_spec_wins() -> None:
    body = defaulted_ingress(endpoint={"annotations": {"team": "customers"}})
    assert body["metadata"]["annotations"] == {
        "cert-manager.io/cluster-issuer": "platform",
        "team": "customers",
    }


def test_ingress_annotations_are_a_copy_of_the_spec_annotations() -> None:
    annotations = {"cert-manager.io/cluster-issuer": "letsencrypt"}
    directory = spec(endpoint={"annotations": annotations})

    body = d.desired_ingress(
        namespace="customers", name="okta", uid=UID, spec=directory, dir_id="x", route=ROUTE
    )
    body["metadata"]["annotations"]["added"] = "later"

    assert annotations == {"cert-manager.io/cluster-issuer": "letsencrypt"}
    assert body["metadata"]["annotations"] == {**annotations, "added": "later"}


def test_ingress_in_the_server_namespace_targets_the_server_service() -> None:
    backend = only_path(ingress(namespace="kubescim"))["backend"]
    assert backend == {"service": {"name": "kubescim-server", "port": {"number": 8080}}}


def test_ingress_elsewhere_targets_the_directorys_bridge_service() -> None:
    body = ingress(namespace="customers")
    service = d.desired_service(namespace="customers", name="okta", uid=UID, dir_id="x", route=ROUTE)

    backend = only_path(body)["backend"]

    assert service is not None
    assert backend == {"service": {"name": service["metadata"]["name"], "port": {"number": 8080}}}
    assert service["metadata"]["namespace"] == body["metadata"]["namespace"]


# -- drifted ---------------------------------------------------------------------------------


def test_an_object_equal_to_the_desired_one_has_not_drifted() -> None:
    body = token_secret()
    assert not d.drifted(copy.deepcopy(body), body)


def test_fields_the_api_server_adds_are_not_drift() -> None:
    desired = {"spec": {"type": "ExternalName", "ports": [{"name": "http", "port": 8080}]}}
    actual = {
        "metadata": {"uid": "u", "resourceVersion": "7"},
        "spec": {
            "type": "ExternalName",
            "sessionAffinity": "None",
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        },
        "status": {},
    }
    assert not d.drifted(actual, desired)


@pytest.mark.parametrize(
    ("actual", "desired"),
    [
        ({"a": 1}, {"a": 2}),
        ({}, {"a": 1}),
        ({"a": None}, {"a": 1}),
        ({"a": {"b": 1}}, {"a": {"b": 2}}),
        ({"a": {"b": {"c": 1}}}, {"a": {"b": {"c": 1, "d": 2}}}),
        ({"a": "scalar"}, {"a": {"b": 1}}),
        ({"a": [1, 2]}, {"a": [1, 2, 3]}),
        ({"a": [1, 2, 3]}, {"a": [1, 2]}),
        ({"a": [2, 1]}, {"a": [1, 2]}),
        ({"a": "not a list"}, {"a": [1]}),
        ({"a": [{"x": 1}]}, {"a": [{"x": 2}]}),
        ({"a": ["scalar"]}, {"a": [{"x": 1}]}),
        ({"a": [{"x": 1}, {"y": 1}]}, {"a": [{"x": 1}, {"y": 2}]}),
    ],
    ids=[
        "value changed",
        "key missing",
        "key null",
        "nested value changed",
        "nested key missing",
        "mapping replaced by scalar",
        "list shorter",
        "list longer",
        "list reordered",
        "list replaced by scalar",
        "list item changed",
        "list item not a mapping",
        "second list item changed",
    ],
)
def test_anything_desired_that_differs_or_is_missing_is_drift(
    actual: dict[str, Any], desired: dict[str, Any]
) -> None:
    assert d.drifted(actual, desired)


def test_list_items_are_compared_as_subsets_too() -> None:
    desired = {"rules": [{"host": "h", "http": {"paths": [{"path": "/p"}]}}]}
    actual = {"rules": [{"host": "h", "http": {"paths": [{"path": "/p", "pathType": "Prefix"}]}}]}
    assert not d.drifted(actual, desired)


def test_a_non_mapping_actual_has_drifted() -> None:
    assert d.drifted(None, {"a": 1})  # type: ignore[arg-type]


def test_a_changed_secret_token_is_drift() -> None:
    actual = as_returned_by_api(token_secret())
    actual["data"]["token"] = base64.b64encode(b"typed in by hand").decode()
    assert d.drifted(actual, token_secret())


def test_an_extra_label_added_by_someone_else_is_not_drift() -> None:
    actual = as_returned_by_api(token_secret())
    actual["metadata"]["labels"]["team"] = "identity"
    assert not d.drifted(actual, token_secret())


def test_a_removed_owner_label_is_drift() -> None:
    actual = as_returned_by_api(token_secret())
    del actual["metadata"]["labels"][n.LABEL_DIRECTORY_ID]
    assert d.drifted(actual, token_secret())


def test_an_ingress_with_annotations_read_back_has_not_drifted() -> None:
    desired = ingress(endpoint={"annotations": {"a": "b"}})
    assert not d.drifted(as_returned_by_api(desired), desired)


def test_an_ingress_without_annotations_read_back_has_not_drifted() -> None:
    desired = ingress()
    assert not d.drifted(as_returned_by_api(desired), desired)


def test_removing_tls_from_the_spec_is_drift_of_the_ingress() -> None:
    """The subset comparison cannot see a removed field; the desired-state hash does."""
    before = d.with_fingerprint(
        ingress(endpoint={"annotations": {"a": "b"}, "tlsSecretName": "scim-acme-tls"})
    )
    after = d.with_fingerprint(ingress(endpoint={"annotations": {"a": "b"}}))
    assert d.drifted(as_returned_by_api(before), after)
    assert not d.drifted(as_returned_by_api(after), after)


# -- rotation_reason -------------------------------------------------------------------------


def test_no_rotation_without_a_token_policy() -> None:
    assert d.rotation_reason(spec(), {}, NOW - timedelta(days=3650), NOW) is None


def test_a_new_rotation_trigger_rotates() -> None:
    policy = spec(tokenPolicy={"rotationTrigger": "2025-03-01"})

    assert d.rotation_reason(policy, {}, NOW, NOW) == "rotationTrigger set to '2025-03-01'"
    assert d.rotation_reason(policy, {"tokenRotationTrigger": "2025-02-01"}, NOW, NOW) == (
        "rotationTrigger set to '2025-03-01'"
    )


def test_a_trigger_already_acted_on_does_not_rotate_again() -> None:
    policy = spec(tokenPolicy={"rotationTrigger": "2025-03-01"})
    assert d.rotation_reason(policy, {"tokenRotationTrigger": "2025-03-01"}, NOW, NOW) is None


def test_an_elapsed_rotation_period_rotates() -> None:
    policy = spec(tokenPolicy={"rotationPeriod": "720h"})

    assert d.rotation_reason(policy, {}, NOW - timedelta(hours=720), NOW) == "rotationPeriod 720h elapsed"
    assert d.rotation_reason(policy, {}, NOW - timedelta(days=90), NOW) == "rotationPeriod 720h elapsed"


def test_a_rotation_period_not_yet_elapsed_does_not_rotate() -> None:
    policy = spec(tokenPolicy={"rotationPeriod": "720h"})
    assert d.rotation_reason(policy, {}, NOW - timedelta(hours=719, minutes=59), NOW) is None


def test_a_rotation_period_without_an_issue_time_does_not_rotate() -> None:
    assert d.rotation_reason(spec(tokenPolicy={"rotationPeriod": "1h"}), {}, None, NOW) is None


def test_a_changed_trigger_is_reported_before_an_elapsed_period() -> None:
    policy = spec(tokenPolicy={"rotationPeriod": "1h", "rotationTrigger": "now"})
    assert d.rotation_reason(policy, {}, NOW - timedelta(days=1), NOW) == "rotationTrigger set to 'now'"


# -- set_condition ---------------------------------------------------------------------------


def condition(type_: str, status: str, since: str = "2025-01-01T00:00:00Z", **extra: Any) -> dict[str, Any]:
    return {
        "type": type_,
        "status": status,
        "reason": "Before",
        "message": "before",
        "lastTransitionTime": since,
        **extra,
    }


def test_set_condition_adds_a_new_condition_stamped_now() -> None:
    out = d.set_condition([], n.READY, True, "Reconciled", "ready", 3, NOW)
    assert out == [
        {
            "type": "Ready",
            "status": "True",
            "reason": "Reconciled",
            "message": "ready",
            "lastTransitionTime": "2025-03-01T12:00:00Z",
            "observedGeneration": 3,
        }
    ]


@pytest.mark.parametrize(("status", "text"), [(True, "True"), (False, "False"), (None, "Unknown")])
def test_set_condition_writes_kubernetes_status_strings(status: bool | None, text: str) -> None:
    [entry] = d.set_condition([], n.READY, status, "R", "m", None, NOW)
    assert entry["status"] == text


def test_same_status_keeps_the_transition_time_and_updates_the_rest() -> None:
    before = [condition("Ready", "True", observedGeneration=1)]

    [entry] = d.set_condition(before, n.READY, True, "Reconciled", "after", 2, NOW)

    assert entry == {
        "type": "Ready",
        "status": "True",
        "reason": "Reconciled",
        "message": "after",
        "lastTransitionTime": "2025-01-01T00:00:00Z",
        "observedGeneration": 2,
    }


def test_a_changed_status_moves_the_transition_time() -> None:
    before = [condition("Ready", "True")]
    [entry] = d.set_condition(before, n.READY, False, "Suspended", "suspended", 2, NOW)
    assert (entry["status"], entry["lastTransitionTime"]) == ("False", "2025-03-01T12:00:00Z")


def test_without_a_generation_no_observed_generation_is_written() -> None:
    [entry] = d.set_condition(
        [condition("Ready", "True", observedGeneration=1)], n.READY, True, "R", "m", None, NOW
    )
    assert "observedGeneration" not in entry


def test_set_condition_leaves_other_conditions_and_its_input_alone() -> None:
    before = [condition("TokenIssued", "True"), condition("Ready", "False")]
    snapshot = copy.deepcopy(before)

    out = d.set_condition(before, n.READY, True, "Reconciled", "ready", 1, NOW)

    assert before == snapshot
    assert out[1] == snapshot[0]
    assert out[1] is not before[0]


def test_conditions_are_ordered_ready_first_then_the_known_types_then_others() -> None:
    conditions: list[dict[str, Any]] = [condition("Custom", "True")]
    for type_ in (n.SUSPENDED, n.ROUTE_READY, n.TOKEN_ISSUED, n.ORGANIZATION_READY, n.READY):
        conditions = d.set_condition(conditions, type_, True, "R", "m", 1, NOW)

    assert [x["type"] for x in conditions] == [
        "Ready",
        "OrganizationReady",
        "TokenIssued",
        "RouteReady",
        "Suspended",
        "Custom",
    ]


def test_setting_a_condition_twice_is_idempotent() -> None:
    once = d.set_condition([], n.READY, True, "Reconciled", "ready", 1, NOW)
    twice = d.set_condition(once, n.READY, True, "Reconciled", "ready", 1, NOW + timedelta(hours=1))
    assert twice == once
