"""Building a Juncture from the settings (:func:`build`), and the parts that commands running
beside the server build for themselves (the store, a segment mover, an eraser)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from juncture.api.auth import WriteKeys
from juncture.core import cleansing, collection
from juncture.metrics import Metrics
from juncture.runtime import recommend_slots, unit_of_work
from juncture.runtime.clock import Clock, SystemClock
from juncture.runtime.committer import GroupCommitter
from juncture.runtime.engine import Engine, JourneySource
from juncture.runtime.erasure import Eraser
from juncture.runtime.follower import LogFollower
from juncture.runtime.ingest import Ingestor
from juncture.runtime.membership import StoredSegments
from juncture.runtime.quality import Tally, TallyFlusher
from juncture.runtime.segments import Mover
from juncture.runtime.tracking_plans import load as load_plans
from juncture.runtime.unit_of_work import AppendResult, Processor
from juncture.settings import Settings
from juncture.store.quality import QualityStore
from juncture.store.sql import SqlStore
from juncture.wiring.config import engine_config
from juncture.wiring.distributed import open_log
from juncture.wiring.juncture import Juncture


def open_store(settings: Settings) -> SqlStore:
    store = SqlStore(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
    if settings.auto_migrate:
        store.migrate()
    return store


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
