"""Settings, read once at the entry point from ``JUNCTURE_*`` variables and CLI flags.

No other module reads the environment: the settings object is passed down.
"""

from __future__ import annotations

import hashlib

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JUNCTURE_", extra="ignore")

    database_url: str = "sqlite:///./juncture.db"
    redis_url: str | None = None
    write_keys: SecretStr = SecretStr("")
    admin_token: SecretStr | None = None
    smtp_url: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=0, le=65535)
    sqlite_synchronous: str = "FULL"
    auto_migrate: bool = True
    log_level: str = "info"
    max_commit_events: int = Field(default=5000, ge=1)
    # Off: events are only validated, deduplicated and stored (no profiles, signals or
    # timers). For measuring ingestion alone (`juncture bench ingest`) and bulk loads.
    engine: bool = True

    @field_validator("sqlite_synchronous")
    @classmethod
    def _sync_mode(cls, value: str) -> str:
        mode = value.upper()
        if mode not in {"FULL", "NORMAL", "EXTRA"}:
            raise ValueError("must be FULL, NORMAL or EXTRA")
        return mode

    def write_key_list(self) -> list[str]:
        return [k.strip() for k in self.write_keys.get_secret_value().split(",") if k.strip()]


def key_hash(write_key: str) -> str:
    return hashlib.sha256(write_key.encode()).hexdigest()


def source_of(write_key: str) -> str:
    """The source id of a write key: stable, not secret, safe to log and store."""
    return "src_" + key_hash(write_key)[:12]
