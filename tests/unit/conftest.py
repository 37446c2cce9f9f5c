"""Fixtures for the protocol core: resource types and the RFC's example resources."""

from __future__ import annotations

from typing import Any

import pytest

from scim_server.scim.schemas import ResourceType, group_type, user_type
from tests.support import rfc


@pytest.fixture
def users() -> ResourceType:
    return user_type()


@pytest.fixture
def groups() -> ResourceType:
    return group_type()


@pytest.fixture
def bjensen() -> dict[str, Any]:
    """RFC 7643 section 8.2: the full User, as storage would hold it (meta, groups)."""
    return rfc.load_object("rfc7643-8.2-user-full")


@pytest.fixture
def enterprise_bjensen() -> dict[str, Any]:
    """RFC 7643 section 8.3: the same User with the enterprise extension."""
    return rfc.load_object("rfc7643-8.3-enterprise-user")


@pytest.fixture
def tour_guides() -> dict[str, Any]:
    """RFC 7643 section 8.4: a Group with two members."""
    return rfc.load_object("rfc7643-8.4-group")
