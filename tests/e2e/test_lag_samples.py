"""The engine's lag over time on every database: the summaries job samples it once a minute
when the engine runs behind the log, and the Overview reads the most behind per bucket,
with the buckets that have no sample left empty (not drawn as zero)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from juncture.runtime.clock import ManualClock
from juncture.runtime.summaries import SummaryJob
from juncture.store.log_positions import Behind
from juncture.store.sql import SqlStore

START = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)


class Lagging:
    """An engine behind the log by a set number of events, the oldest received at a time."""

    def __init__(self) -> None:
        self.behind = Behind(0, None)

    def lag(self) -> Behind:
        return self.behind


def test_samples_are_taken_once_a_minute_and_read_per_bucket(store: SqlStore) -> None:
    clock, engine = ManualClock(START), Lagging()
    lag: Any = (engine, store.lag_samples)
    job = SummaryJob(store.activity, clock, interval=5, lag=lag)
    engine.behind = Behind(40, START - dt.timedelta(seconds=12))
    assert job.sample()
    assert not job.sample()  # within the minute: no second sample
    job._sampled -= 60  # a minute on (the job's own clock is monotonic)
    clock.advance(dt.timedelta(minutes=1))
    engine.behind = Behind(7, START)
    assert job.sample()
    job._sampled -= 60
    clock.advance(dt.timedelta(minutes=2))  # 12:03: the minute 12:02 has no sample
    engine.behind = Behind(0, None)
    assert job.sample()
    assert store.lag_samples.newest() == START + dt.timedelta(minutes=3)
    minutes = store.lag_samples.buckets(START, START + dt.timedelta(minutes=4), 60)
    assert [(b.events, b.seconds) for b in minutes] == [
        (40, 12.0), (7, 60.0), (None, None), (0, 0.0),
    ]  # fmt: skip
    now = START + dt.timedelta(minutes=3, milliseconds=500)  # ending in 12:03's first second
    assert store.lag_samples.buckets(START, now, 60) == minutes[:4]
    hours = store.lag_samples.buckets(
        START - dt.timedelta(hours=1), START + dt.timedelta(hours=1), 3600
    )
    assert [b.start.hour for b in hours] == [11, 12]
    assert (hours[0].events, hours[1].events, hours[1].seconds) == (None, 40, 60.0)  # the most


def test_a_job_without_an_engine_behind_samples_nothing(store: SqlStore) -> None:
    job = SummaryJob(store.activity, ManualClock(START), interval=5)
    assert not job.sample()
    assert store.lag_samples.newest() is None
