"""Waiting for a condition, bounded: how tests wait for a cluster, never with a bare sleep."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from kubernetes.client.exceptions import ApiException

T = TypeVar("T")


def eventually(
    fn: Callable[[], T | None], timeout: float = 30.0, what: str = "condition", interval: float = 0.1
) -> T:
    """Poll ``fn`` until it returns something truthy and return that; raise AssertionError
    after ``timeout`` s naming ``what`` and the last result (an API error, a missing key
    or a failed assertion counts as "not yet")."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = fn()
        except (ApiException, KeyError, IndexError, AssertionError) as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")
