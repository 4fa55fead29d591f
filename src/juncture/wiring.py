"""The composition root: settings in, a running Juncture out. Nothing else builds objects
from settings."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import msgspec
from fastapi import FastAPI
from pydantic import SecretStr

from juncture.api import worker as worker_api
from juncture.api.app import create_app
from juncture.api.auth import WriteKeys
from juncture.channels import lookups
from juncture.channels.base import Channel
from juncture.channels.email import SmtpEmail
from juncture.channels.links import Links
from juncture.channels.push import JsonPush
from juncture.channels.recording import RecordingChannel
from juncture.channels.sms import TWILIO_API, JsonSms, TwilioSms
from juncture.channels.targets import TargetPolicy
from juncture.channels.templates import Templates
from juncture.channels.webhook import Webhook
from juncture.core import channels as channel_table
from juncture.core import cleansing, collection
from juncture.core.events import Event
from juncture.core.identity import ExternalId, IdentityConfig
from juncture.core.journeys.arbitration import Cap, Policy
from juncture.core.journeys.orchestrate import JourneyConfig
from juncture.core.pipeline import EngineConfig
from juncture.core.profile.model import ProfileConfig
from juncture.core.signals import SignalConfig
from juncture.core.stage import StageConfig
from juncture.errors import InvalidSettings
from juncture.log import Log
from juncture.log import connect as connect_log
from juncture.metrics import Metrics
from juncture.recommend.filters import Rule, parse_rules
from juncture.runtime import read_cache, recommend_slots, unit_of_work
from juncture.runtime.campaigns import CampaignJob, Campaigns
from juncture.runtime.cart_links import CartLinks
from juncture.runtime.clock import Clock, SystemClock
from juncture.runtime.committer import GroupCommitter
from juncture.runtime.decide import Decider
from juncture.runtime.dispatcher import Dispatcher, RetryPolicy
from juncture.runtime.engine import Engine, JourneySource
from juncture.runtime.engine_process import EngineProcess
from juncture.runtime.erasure import Eraser
from juncture.runtime.follower import ENGINE, EngineBehind, LogFollower
from juncture.runtime.ingest import Ingestor
from juncture.runtime.limits import RateLimits
from juncture.runtime.log_lag import LogLag
from juncture.runtime.measurement import Measurement
from juncture.runtime.membership import StoredSegments
from juncture.runtime.outbound import DispatcherThread
from juncture.runtime.quality import Tally, TallyFlusher
from juncture.runtime.read_cache import CachedCatalog, CachedProgrammes
from juncture.runtime.recommend import Recommendations, RecsConfig, Trainer
from juncture.runtime.retention import RetentionJob
from juncture.runtime.retention import Windows as RetentionWindows
from juncture.runtime.scheduler import Scheduler
from juncture.runtime.segments import Mover, Segments
from juncture.runtime.standing import Standing
from juncture.runtime.summaries import SummaryJob
from juncture.runtime.touchpoints import Touchpoints
from juncture.runtime.tracking_plans import load as load_plans
from juncture.runtime.unit_of_work import AppendResult, Processor
from juncture.runtime.worker import Worker, position_name
from juncture.settings import Settings
from juncture.store.campaign_runs import CampaignRuns
from juncture.store.catalog import Catalog
from juncture.store.leases import Leases, hold_partitions, owners
from juncture.store.quality import QualityStore
from juncture.store.recipients import Recipients
from juncture.store.retention import Retention
from juncture.store.sql import SqlStore
from juncture.store.state import StateSql

log = logging.getLogger("juncture")
C = TypeVar("C")


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
    follower: LogFollower | None = None  # the engine behind the log, on a thread here
    engine_process: EngineProcess | None = None  # or in a process of its own
    scheduler: Scheduler | None = None
    dispatcher: DispatcherThread | None = None
    recs: Recommendations | None = None  # built with the app
    recs_trainer: Trainer | None = None
    reads: tuple[CachedCatalog, CachedProgrammes] | None = None  # the cached table reads
    quality_flusher: TallyFlusher | None = None  # writes the data-quality tallies
    retention: RetentionJob | None = None  # deletes what is past its window
    summaries: SummaryJob | None = None  # keeps the dashboard's summaries current
    campaigns: CampaignJob | None = None  # starts scheduled and throttled campaigns

    def start_dispatcher(self) -> None:
        """Live mode: send the outbox through the configured channels in the background."""
        channels = build_channels(self.settings)
        configured = ", ".join(sorted(channels)) or "none"
        missing = ", ".join(c for c in CHANNELS if c not in channels) or "none"
        log.info("channels configured: %s; not configured: %s", configured, missing)
        policy = RetryPolicy(max_attempts=self.settings.dispatch_max_attempts)

        links, recipients = self.links(), Recipients(self.store.engine)
        if links is None and isinstance(channels.get("email"), SmtpEmail):
            log.warning("marketing email will not be sent: it needs an unsubscribe link "
                        "(set JUNCTURE_PUBLIC_URL and JUNCTURE_LINKS_SECRET)")  # fmt: skip

        def make() -> Dispatcher:
            return Dispatcher(
                self.store.outbox,
                channels,
                self.clock,
                policy,
                links=links,
                recipients=recipients,
                templates=self.templates(),
                tracking=_tracking(self.settings),
                shelf=functools.partial(recommend_slots.for_profile, self.recommendations()),
                lookups=lookups.reader(self.store, self.clock.now),
            )

        self.dispatcher = DispatcherThread(make, self.settings.dispatch_interval)
        self.dispatcher.start()

    def start_scheduler(self, interval: float = 1.0) -> None:
        """Live mode: fire due timers on wall time, on the engine's writer (none here when
        the engine runs in a process of its own: that process ticks; nor with a distributed
        log: a worker ticks)."""
        if (self.behind and self.follower is None) or self.distributed:
            return
        self.scheduler = Scheduler(self.follower or self.committer, interval)
        self.scheduler.start()

    def start_retention(self) -> None:
        """Live mode: the retention job, every ``JUNCTURE_RETENTION_INTERVAL`` seconds, when
        a window is set."""
        windows = retention_windows(self.settings)
        if not windows.any():
            return
        self.retention = RetentionJob(
            Retention(self.store.engine),
            windows,
            self.clock,
            functools.partial(applied_through, self.settings, self.store),
            self.settings.retention_interval,
        )
        self.retention.start()

    def start_summaries(self) -> None:
        """Live mode: count new events into the dashboard's summaries every
        ``JUNCTURE_SUMMARY_INTERVAL`` seconds, and sample the engine's lag once a minute."""
        behind = self.engine_behind()
        lag = (behind, self.store.lag_samples) if behind is not None else None
        self.summaries = SummaryJob(
            self.store.activity, self.clock, self.settings.summary_interval, lag
        )
        self.summaries.start()

    def start_campaigns(self) -> None:
        """Live mode: start the scheduled and throttled campaigns as they fall due."""
        self.campaigns = CampaignJob(self.campaign_launcher())
        self.campaigns.start()

    def campaign_launcher(self) -> Campaigns:
        """Campaigns on this store, its segments and its ingestion."""
        segments = Segments(self.store.segments, self.segment_mover())
        return Campaigns(
            self.store.journeys, segments, Recipients(self.store.engine), self.ingestor,
            self.clock, templates=self.templates().names, runs=CampaignRuns(self.store.engine),
            config=self.engine.config.journeys,
        )  # fmt: skip

    def segment_mover(self) -> Mover:
        """Batch changes of segment membership through this engine and its committer."""
        return Mover(self.engine, self.batch_run())

    def app(self) -> FastAPI:
        token = self.settings.admin_token
        cap = self.settings.onsite_cap_per_day
        templates = self.templates()
        secret = _secret(self.settings.identity_secret)
        cart_links = CartLinks(secret, self.clock) if secret else None
        catalog, programmes = self.cached_reads()
        touchpoints = Touchpoints(catalog, programmes, cart_links)
        decider = Decider(
            self.store.placements, self.clock, cap, templates, touchpoints,
            recommendations=self.recommendations(),
        )  # fmt: skip
        return create_app(
            store=self.store,
            ingestor=self.ingestor,
            keys=self.keys,
            metrics=self.metrics,
            admin_token=token.get_secret_value() if token else None,
            outbox=self.store.outbox,
            decider=decider,
            journey_store=self.store.journeys,
            segment_ops=Segments(self.store.segments, self.segment_mover()),
            campaigns=self.campaign_launcher(),
            eraser=Eraser(self.batch_run(), self.clock),
            engine_behind=self.engine_behind(),
            cors_origins=self.settings.cors_origins.split(","),
            identity_secret=_secret(self.settings.identity_secret),
            limits=self.rate_limits(),
            recs=self.recommendations(),
            links=self.links(),
            templates=templates,
            inbound_token=_secret(self.settings.inbound_token),
            measurement=Measurement(
                self.store.journeys,
                self.store.journey_measures,
                self.store.customer_orders,
                self.batch_run(),
                engine_config(self.settings),
            ),
            body_timeout=self.settings.body_timeout,
            sending=sending(self.settings),
        )

    def templates(self) -> Templates:
        """The templates: the retailer's folder (``JUNCTURE_TEMPLATES_DIR``) first."""
        return templates(self.settings)

    def links(self) -> Links | None:
        """The signed links in messages (unsubscribe, clicks, opens), when the settings give
        the public URL and the secret."""
        secret, url = _secret(self.settings.links_secret), self.settings.public_url
        return Links(secret, url) if secret and url else None

    def rate_limits(self) -> RateLimits | None:
        """The tracking API's limits, when the settings set any."""
        s = self.settings
        if not (s.rate_limit_per_key or s.rate_limit_per_address):
            return None
        return RateLimits(
            per_source=s.rate_limit_per_key,
            per_address=s.rate_limit_per_address,
            burst=s.rate_limit_burst,
            clock=self.clock,
        )

    def recommendations(self) -> Recommendations:
        """This store's recommendations (built once; trained at first use)."""
        if self.recs is None:
            catalog = self.cached_reads()[0]
            self.recs = recommendations(self.settings, self.store, self.clock, catalog)
        return self.recs

    def cached_reads(self) -> tuple[CachedCatalog, CachedProgrammes]:
        """The retailer's tables as the shopper-facing reads see them (built once: one
        watch of the writes per process)."""
        if self.reads is None:
            store = self.store
            cache = read_cache.ReadCache(
                read_cache.watch(store.catalog), self.settings.read_cache_seconds
            )
            self.reads = (
                CachedCatalog(store.catalog, cache),
                CachedProgrammes(store.programmes, cache),
            )
        return self.reads

    def start_recs_trainer(self) -> None:
        """Live mode: train the recommendations now and every ``recs_train_every`` s."""
        if self.settings.recs_train_every > 0:
            every = self.settings.recs_train_every
            self.recs_trainer = Trainer(self.recommendations(), every)
            self.recs_trainer.start()

    def batch_run(self) -> Callable[[Processor], object]:
        """Where batch changes run (segment moves, erasures, lifetime values): on the
        engine's writer; with the engine in a process of its own, on this server's writer,
        holding the engine's position so that they and the engine's commits never
        interleave; with the distributed log, holding every partition's position."""
        if self.follower is not None:
            return self.follower.run_sync
        run = self.committer.run_sync
        if self.distributed:
            s = self.settings
            names = [position_name(s.log_name, p) for p in range(s.log_partitions)]
            return lambda process: run(
                functools.partial(_all_partitions, names, self.clock.now(), process)
            )
        if not self.behind:
            return run
        return lambda process: run(functools.partial(_exclusive, process))

    @property
    def behind(self) -> bool:
        """Whether the engine runs behind the log (on a thread here, or in a process)."""
        return self.settings.engine and self.settings.engine_mode == "behind"

    @property
    def distributed(self) -> bool:
        """Whether events go to a distributed log that ``juncture worker``s apply: this
        process is then an ingestion and API node without an engine."""
        return self.ingestor.log is not None

    def start_engine_process(self) -> None:
        """``juncture serve`` with the engine behind the log in a process of its own: start
        it (``juncture engine``) and keep it running."""
        if (
            self.behind
            and not self.distributed
            and self.follower is None
            and not self.engine_process
        ):
            url = {"JUNCTURE_DATABASE_URL": self.settings.database_url}
            held = ("--hold-timers",) if self.engine.hold_timers else ()
            self.engine_process = EngineProcess(url, held)
            self.engine_process.start()

    def engine_behind(self) -> Standing | None:
        """Where the engine stands behind the log: the distributed log's workers, or the
        embedded log's engine (None: it runs inline or not at all)."""
        if self.ingestor.log is not None:
            return log_lag(self.settings, self.store, self.ingestor.log)
        if not self.behind:
            return None
        process = self.engine_process
        return EngineBehind(
            self.store.log_positions,
            self.committer,
            follower=self.follower,
            alive=process.alive if process is not None else None,
            wait=self.settings.consistent_read_wait,
            max_lag=self.settings.engine_max_lag,
        )

    def close(self) -> None:
        if self.dispatcher is not None:
            self.dispatcher.stop()
        if self.scheduler is not None:
            self.scheduler.stop()
        if self.recs_trainer is not None:
            self.recs_trainer.stop()
        if self.follower is not None:
            self.follower.stop()
        if self.engine_process is not None:
            self.engine_process.stop()
        if self.retention is not None:
            self.retention.stop()
        if self.campaigns is not None:
            self.campaigns.stop()
        if self.summaries is not None:
            self.summaries.stop()
        if self.quality_flusher is not None:
            self.quality_flusher.stop()
        self.committer.stop()
        if self.ingestor.log is not None:
            self.ingestor.log.close()
        self.store.close()


def _recs_rules(text: str) -> tuple[Rule, ...]:
    try:
        return parse_rules(text)
    except ValueError as exc:
        raise InvalidSettings(f"JUNCTURE_RECS_RULES: {exc}") from exc


def _tracking(settings: Settings) -> list[str]:
    """What the dispatcher tracks in email: ``clicks``, ``opens``."""
    wanted = {"clicks": settings.track_clicks, "opens": settings.track_opens}
    return [name for name, on in wanted.items() if on]


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def _exclusive(process: Processor, state: StateSql, events: list[Event]) -> list[Event]:
    state.lock_position(ENGINE)
    return process(state, events)


def _all_partitions(
    names: list[str], at: dt.datetime, process: Processor, state: StateSql, events: list[Event]
) -> list[Event]:
    hold_partitions(state, names, at)
    return process(state, events)


CHANNELS = channel_table.SENT  # the channels an adapter sends (onsite is served by decide)


def templates(settings: Settings) -> Templates:
    """The templates: the retailer's folder (``JUNCTURE_TEMPLATES_DIR``) first."""
    own, s = settings.templates_dir, settings
    brand = {"name": s.brand_name, "logo_url": s.brand_logo_url or "",
             "color": s.brand_color, "background": s.brand_background}  # fmt: skip
    return Templates(own=Path(own) if own else None, brand=brand)


def sending(settings: Settings) -> list[str]:
    """The channels that reach people (those with a recipient) and would really send here:
    configured as :data:`ADAPTERS` build them, and not only recorded."""
    sms = settings.sms_from is not None and (
        settings.sms_url is not None
        if settings.sms_kind != "twilio"
        else bool(settings.sms_account_sid and settings.sms_token)
    )
    configured = {
        "email": settings.smtp_url is not None and bool(settings.email_from),
        "sms": sms,
        "push": bool(settings.push_url),
    }
    recorded = set(settings.recorded_channels())
    return [name for name, on in configured.items() if on and name not in recorded]


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
    url = settings.smtp_url.get_secret_value()
    return SmtpEmail(url, sender=settings.email_from, now=SystemClock().now)


def _webhook(settings: Settings) -> Channel | None:
    if settings.webhook_secret is None:
        return None
    return Webhook(
        secret=settings.webhook_secret.get_secret_value(),
        now=SystemClock().now,
        targets=TargetPolicy.parse(settings.webhook_allow),
    )


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
        store.migrate()
    return store


def open_log(settings: Settings) -> Log | None:
    """The distributed log of ``JUNCTURE_LOG_URL`` (None: the embedded table-log)."""
    if settings.log_url is None:
        return None
    return connect_log(
        settings.log_url,
        settings.log_partitions,
        name=settings.log_name,
        dedup_seconds=settings.log_dedup_window,
    )


def recommendations(
    settings: Settings, store: SqlStore, clock: Clock, catalog: Catalog
) -> Recommendations:
    """The recommendations of ``store`` as the settings say (trained at first use)."""
    config = RecsConfig(
        refresh=settings.recs_refresh,
        max_per_brand=settings.recs_max_per_brand,
        rules=_recs_rules(settings.recs_rules),
        consumables=tuple(settings.replenish_every),
    )
    return Recommendations(
        store.recommend, store.placements, catalog, clock, config, saved=store.recommend_models
    )


def build_worker(settings: Settings, store: SqlStore, metrics: Metrics | None = None) -> Worker:
    """A ``juncture worker`` over the distributed log and the store (PostgreSQL)."""
    log_ = open_log(settings)
    if log_ is None:
        raise InvalidSettings("juncture worker needs JUNCTURE_LOG_URL (nats:// or redis://)")
    clock = SystemClock()
    recs = recommendations(settings, store, clock, store.catalog)
    engine = Engine(
        clock, engine_config(settings), journeys=store.journeys, segments=StoredSegments(),
        recommends=functools.partial(recommend_slots.count, lambda: recs),
    )  # fmt: skip
    return Worker(
        log_,
        Leases(store.engine, settings.log_name),
        store.log_positions,
        writer=store.writer,
        engine=engine,
        clock=clock,
        name=settings.log_name,
        max_events=settings.engine_batch_events,
        lease_interval=settings.worker_lease_interval,
        poll=settings.engine_poll_interval,
        on_apply=metrics.observe_engine if metrics is not None else None,
    )


def worker_app(settings: Settings, store: SqlStore, worker: Worker, metrics: Metrics) -> FastAPI:
    """``juncture worker``'s ``/healthz``, ``/readyz`` and ``/metrics``."""
    lag = log_lag(settings, store, worker.log)
    return worker_api.create_app(metrics, lag, worker.unready, worker.clock)


def log_lag(settings: Settings, store: SqlStore, log_: Log) -> LogLag:
    """The workers' lag behind the distributed log, and read-your-writes over it."""
    return LogLag(
        log_,
        store.log_positions,
        functools.partial(owners, store.engine, settings.log_name),
        name=settings.log_name,
        wait=settings.consistent_read_wait,
        max_lag=settings.engine_max_lag,
    )


def engine_config(settings: Settings, policy: Policy | None = None) -> EngineConfig:
    """Identity linking, thresholds and arbitration as the settings say (``policy``, when
    given, instead of the settings' arbitration: the demo's retailer). The one place core
    configs are made from settings: a field of a core config is the setting of its name."""
    lag = dt.timedelta(hours=settings.journey_entry_lag_hours)
    return EngineConfig(
        identity=_fill(IdentityConfig, settings, external_ids=_external_ids(settings)),
        profile=_fill(ProfileConfig, settings),
        signals=_fill(SignalConfig, settings),
        stage=_fill(StageConfig, settings),
        journeys=_fill(JourneyConfig, settings, policy=policy or _policy(settings), entry_lag=lag),
    )


def _fill(config: type[C], settings: Settings, **derived: object) -> C:
    """``config`` with every field a setting of the same name exists for set to that setting,
    and the fields in ``derived`` (those the settings give in another form) to theirs."""
    fields = msgspec.structs.fields if issubclass(config, msgspec.Struct) else dataclasses.fields
    named = {f.name for f in fields(config)} & Settings.model_fields.keys()  # type: ignore[arg-type]
    given = {name: getattr(settings, name) for name in named - derived.keys()}
    return config(**given, **derived)


def _external_ids(settings: Settings) -> tuple[ExternalId, ...]:
    names = (name.strip() for name in settings.external_ids.split(","))
    return tuple(ExternalId(kind=name, keys=(name,)) for name in names if name)


def _policy(settings: Settings) -> Policy:
    cap = Cap(day=settings.cap_per_day, week=settings.cap_per_week)
    return _fill(Policy, settings, global_cap=cap)


@contextmanager
def segment_mover(settings: Settings, store: SqlStore) -> Iterator[Mover]:
    """For commands that run beside the server (``juncture segments apply``): the engine as
    :func:`build` makes it, on a writer of its own, to emit the events of batch changes."""
    engine = Engine(
        SystemClock(), engine_config(settings), journeys=store.journeys, segments=StoredSegments()
    )
    with _own_writer(store) as run:
        yield Mover(engine, run)


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
        yield lambda process: unit_of_work.commit(writer, [], [], process)
    finally:
        writer.close()


def build(
    settings: Settings,
    clock: Clock | None = None,
    journeys: JourneySource | None = None,
    *,
    hold_timers: bool = False,
) -> Juncture:
    """Everything a process of Juncture runs, started where it must be (the committer, the
    engine behind the log). ``hold_timers``: the engine fires no timer (``juncture serve
    --overdue hold``), nor does the engine process it starts."""
    store = open_store(settings)
    metrics = Metrics()

    def observe(result: AppendResult, requests: int) -> None:
        events = len(result.stored) + result.duplicates
        if not events:
            return  # a timer tick or a batch move: no tracked events to count
        metrics.commit_events.observe(events)
        metrics.commit_requests.observe(requests)

    the_clock = clock or SystemClock()
    engine = Engine(
        the_clock,
        engine_config(settings),
        journeys=journeys or store.journeys,  # the stored catalog: `journeys apply`
        segments=StoredSegments(),
        hold_timers=hold_timers,
    )
    distributed = settings.log_url is not None  # the engine runs in `juncture worker`s
    inline = settings.engine and settings.engine_mode == "inline" and not distributed
    follower = None
    if settings.engine and not inline and not distributed and not settings.engine_process:
        follower = LogFollower(
            store,
            store.log_positions,
            engine,
            the_clock,
            max_events=settings.engine_batch_events,
            on_apply=metrics.observe_engine,
            poll=settings.engine_poll_interval,
        )

    def committed(result: AppendResult, requests: int) -> None:
        observe(result, requests)
        if follower is not None and result.stored:
            follower.notify()

    committer = GroupCommitter(
        store,
        max_events=settings.max_commit_events,
        on_commit=committed,
        process=engine.process if inline else None,
        timers=engine.repair_timers if inline else None,
    )
    committer.head = store.log_positions.head()
    committer.start()
    if follower is not None:
        follower.start()
    ingestor, flusher = _ingestor(settings, store, committer, the_clock, metrics)
    juncture = Juncture(
        settings=settings,
        store=store,
        clock=the_clock,
        metrics=metrics,
        committer=committer,
        ingestor=ingestor,
        keys=WriteKeys(settings.write_key_list(), store),
        engine=engine,
        follower=follower,
        quality_flusher=flusher,
    )
    # Journey conditions count what the server's recommender finds (built at first ask).
    engine.recommends = functools.partial(recommend_slots.count, juncture.recommendations)
    return juncture


def retention_windows(settings: Settings) -> RetentionWindows:
    return RetentionWindows(
        raw_events=settings.retain_raw_events,
        derived_events=settings.retain_derived_events,
        deliveries=settings.retain_deliveries,
        quarantine=settings.retain_quarantine,
    )


def applied_through(settings: Settings, store: SqlStore) -> int | None:
    """The last raw event retention may delete: the engine's position when it runs behind
    the log (inline, every stored event was applied in its commit; without the engine,
    none ever will be)."""
    behind = settings.engine and settings.engine_mode == "behind"
    return store.log_positions.position(ENGINE) if behind else None


def _names(text: str) -> frozenset[str]:
    return frozenset(n.strip() for n in text.split(",") if n.strip())


def _ingestor(
    settings: Settings, store: SqlStore, committer: GroupCommitter, clock: Clock, metrics: Metrics
) -> tuple[Ingestor, TallyFlusher]:
    """Ingestion with the cleansing rules, the stored tracking plans and the data-quality
    tally, whose flusher is started."""
    quality = QualityStore(store.engine)
    tally = Tally()
    ingestor = Ingestor(
        committer,
        clock,
        metrics,
        cleansing.Rules(default_region=settings.default_region),
        plans=load_plans(quality),
        tally=tally,
        consent=collection.CollectionRules(
            refused=settings.consent_refused,
            refusing=_names(settings.consent_categories),
            sharing=_names(settings.sharing_categories),
        ),
        log=open_log(settings),
    )
    flusher = TallyFlusher(tally, quality)
    flusher.start()
    return ingestor, flusher


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
