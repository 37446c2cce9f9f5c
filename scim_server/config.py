"""Settings, read once from the environment (``KUBESCIM_*``) into one object."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_state_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "kubescim"


class Settings(BaseSettings):
    """Server configuration; every field is documented in the README."""

    model_config = SettingsConfigDict(env_prefix="KUBESCIM_", extra="ignore")

    state_dir: Path = Field(default_factory=default_state_dir)
    database_url: str | None = None
    pool_size: int = Field(default=4, ge=1, le=100)
    tokens_file: Path | None = None
    token_source: Literal["local", "kubernetes"] = "local"
    token_namespace: str | None = None
    token_watch_seconds: int = Field(
        default=30,
        ge=3,
        le=3600,
        description=(
            "with token_source=kubernetes: server-side timeout of each watch; a connection silent "
            "for 1.5x this is dropped and re-listed, so a revoked token is refused within 2x this "
            "while the API server is reachable"
        ),
    )
    token_max_staleness_seconds: int | None = Field(
        default=None,
        description=(
            "with token_source=kubernetes: answer SCIM requests 503 (and /readyz 503) once the API "
            "server was unreachable this long; unset keeps serving cached tokens (availability "
            "first); at least 2x token_watch_seconds"
        ),
    )
    manifests_dir: Path | None = None
    public_url: str | None = None
    trust_forwarded: bool = False
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    default_page_size: int = Field(default=100, ge=1)
    max_page_size: int = Field(default=1000, ge=1)
    max_bulk_operations: int = Field(default=1000, ge=1)
    log_format: str = "text"
    log_level: str = "INFO"
    access_log: bool = False

    @field_validator("log_format")
    @classmethod
    def _log_format(cls, value: str) -> str:
        if value not in ("text", "json"):
            raise ValueError("must be 'text' or 'json'")
        return value

    @model_validator(mode="after")
    def _staleness_covers_a_watch(self) -> Settings:
        limit = self.token_max_staleness_seconds
        if limit is not None and limit < 2 * self.token_watch_seconds:
            raise ValueError(
                "token_max_staleness_seconds must be at least 2 x token_watch_seconds "
                f"({2 * self.token_watch_seconds}), or healthy watches would trip it"
            )
        return self

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.state_dir / 'kubescim.db'}"
