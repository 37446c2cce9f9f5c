"""Webhook endpoints: where an organization's events go, with the secret that signs them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    """One declared webhook. ``events`` empty: every type."""

    id: str  # "<organization>/<name>"
    organization: str
    url: str
    secret: str
    events: frozenset[str]
    directories: tuple[str, ...]

    def wants(self, event_type: str) -> bool:
        return not self.events or event_type in self.events


class EndpointSource(Protocol):
    def endpoints(self) -> list[WebhookEndpoint]:
        """The webhooks declared now (re-read by the worker every few seconds)."""
