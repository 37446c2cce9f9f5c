"""SCIM errors: HTTP status, ``scimType`` (RFC 7644 section 3.12) and the Error body."""

from __future__ import annotations

import pytest

from scim_server.scim import errors
from scim_server.scim.errors import ERROR_SCHEMA, ScimError
from tests.support import rfc

SCIM_TYPED = [
    (errors.InvalidFilter, 400, "invalidFilter"),
    (errors.TooMany, 400, "tooMany"),
    (errors.Uniqueness, 409, "uniqueness"),
    (errors.Mutability, 400, "mutability"),
    (errors.InvalidSyntax, 400, "invalidSyntax"),
    (errors.InvalidPath, 400, "invalidPath"),
    (errors.NoTarget, 400, "noTarget"),
    (errors.InvalidValue, 400, "invalidValue"),
    (errors.InvalidVersion, 400, "invalidVers"),
    (errors.Sensitive, 403, "sensitive"),
]

UNTYPED = [
    (errors.BadRequest, 400),
    (errors.Unauthorized, 401),
    (errors.Forbidden, 403),
    (errors.NotFound, 404),
    (errors.MethodNotAllowed, 405),
    (errors.Conflict, 409),
    (errors.PreconditionFailed, 412),
    (errors.PayloadTooLarge, 413),
    (errors.UnsupportedMediaType, 415),
    (errors.NotImplementedByServer, 501),
    (errors.InternalError, 500),
]


@pytest.mark.parametrize(("cls", "status", "scim_type"), SCIM_TYPED)
def test_rfc_error_types_carry_their_status_and_scim_type(
    cls: type[ScimError], status: int, scim_type: str
) -> None:
    error = cls("detail text")
    assert (error.status, error.scim_type) == (status, scim_type)
    assert error.to_body() == {
        "schemas": [ERROR_SCHEMA],
        "status": str(status),
        "scimType": scim_type,
        "detail": "detail text",
    }


@pytest.mark.parametrize(("cls", "status"), UNTYPED)
def test_errors_without_a_scim_type_leave_it_out_of_the_body(cls: type[ScimError], status: int) -> None:
    body = cls("detail text").to_body()
    assert body == {"schemas": [ERROR_SCHEMA], "status": str(status), "detail": "detail text"}


@pytest.mark.parametrize("cls", [c for c, *_ in SCIM_TYPED + UNTYPED])
def test_every_error_is_a_scim_error_whose_message_is_its_detail(cls: type[ScimError]) -> None:
    error = cls("what went wrong")
    assert isinstance(error, ScimError)
    assert isinstance(error, Exception)
    assert str(error) == error.detail == "what went wrong"


def test_status_is_a_string_in_the_body_as_rfc_7644_prints_it() -> None:
    assert errors.NotFound("x").to_body()["status"] == "404"


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("rfc7644-3.12-error-mutability", errors.Mutability("Attribute 'id' is readOnly")),
        (
            "rfc7644-3.12-error-not-found",
            errors.NotFound("Resource 2819c223-7f76-453a-919d-413861904646 not found"),
        ),
    ],
)
def test_body_matches_the_rfc_7644_section_3_12_examples(name: str, error: ScimError) -> None:
    assert error.to_body() == rfc.load(name)


def test_scim_type_belongs_to_the_class_not_the_instance() -> None:
    assert errors.InvalidPath.scim_type == "invalidPath"
    assert errors.Uniqueness.status == 409
    assert ScimError.status == 400
    assert ScimError.scim_type is None
