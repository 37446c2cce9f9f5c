"""Settings, read once from the environment (``KUBESCIM_*``) into one object."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
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
    manifests_dir: Path | None = None
    public_url: str | None = None
    trust_forwarded: bool = False
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    default_page_size: int = Field(default=100, ge=1)
    max_page_size: int = Field(default=1000, ge=1)
    max_bulk_operations: int = Field(default=1000, ge=1)
    max_patch_operations: int = Field(
        default=1000,
        ge=1,
        description="Most operations one PATCH request may carry; more get 413 before any is read.",
    )
    log_format: str = "text"
    log_level: str = "INFO"
    access_log: bool = False

    @field_validator("log_format")
    @classmethod
    def _log_format(cls, value: str) -> str:
        if value not in ("text", "json"):
            raise ValueError("must be 'text' or 'json'")
        return value

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.state_dir / 'kubescim.db'}"
