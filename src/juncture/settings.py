"""Settings, read once at the entry point from ``JUNCTURE_*`` variables and CLI flags.

No other module reads the environment: the settings object is passed down.
"""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JUNCTURE_", extra="ignore")

    database_url: str = "sqlite:///./juncture.db"
    redis_url: str | None = None
    write_keys: SecretStr = SecretStr("")
    admin_token: SecretStr | None = None
    smtp_url: SecretStr | None = None  # smtp://user:pass@host:port?starttls=true
    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=0, le=65535)
    sqlite_synchronous: str = "FULL"
    auto_migrate: bool = True
    log_level: str = "info"
    max_commit_events: int = Field(default=5000, ge=1)

    # Channels: one left unset is absent, and its messages dead-letter saying so.
    email_from: str | None = None  # "Shop <news@shop.example>"; email needs it and smtp_url
    webhook_secret: SecretStr | None = None  # HMAC key of X-Juncture-Signature
    sms_kind: Literal["json", "twilio"] = "json"
    sms_url: str | None = None  # json: the provider's endpoint; twilio: the API base URL
    sms_from: str | None = None  # sender id or number
    sms_account_sid: str | None = None  # twilio: the AccountSid (HTTP Basic user)
    sms_token: SecretStr | None = None  # json: bearer token; twilio: the AuthToken
    push_url: str | None = None
    push_token: SecretStr | None = None
    record_channels: str = ""  # "email,sms": record instead of sending (demo, dry runs)
    dispatch_max_attempts: int = Field(default=6, ge=1)
    dispatch_interval: float = Field(default=1.0, gt=0)  # seconds between idle rounds
    onsite_cap_per_day: int = Field(default=3, ge=0)  # placements shown per profile, 24 h

    @field_validator("sqlite_synchronous")
    @classmethod
    def _sync_mode(cls, value: str) -> str:
        mode = value.upper()
        if mode not in {"FULL", "NORMAL", "EXTRA"}:
            raise ValueError("must be FULL, NORMAL or EXTRA")
        return mode

    def recorded_channels(self) -> list[str]:
        return [c.strip() for c in self.record_channels.split(",") if c.strip()]

    def write_key_list(self) -> list[str]:
        return [k.strip() for k in self.write_keys.get_secret_value().split(",") if k.strip()]


def key_hash(write_key: str) -> str:
    return hashlib.sha256(write_key.encode()).hexdigest()


def source_of(write_key: str) -> str:
    """The source id of a write key: stable, not secret, safe to log and store."""
    return "src_" + key_hash(write_key)[:12]
