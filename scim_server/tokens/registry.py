"""The interface every token registry implements (what the HTTP layer asks of it)."""

from __future__ import annotations

from typing import Protocol


class TokenRegistry(Protocol):
    """Which bearer tokens are valid for which directory, and which directories refuse."""

    def verify(self, directory: str, token: str) -> bool:
        """Whether ``token`` is currently valid for ``directory``.

        Raises scim.errors.ServiceUnavailable when the registry cannot tell now (its source
        is unreachable for longer than it may be).
        """

    def refusal(self, directory: str) -> str | None:
        """Why ``directory`` refuses valid tokens (403: suspended, inactive), or None."""

    def directories(self) -> list[str]:
        """Names of the directories this registry knows."""
