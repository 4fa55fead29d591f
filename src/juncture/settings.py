"""Settings, read once at the entry point from ``JUNCTURE_*`` variables and CLI flags.

No other module reads the environment: the settings object is passed down.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from juncture.definitions.reader import parse_duration
from juncture.errors import InvalidSettings


def _duration(value: object) -> object:
    """``"10m"``, ``"24h"``, ``"90d"``, ``"1h30m"`` or ISO 8601 ``"PT2H"``; a timedelta as is."""
    return value if isinstance(value, dt.timedelta) else parse_duration(value)


Duration = Annotated[dt.timedelta, BeforeValidator(_duration)]


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
    # Bounds on each client of `serve`: seconds to send a request body whole (else 408), to
    # keep an idle connection open, and the most connections and requests at once (beyond:
    # 503).
    body_timeout: float = Field(default=10.0, gt=0)
    keep_alive_timeout: float = Field(default=5.0, gt=0)
    max_connections: int = Field(default=2048, ge=1)
    max_commit_events: int = Field(default=5000, ge=1)
    # Off: events are only validated, deduplicated and stored (no profiles, signals or
    # timers). For measuring ingestion alone (`juncture bench ingest`) and bulk loads.
    engine: bool = True

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

    # Identity: which shared identifiers merge profiles (user ids and anonymous ids always do).
    link_email: bool = False
    link_phone: bool = False
    external_ids: str = "loyalty_id"  # trait/property names naming a person, comma-separated
    max_users_per_device: int = Field(default=3, ge=1)  # a shared device stops linking beyond
    max_anonymous_per_device: int = Field(default=1, ge=0)  # 1: never merges two anonymous ids

    # Thresholds of the signals, the profile and the journey stage (README: Signals and
    # stages). The defaults are the core's.
    cart_abandon_after: Duration = dt.timedelta(minutes=30)  # quiet cart -> Cart Abandoned
    checkout_abandon_after: Duration = dt.timedelta(hours=1)  # -> Checkout Abandoned
    channel_switch_window: Duration = dt.timedelta(hours=24)
    interest_repeat_views: int = Field(default=3, ge=1)  # views of a product: Product Interest
    interest_long_view: Duration = dt.timedelta(seconds=60)  # time on a product: the same
    strong_cart_value: float = Field(default=100.0, ge=0)  # Cart Intent's `strong`
    post_purchase_window: Duration = dt.timedelta(days=90)
    session_gap: Duration = dt.timedelta(minutes=30)  # inactivity that ends a session
    revisit_gap: Duration = dt.timedelta(minutes=30)  # pause before a product view is a revisit
    stage_engaged_within: Duration = dt.timedelta(days=30)  # one order + activity: loyalty
    stage_lapsed_after: Duration = dt.timedelta(days=90)  # a customer's inactivity: lapsed
    stage_loyalty_orders: int = Field(default=2, ge=1)

    # Arbitration of marketing across all journeys (transactional messages are exempt).
    cap_per_day: int | None = Field(default=None, ge=0)  # all channels, customer's local day
    cap_per_week: int | None = Field(default=None, ge=0)  # all channels, weeks from Monday
    channel_caps: str = ""  # per channel "day/week": "email=2/5,sms=1/2" ("-" for none)
    quiet_hours: str = "off"  # customer's local time for email/SMS/push, e.g. "21:00-08:00"
    global_control_percent: float = Field(default=0.0, ge=0, lt=100)  # no journey messages them
    default_timezone: str = "UTC"  # for customers without a `timezone` trait
    journey_entry_lag_hours: float = Field(default=24.0, gt=0)  # older events start no journey

    @field_validator("sqlite_synchronous")
    @classmethod
    def _sync_mode(cls, value: str) -> str:
        mode = value.upper()
        if mode not in {"FULL", "NORMAL", "EXTRA"}:
            raise ValueError("must be FULL, NORMAL or EXTRA")
        return mode

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str) -> str:
        if value.strip().lower() in {"", "off", "none"}:
            return "off"
        try:
            start, end = (dt.time.fromisoformat(part.strip()) for part in value.split("-"))
        except ValueError as exc:
            raise ValueError("quiet hours are HH:MM-HH:MM (e.g. 21:00-08:00) or off") from exc
        return f"{start:%H:%M}-{end:%H:%M}"

    @field_validator("channel_caps")
    @classmethod
    def _channel_caps(cls, value: str) -> str:
        parse_caps(value)
        return value

    def recorded_channels(self) -> list[str]:
        return [c.strip() for c in self.record_channels.split(",") if c.strip()]

    def write_key_list(self) -> list[str]:
        return [k.strip() for k in self.write_keys.get_secret_value().split(",") if k.strip()]


def load(**flags: object) -> Settings:
    """Settings from the ``JUNCTURE_*`` environment, overridden by the flags given (``None``:
    not given). A value that does not validate raises :class:`InvalidSettings` naming the
    variable or flag and what is wrong with it (never the value of a secret)."""
    given = {k: v for k, v in flags.items() if v is not None}
    try:
        return Settings(**given)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise InvalidSettings(_describe(exc, given)) from None


def _describe(exc: ValidationError, given: dict[str, object]) -> str:
    problems = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "?"
        where = f"--{name.replace('_', '-')}" if name in given else f"JUNCTURE_{name.upper()}"
        reason = str(error["msg"]).removeprefix("Value error, ")
        field = Settings.model_fields.get(name)
        secret = field is not None and "SecretStr" in repr(field.annotation)
        shown = "" if secret or "input" not in error else f" (got {error['input']!r})"
        problems.append(f"invalid setting {where}: {reason}{shown}")
    return "\n".join(problems)


def key_hash(write_key: str) -> str:
    return hashlib.sha256(write_key.encode()).hexdigest()


def source_of(write_key: str) -> str:
    """The source id of a write key: stable, not secret, safe to log and store."""
    return "src_" + key_hash(write_key)[:12]


def parse_caps(text: str) -> dict[str, tuple[int | None, int | None]]:
    """``"email=2/5,sms=1/-"`` as ``{"email": (2, 5), "sms": (1, None)}``.

    >>> parse_caps("email=2/5, sms=1/-")
    {'email': (2, 5), 'sms': (1, None)}
    """
    caps: dict[str, tuple[int | None, int | None]] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        try:
            channel, limits = item.split("=")
            day, week = (None if x.strip() == "-" else int(x) for x in limits.split("/"))
        except ValueError as exc:
            raise ValueError(
                f"channel cap {item!r}: write channel=DAY/WEEK, e.g. email=2/5"
            ) from exc
        caps[channel.strip()] = (day, week)
    return caps
