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
    """Server configuration. Each field's description is its row of the README's
    configuration table (``KUBESCIM_`` + the field name); a test keeps the two in step."""

    model_config = SettingsConfigDict(env_prefix="KUBESCIM_", extra="ignore")

    state_dir: Path = Field(
        default_factory=default_state_dir,
        description=(
            "local state: token hashes (tokens.json) and the SQLite file; "
            "default $XDG_DATA_HOME/kubescim (~/.local/share/kubescim)"
        ),
    )
    database_url: str | None = Field(
        default=None,
        description=(
            "storage: sqlite:///PATH, postgresql://user:pass@host/db, or configmaps://NAMESPACE "
            "(secrets://NAMESPACE) to keep a small directory in the cluster itself "
            "(docs/storage-configmaps.md); unset: sqlite:///<state dir>/kubescim.db"
        ),
    )
    pool_size: int = Field(
        default=4, ge=1, le=100, description="PostgreSQL (or Kubernetes API) connections per server process"
    )
    storage_write_rate: float = Field(
        default=20.0,
        gt=0,
        le=1000,
        description=(
            "configmaps:// and secrets:// storage: most writes per second per server process (bursts "
            "of as many); a write queued longer than 10 s is answered 429 with Retry-After, and the "
            "API server's own 429 Retry-After is honoured"
        ),
    )
    tokens_file: Path | None = Field(
        default=None,
        description=(
            "extra tokens: YAML/JSON mapping directory -> token (or list), plaintext or "
            "sha256:<hex>; for tokens mounted from a Secret"
        ),
    )
    token_source: Literal["local", "kubernetes"] = Field(
        default="local",
        description=(
            "local (state dir, tokens file, manifests) or kubernetes (the operator's Secrets, watched)"
        ),
    )
    token_namespace: str | None = Field(
        default=None,
        description=(
            "with token_source=kubernetes: watch Secrets and ScimDirectories in this namespace only; "
            "unset: all namespaces"
        ),
    )
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
    manifests_dir: Path | None = Field(
        default=None,
        description=(
            "with token_source=local: serve exactly the ScimDirectory manifests in this folder "
            "(what serve --manifests sets); unset: every directory with a local token"
        ),
    )
    public_url: str | None = Field(
        default=None,
        description=(
            "external base URL (e.g. https://scim.example.com) used in meta.location and printed endpoints"
        ),
    )
    trust_forwarded: bool = Field(
        default=False,
        description="honour X-Forwarded-Proto/Host/Port/Prefix (set only behind a proxy you control)",
    )
    max_body_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="request bodies larger than this get 413"
    )
    default_page_size: int = Field(default=100, ge=1, description="count when a list request gives none")
    max_page_size: int = Field(
        default=1000, ge=1, description="upper bound for count (advertised as filter.maxResults)"
    )
    max_bulk_operations: int = Field(default=1000, ge=1, description="advertised bulk.maxOperations")
    max_patch_operations: int = Field(
        default=1000,
        ge=1,
        description="most operations one PATCH request may carry; more get 413 before any is read",
    )
    log_format: str = Field(
        default="text",
        description="text or json (one object per line with request id and directory)",
    )
    log_level: str = Field(default="INFO", description="Python log level")
    access_log: bool = Field(
        default=False,
        description=(
            "one log line per SCIM request (method, path without query, status, duration, request "
            "id, directory); off by default, since /metrics already counts requests"
        ),
    )

    event_retention_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description=(
            "change events older than this are deleted (by the webhook worker, hourly, or "
            "kubescim events prune); webhooks and the events API see what is kept"
        ),
    )
    event_buffer: int = Field(
        default=10_000,
        ge=100,
        le=1_000_000,
        description=(
            "configmaps:// and secrets:// storage: the most change events each server process keeps "
            "in memory per directory (lost on restart); a reader whose events cursor is older than "
            "the oldest kept gets 410 and must re-read the directory"
        ),
    )
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, le=120, description="a webhook delivery not answered within this fails"
    )
    webhook_retry_base_seconds: float = Field(
        default=1.0,
        gt=0,
        description="first retry delay of a failed delivery; it doubles per attempt, with full jitter",
    )
    webhook_retry_max_seconds: float = Field(
        default=600.0, gt=0, description="longest delay between two attempts at one event"
    )
    webhook_dead_letter_after_seconds: float = Field(
        default=3 * 86400.0,
        gt=0,
        description=(
            "an event still failing this long after it occurred is dead-lettered and delivery "
            "moves on (kubescim webhooks redeliver replays it)"
        ),
    )
    webhook_lease_seconds: float = Field(
        default=60.0,
        gt=0,
        description=(
            "how long a worker's claim on a (webhook, directory) stream lasts: a killed worker's "
            "streams resume elsewhere after this"
        ),
    )
    webhook_concurrency: int = Field(
        default=4, ge=1, le=256, description="streams one webhook worker delivers at once (each in order)"
    )
    webhook_metrics_port: int | None = Field(
        default=None, description="serve the webhook worker's Prometheus metrics on this port"
    )

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
