"""The composition root: settings in, a running Juncture out. Nothing else builds objects
from settings."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from juncture.api.app import create_app
from juncture.api.auth import WriteKeys
from juncture.api.decide import Decider
from juncture.channels.base import Channel
from juncture.channels.email import SmtpEmail
from juncture.channels.push import JsonPush
from juncture.channels.recording import RecordingChannel
from juncture.channels.sms import TWILIO_API, JsonSms, TwilioSms
from juncture.channels.templates import Templates
from juncture.channels.webhook import Webhook
from juncture.core import channels as channel_table
from juncture.core.engine import EngineConfig
from juncture.core.identity import ExternalId, IdentityConfig
from juncture.core.journeys.arbitration import Cap, Policy, QuietHours
from juncture.core.journeys.orchestrate import JourneyConfig
from juncture.core.profile.model import ProfileConfig
from juncture.core.signals import SignalConfig
from juncture.core.stage import StageConfig
from juncture.metrics import Metrics
from juncture.runtime.clock import Clock, SystemClock
from juncture.runtime.committer import GroupCommitter
from juncture.runtime.dispatcher import Dispatcher, RetryPolicy
from juncture.runtime.engine import Engine, JourneySource
from juncture.runtime.erasure import Eraser
from juncture.runtime.ingest import Ingestor
from juncture.runtime.membership import StoredSegments
from juncture.runtime.outbound import DispatcherThread
from juncture.runtime.scheduler import Scheduler
from juncture.runtime.segments import Mover
from juncture.settings import Settings, parse_caps
from juncture.store import migrate
from juncture.store.base import AppendResult, Processor
from juncture.store.journeys import JourneyStore
from juncture.store.outbox import Outbox
from juncture.store.placements import Placements
from juncture.store.sql import SqlStore

log = logging.getLogger("juncture")


@dataclass
class Juncture:
    settings: Settings
    store: SqlStore
    clock: Clock
    metrics: Metrics
    committer: GroupCommitter
    ingestor: Ingestor
    keys: WriteKeys
    engine: Engine
    scheduler: Scheduler | None = None
    dispatcher: DispatcherThread | None = None
    journey_store: JourneyStore | None = None  # the engine's journeys, when kept in the store

    def start_dispatcher(self) -> None:
        """Live mode: send the outbox through the configured channels in the background."""
        channels = build_channels(self.settings)
        configured = ", ".join(sorted(channels)) or "none"
        missing = ", ".join(c for c in CHANNELS if c not in channels) or "none"
        log.info("channels configured: %s; not configured: %s", configured, missing)
        policy = RetryPolicy(max_attempts=self.settings.dispatch_max_attempts)

        def make() -> Dispatcher:
            return Dispatcher(self.store, channels, self.clock, policy)

        self.dispatcher = DispatcherThread(make, self.settings.dispatch_interval)
        self.dispatcher.start()

    def start_scheduler(self, interval: float = 1.0) -> None:
        """Live mode: fire due timers on wall time."""
        self.scheduler = Scheduler(self.committer, interval)
        self.scheduler.start()

    def segment_mover(self) -> Mover:
        """Batch changes of segment membership through this engine and its committer."""
        return Mover(self.engine, self.committer.run_sync)

    def app(self) -> FastAPI:
        token = self.settings.admin_token
        cap = self.settings.onsite_cap_per_day
        decider = Decider(Placements(self.store.engine), self.clock, cap, Templates())
        return create_app(
            store=self.store,
            ingestor=self.ingestor,
            keys=self.keys,
            metrics=self.metrics,
            admin_token=token.get_secret_value() if token else None,
            journey_store=self.journey_store or JourneyStore(self.store.engine),
            outbox=Outbox(self.store.engine),
            decider=decider,
            segment_mover=self.segment_mover(),
            body_timeout=self.settings.body_timeout,
        )

    def close(self) -> None:
        if self.dispatcher is not None:
            self.dispatcher.stop()
        if self.scheduler is not None:
            self.scheduler.stop()
        self.committer.stop()
        if self.journey_store is not None:
            self.journey_store.close()
        self.store.close()


CHANNELS = channel_table.SENT  # the channels an adapter sends (onsite is served by decide)


def build_channels(settings: Settings) -> dict[str, Channel]:
    """The channels the settings configure; an unconfigured one is absent."""
    if tuple(ADAPTERS) != CHANNELS:
        raise RuntimeError(f"wiring.ADAPTERS {tuple(ADAPTERS)} are not the channels {CHANNELS}")
    found: dict[str, Channel] = {}
    for name, adapter in ADAPTERS.items():
        if (channel := adapter(settings)) is not None:
            found[name] = channel
    for name in settings.recorded_channels():
        found[name] = RecordingChannel()
    return found


def _email(settings: Settings) -> Channel | None:
    if settings.smtp_url is None or not settings.email_from:
        return None
    return SmtpEmail(settings.smtp_url.get_secret_value(), sender=settings.email_from)


def _webhook(settings: Settings) -> Channel | None:
    if settings.webhook_secret is None:
        return None
    return Webhook(secret=settings.webhook_secret.get_secret_value())


def _push(settings: Settings) -> Channel | None:
    if not settings.push_url:
        return None
    token = settings.push_token.get_secret_value() if settings.push_token else None
    return JsonPush(settings.push_url, token=token)


def _sms(settings: Settings) -> Channel | None:
    token = settings.sms_token.get_secret_value() if settings.sms_token else None
    if settings.sms_from is None:
        return None
    if settings.sms_kind == "twilio":
        if not settings.sms_account_sid or token is None:
            return None
        return TwilioSms(
            account_sid=settings.sms_account_sid,
            auth_token=token,
            sender=settings.sms_from,
            base_url=settings.sms_url or TWILIO_API,
        )
    if settings.sms_url is None:
        return None
    return JsonSms(settings.sms_url, sender=settings.sms_from, token=token)


# The adapter of each channel an adapter sends, built from the settings (None: not
# configured), in the order of juncture.core.channels; build_channels checks the two agree.
ADAPTERS: dict[str, Callable[[Settings], Channel | None]] = {
    "email": _email,
    "sms": _sms,
    "push": _push,
    "webhook": _webhook,
}


def open_store(settings: Settings) -> SqlStore:
    store = SqlStore(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
    if settings.auto_migrate:
        migrate.upgrade(store.engine)
    return store


def engine_config(settings: Settings) -> EngineConfig:
    """Identity linking, thresholds and arbitration as the settings say."""
    return EngineConfig(
        identity=_identity(settings),
        profile=ProfileConfig(session_gap=settings.session_gap, revisit_gap=settings.revisit_gap),
        signals=SignalConfig(
            cart_quiet=settings.cart_abandon_after,
            checkout_quiet=settings.checkout_abandon_after,
            channel_switch_window=settings.channel_switch_window,
            repeat_views=settings.interest_repeat_views,
            long_view_seconds=settings.interest_long_view.total_seconds(),
            strong_cart_value=settings.strong_cart_value,
            post_purchase_window=settings.post_purchase_window,
        ),
        stage=StageConfig(
            lapsed_after=settings.stage_lapsed_after,
            loyalty_orders=settings.stage_loyalty_orders,
            engaged_within=settings.stage_engaged_within,
        ),
        journeys=_journeys(settings),
    )


def _identity(settings: Settings) -> IdentityConfig:
    external = tuple(
        ExternalId(kind=name, keys=(name,))
        for name in (n.strip() for n in settings.external_ids.split(","))
        if name
    )
    return IdentityConfig(
        link_email=settings.link_email,
        link_phone=settings.link_phone,
        external_ids=external,
        max_users_per_device=settings.max_users_per_device,
        max_anonymous_per_device=settings.max_anonymous_per_device,
    )


def _journeys(settings: Settings) -> JourneyConfig:
    caps = {
        channel: Cap(day=day, week=week)
        for channel, (day, week) in parse_caps(settings.channel_caps).items()
    }
    quiet = None
    if settings.quiet_hours != "off":
        start, end = (dt.time.fromisoformat(x) for x in settings.quiet_hours.split("-"))
        quiet = QuietHours(start=start, end=end)
    return JourneyConfig(
        policy=Policy(
            channel_caps=caps,
            global_cap=Cap(day=settings.cap_per_day, week=settings.cap_per_week),
            quiet_hours=quiet,
            global_control_percent=settings.global_control_percent,
            default_timezone=settings.default_timezone,
        ),
        entry_lag=dt.timedelta(hours=settings.journey_entry_lag_hours),
    )


@contextmanager
def segment_mover(settings: Settings, store: SqlStore) -> Iterator[Mover]:
    """For commands that run beside the server (``juncture segments apply``): the engine as
    :func:`build` makes it, on a writer of its own, to emit the events of batch changes."""
    journeys = JourneyStore(store.engine)
    engine = Engine(
        SystemClock(), engine_config(settings), journeys=journeys, segments=StoredSegments()
    )
    try:
        with _own_writer(store) as run:
            yield Mover(engine, run)
    finally:
        journeys.close()


@contextmanager
def eraser(store: SqlStore) -> Iterator[Eraser]:
    """For ``juncture profiles erase`` beside the server: erasure on a writer of its own."""
    with _own_writer(store) as run:
        yield Eraser(run, SystemClock())


@contextmanager
def _own_writer(store: SqlStore) -> Iterator[Callable[[Processor], AppendResult]]:
    """Runs a processor in a transaction of a writer of its own, closed afterwards."""
    writer = store.writer()
    try:
        yield lambda process: writer.append([], [], process)
    finally:
        writer.close()


def build(
    settings: Settings, clock: Clock | None = None, journeys: JourneySource | None = None
) -> Juncture:
    store = open_store(settings)
    metrics = Metrics()

    def observe(result: AppendResult, requests: int) -> None:
        events = len(result.stored) + result.duplicates
        if not events:
            return  # a timer tick or a batch move: no tracked events to count
        metrics.commit_events.observe(events)
        metrics.commit_requests.observe(requests)

    the_clock = clock or SystemClock()
    stored = JourneyStore(store.engine) if journeys is None else None  # `journeys apply`
    engine = Engine(
        the_clock,
        engine_config(settings),
        journeys=journeys or stored,
        segments=StoredSegments(),
    )
    committer = GroupCommitter(
        store,
        max_events=settings.max_commit_events,
        on_commit=observe,
        process=engine.process if settings.engine else None,
        timers=engine.repair_timers if settings.engine else None,
    )
    committer.start()
    return Juncture(
        settings=settings,
        store=store,
        clock=the_clock,
        metrics=metrics,
        committer=committer,
        ingestor=Ingestor(committer, the_clock, metrics),
        keys=WriteKeys(settings.write_key_list(), store),
        engine=engine,
        journey_store=stored,
    )


class JsonFormatter(logging.Formatter):
    """One JSON object per line. Messages carry counts and ids of sources, never personal
    data: user ids, traits and bodies are not logged anywhere in Juncture."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "t": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record is emitted, not the stream of the
    moment logging was configured: a caller that swaps stderr (a test runner, an embedding
    application) and closes its stream afterwards must not break later log lines."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_logging(level: str) -> None:
    handler = _StderrHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
