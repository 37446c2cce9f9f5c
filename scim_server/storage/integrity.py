"""What a violated constraint means to a SCIM client.

Each backend catches its driver's errors in one context manager and asks here which
SCIM error a constraint stands for, named as both schemas name it.
"""

from __future__ import annotations

from ..scim.errors import InvalidValue, ScimError, Uniqueness

_UNIQUE = (
    ("user_name_key", "a user with this userName already exists in this directory"),
    ("display_name_key", "a group with this displayName already exists in this directory"),
)


def unique_violation(constraint: str) -> Uniqueness:
    """The error for a unique key; ``constraint`` is its name or the driver's message."""
    for key, message in _UNIQUE:
        if key in constraint:
            return Uniqueness(message)
    return Uniqueness("a resource with this id already exists")


def foreign_key_violation(constraint: str) -> ScimError:
    """A membership of a group that does not exist (deleted while the request ran)."""
    return InvalidValue(f"a referenced resource does not exist ({constraint})")


def check_violation(constraint: str) -> ScimError:
    """A value a CHECK refuses (the input policy refuses it first; the length checks
    are the ones a client could reach)."""
    return InvalidValue(f"a value is longer than the schema allows ({constraint})")
