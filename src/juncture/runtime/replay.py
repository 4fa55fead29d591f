"""``juncture replay``: rebuild every profile, identity link, merge and timer from the log.

The engine's state is a projection of the event log, so it can be thrown away and built
again: after a fix to the reducer, a change of configuration, or to check that the live
projection is what the log says. Replay clears the state (never the events), then feeds the
stored client events in ``seq`` order (the order they were first processed in) through the
same :class:`~juncture.runtime.engine.Engine`, with a manual clock that follows event time.

Timers fire at the right moment in event time: a batch of events spans at most ``step`` of
event time past the clock (``step`` must be shorter than the shortest timer delay, the
cart's or the checkout's quiet period; by default it is 5 minutes or half that delay,
whichever is shorter), the clock is set to the batch's latest event time, and the engine
fires the timers due by then interleaved with the events by time, as in a live commit.

Give it the configuration the server runs with (``wiring.engine_config(settings)``): the
state is rebuilt under those rules. Derived events come out with the same deterministic
message ids as the first time, so those already stored are not stored again; the summary
says how many were new.

Run it while the server is stopped: it writes state outside the committer.

Replay runs no journeys unless it is given some (``journeys``): a dry run
(:mod:`juncture.runtime.dry_run`) replays a copy of the log in a scratch database with the
journeys acting from ``journeys_from`` on, the state before that built as usual.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from juncture.core import bounds
from juncture.core.events import Event
from juncture.core.pipeline import EngineConfig
from juncture.runtime.clock import ManualClock
from juncture.runtime.engine import Engine, JourneySource
from juncture.runtime.membership import StoredSegments
from juncture.runtime.unit_of_work import Applied, reapply
from juncture.store.base import Writer
from juncture.store.rebuild import Rebuild
from juncture.store.sql import SqlStore

DEFAULT_STEP = dt.timedelta(minutes=5)
DEFAULT_BATCH = 2000
_MAX_FINAL_TICKS = 10_000


@dataclass
class ReplaySummary:
    """What a replay did; ``derived_new`` are derived events not stored before."""

    events: int = 0
    commits: int = 0
    derived: int = 0
    derived_new: int = 0
    relinked: int = 0
    engine_errors: int = 0
    out_of_range: list[int] = field(default_factory=list)  # seqs of events not replayed
    clock: dt.datetime | None = None
    seconds: float = 0.0
    store: dict[str, Any] = field(default_factory=dict)

    def add(self, applied: Applied) -> None:
        self.commits += 1
        self.derived += applied.derived
        self.derived_new += applied.new
        self.relinked += applied.relinked

    def to_json(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "commits": self.commits,
            "derived": self.derived,
            "derived_new": self.derived_new,
            "relinked": self.relinked,
            "engine_errors": self.engine_errors,
            "out_of_range": self.out_of_range,
            "clock": self.clock.isoformat() if self.clock else None,
            "seconds": round(self.seconds, 3),
            "store": self.store,
        }


def replay(
    store: SqlStore,
    *,
    config: EngineConfig | None = None,
    until: dt.datetime | None = None,
    step: dt.timedelta | None = None,
    batch_size: int = DEFAULT_BATCH,
    progress: Callable[[int], None] | None = None,
    journeys: JourneySource | None = None,
    journeys_from: dt.datetime | None = None,
) -> ReplaySummary:
    """Rebuild the engine state of ``store`` from its events.

    ``until``: where the clock ends (timers due by then fire); the last event's time when
    None. ``progress`` is called with the number of events of each commit. ``journeys``
    run on the events from ``journeys_from`` on (all, when None); none run without them.
    """
    engine_config = config or EngineConfig()
    shortest = min(engine_config.signals.cart_quiet, engine_config.signals.checkout_quiet)
    step = step if step is not None else min(DEFAULT_STEP, shortest / 2)
    if step >= shortest:
        raise ValueError("the replay step must be shorter than the shortest quiet period")
    started = time.perf_counter()
    rebuild = Rebuild(store)
    rebuild.clear()
    summary = ReplaySummary()
    first = next((e for e in _client_events(rebuild, 100) if bounds.within_time(e.timestamp)), None)
    if first is not None:
        clock = ManualClock(first.timestamp)
        segments = StoredSegments()
        plain = Engine(clock, engine_config, segments=segments, skip_failures=True)
        engine = plain
        if journeys is not None:
            engine = Engine(clock, engine_config, journeys, segments, skip_failures=True)
        cut = journeys_from if journeys is not None else None
        writer = store.writer()
        try:
            for batch in _batches(rebuild, step, batch_size, clock, summary.out_of_range, cut=cut):
                clock.set(max(clock.now(), *(e.timestamp for e in batch)))
                acting = plain if cut is not None and batch[0].timestamp < cut else engine
                summary.add(reapply(writer, batch, acting.process))
                summary.events += len(batch)
                if progress is not None:
                    progress(len(batch))
            if until is not None:
                clock.set(max(clock.now(), until))
            _fire_rest(rebuild, writer, engine, clock, summary)
        finally:
            writer.close()
        summary.engine_errors = plain.errors + (engine.errors if engine is not plain else 0)
        summary.clock = clock.now()
    summary.store = store.stats()
    summary.seconds = time.perf_counter() - started
    return summary


def _batches(
    rebuild: Rebuild,
    step: dt.timedelta,
    size: int,
    clock: ManualClock,
    out_of_range: list[int],
    *,
    cut: dt.datetime | None = None,
) -> Iterator[list[Event]]:
    """Client events in ``seq`` order, cut where event time passes the clock by ``step``
    (so no timer set in a batch falls due inside it), at ``size`` events, and where event
    time reaches ``cut``."""
    batch: list[Event] = []
    horizon: dt.datetime | None = None
    for event in _client_events(rebuild, size):
        if not bounds.within_time(event.timestamp):  # stored before times were bounded
            out_of_range.append(event.seq)
            continue
        if batch and (len(batch) >= size or (horizon is not None and event.timestamp > horizon)):
            yield batch
            batch = []
        if not batch:
            horizon = max(clock.now(), event.timestamp) + step
            if cut is not None and event.timestamp < cut:
                horizon = min(horizon, cut - dt.timedelta(microseconds=1))
        batch.append(event)
    if batch:
        yield batch


def _client_events(rebuild: Rebuild, page: int) -> Iterator[Event]:
    after = 0
    while True:
        events = rebuild.client_events(after, page)
        yield from events
        if len(events) < page:
            return
        after = events[-1].seq


def _fire_rest(
    rebuild: Rebuild, writer: Writer, engine: Engine, clock: ManualClock, summary: ReplaySummary
) -> None:
    """Fire what is due at the final clock, as the live scheduler's ticks would: a commit
    fires at most ``TIMERS_PER_COMMIT``, and a timer that fires may set the next one, already
    due (a stage moved to decision by time, then to lapsed)."""
    due = rebuild.timers_due(clock.now())
    for _ in range(_MAX_FINAL_TICKS):
        if not due:
            return
        applied = reapply(writer, [], engine.process)
        summary.add(applied)
        left = rebuild.timers_due(clock.now())
        if left >= due and not applied.derived:
            return  # no progress: what is left re-arms itself, the next tick's business
        due = left
