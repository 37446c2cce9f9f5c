"""The per-process state the app factory builds, kept in ``app.extensions``."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from ..config import Settings
from ..storage import Backend
from ..tokens.organizations import OrganizationRegistry
from ..tokens.registry import TokenRegistry

EXTENSION = "kubescim"


@dataclass(slots=True)
class ServerState:
    settings: Settings
    storage: Backend
    tokens: TokenRegistry
    organizations: OrganizationRegistry


def server_state() -> ServerState:
    state: ServerState = current_app.extensions[EXTENSION]
    return state
