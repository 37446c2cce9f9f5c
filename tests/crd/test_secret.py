"""The contract's names and the token Secret's format, written and read side by side."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

from scim_operator import constants as c
from scim_operator import desired as d
from scim_server.crd import names as n
from scim_server.crd import secret as sec
from tests.support.directories import NOW, UID, token_secret

# -- names, labels, owner reference ----------------------------------------------------------


def test_owned_object_names_derive_from_the_directory_name() -> None:
    assert d.secret_name("okta") == "okta-scim-token"
    assert d.ingress_name("okta") == "okta-scim"
    assert d.service_name("okta") == "okta-scim"


def test_owner_reference_makes_the_directory_the_controller() -> None:
    assert n.owner_reference("ScimDirectory", "okta", UID) == {
        "apiVersion": "kubescim.io/v1alpha1",
        "kind": "ScimDirectory",
        "name": "okta",
        "uid": UID,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def test_labels_name_the_manager_directory_and_id() -> None:
    assert n.labels("okta", "customers-okta") == {
        "app.kubernetes.io/managed-by": "kubescim",
        "kubescim.io/directory": "okta",
        "kubescim.io/directory-id": "customers-okta",
    }


# -- token_secret_manifest --------------------------------------------------------------------------


def test_secret_holds_the_token_and_endpoint_base64_encoded() -> None:
    body = token_secret()

    assert (body["apiVersion"], body["kind"], body["type"]) == ("v1", "Secret", "Opaque")
    assert body["data"] == {
        "token": base64.b64encode(b"tok-current").decode(),
        "endpoint": base64.b64encode(b"https://scim.acme.example/scim/v2/customers-okta").decode(),
    }
    assert sec.decode_secret_data(body["data"]) == {
        "token": "tok-current",
        "endpoint": "https://scim.acme.example/scim/v2/customers-okta",
    }


def test_secret_metadata_names_labels_and_owns_it() -> None:
    meta = token_secret()["metadata"]

    assert (meta["name"], meta["namespace"]) == ("okta-scim-token", "customers")
    assert meta["labels"] == n.labels("okta", "customers-okta")
    assert meta["ownerReferences"] == [n.owner_reference("ScimDirectory", "okta", UID)]


def test_secret_annotations_carry_issue_time_suspension_and_the_tokens_announcement() -> None:
    assert token_secret()["metadata"]["annotations"] == {
        sec.ANNOTATION_ISSUED_AT: "2025-03-01T12:00:00+00:00",
        sec.ANNOTATION_SUSPENDED: "false",
        sec.ANNOTATION_TOKEN_FINGERPRINT: hashlib.sha256(b"tok-current").hexdigest()[:16],
        sec.ANNOTATION_TOKEN_REASON: c.REASON_TOKEN_ISSUED,
        sec.ANNOTATION_TOKEN_MESSAGE: "",
    }
    assert token_secret(suspended=True)["metadata"]["annotations"][sec.ANNOTATION_SUSPENDED] == "true"


def test_secret_keeps_only_a_hash_and_expiry_of_the_previous_token() -> None:
    expires = NOW + timedelta(hours=24)
    previous = sec.PreviousToken(hashlib.sha256(b"tok-old").hexdigest(), expires)

    data = sec.decode_secret_data(token_secret(previous)["data"])

    assert data == {
        "token": "tok-current",
        "endpoint": "https://scim.acme.example/scim/v2/customers-okta",
        "previous-token-sha256": hashlib.sha256(b"tok-old").hexdigest(),
        "previous-token-expires-at": "2025-03-02T12:00:00+00:00",
    }
    assert "tok-old" not in data.values()


def test_decode_secret_data_of_nothing_is_empty() -> None:
    assert sec.decode_secret_data(None) == {}
    assert sec.decode_secret_data({}) == {}


# -- reading what was written ----------------------------------------------------------------


def test_the_server_reads_back_what_the_operator_writes() -> None:
    expires = NOW + timedelta(hours=24)
    written = token_secret(sec.PreviousToken(hashlib.sha256(b"tok-old").hexdigest(), expires), suspended=True)
    written["metadata"].update(uid="u-1", resourceVersion="7")

    read = sec.read_token_secret(written)

    assert read is not None
    assert (read.namespace, read.name, read.directory_id) == (
        "customers",
        "okta-scim-token",
        "customers-okta",
    )
    assert read.token_sha256 == hashlib.sha256(b"tok-current").hexdigest()
    assert read.previous == (hashlib.sha256(b"tok-old").hexdigest(), expires.isoformat())
    assert read.suspended
    assert read.owner == sec.Owner(n.API_VERSION, n.DIRECTORY_KIND, "okta", UID)
    assert read.owner.is_directory


def test_a_secret_without_the_directory_id_label_claims_nothing() -> None:
    written = token_secret()
    del written["metadata"]["labels"][n.LABEL_DIRECTORY_ID]
    assert sec.read_token_secret(written) is None


def test_a_previous_token_without_a_time_zone_is_ignored() -> None:
    written = token_secret(sec.PreviousToken("ab" * 32, NOW))
    written["data"][sec.PREVIOUS_EXPIRES_KEY] = base64.b64encode(b"2025-03-02T12:00:00").decode()
    read = sec.read_token_secret(written)
    assert read is not None
    assert read.previous is None


def test_fingerprint_is_a_short_prefix_of_the_sha256() -> None:
    assert sec.fingerprint("tok") == hashlib.sha256(b"tok").hexdigest()[:16]
