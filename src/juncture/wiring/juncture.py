"""The running Juncture: what a process of it holds (store, committer, engine, ingestion)
and starts on demand (dispatcher, scheduler, jobs, the HTTP app)."""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import FastAPI
from pydantic import SecretStr

from juncture.api.app import create_app
from juncture.api.auth import WriteKeys
from juncture.channels import lookups
from juncture.channels.email import SmtpEmail
from juncture.channels.links import Links
from juncture.channels.templates import Templates
from juncture.core.events import Event
from juncture.metrics import Metrics
from juncture.runtime import read_cache, recommend_slots
from juncture.runtime.campaigns import CampaignJob, Campaigns
from juncture.runtime.cart_links import CartLinks
from juncture.runtime.clock import Clock
from juncture.runtime.committer import GroupCommitter
from juncture.runtime.decide import Decider
from juncture.runtime.dispatcher import Dispatcher
from juncture.runtime.engine import Engine
from juncture.runtime.engine_process import EngineProcess
from juncture.runtime.erasure import Eraser
from juncture.runtime.follower import ENGINE, EngineBehind, LogFollower
from juncture.runtime.ingest import Ingestor
from juncture.runtime.limits import RateLimits
from juncture.runtime.measurement import Measurement
from juncture.runtime.outbound import DispatcherThread
from juncture.runtime.preload import Preload
from juncture.runtime.quality import TallyFlusher
from juncture.runtime.read_cache import CachedCatalog, CachedProgrammes
from juncture.runtime.recommend import Recommendations, Trainer
from juncture.runtime.retention import RetentionJob
from juncture.runtime.retry_policy import RetryPolicy
from juncture.runtime.scheduler import Scheduler
from juncture.runtime.segments import Mover, Segments
from juncture.runtime.standing import Standing
from juncture.runtime.summaries import SummaryJob
from juncture.runtime.touchpoints import Touchpoints
from juncture.runtime.unit_of_work import Processor
from juncture.runtime.worker import position_name
from juncture.settings import Settings
from juncture.store.campaign_runs import CampaignRuns
from juncture.store.leases import hold_partitions
from juncture.store.recipients import Recipients
from juncture.store.retention import Retention
from juncture.store.sql import SqlStore
from juncture.store.state import StateSql
from juncture.wiring.channels import CHANNELS, build_channels, sending, templates
from juncture.wiring.config import (
    applied_through,
    engine_config,
    recommendations,
    retention_windows,
)
from juncture.wiring.distributed import log_lag

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
    follower: LogFollower | None = None  # the engine behind the log, on a thread here
    engine_process: EngineProcess | None = None  # or in a process of its own
    scheduler: Scheduler | None = None
    dispatcher: DispatcherThread | None = None
    recs: Recommendations | None = None  # built with the app
    recs_trainer: Trainer | None = None
    preload: Preload = field(default_factory=Preload)  # the slow libraries, after start
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

    def tick_sync(self) -> None:
        """Fire the timers that are due now, at once, where the scheduler would (the engine's
        thread behind the log, or the group committer inline)."""
        (self.follower or self.committer).tick_sync()

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
        self.preload.start()
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
            preload=self.preload,
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
        """Live mode: keep the recommendations current, trained every ``recs_train_every``
        s by one server of the database, the others taking its models."""
        if self.settings.recs_train_every > 0:
            every, look = self.settings.recs_train_every, self.settings.recs_look_every
            self.recs_trainer = Trainer(self.recommendations(), every, look)
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
