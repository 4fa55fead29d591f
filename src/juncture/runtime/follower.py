"""The engine behind the log: ingestion commits events and answers; this applies them.

One thread owns a writer of its own. It reads the client events after its position in the
log (``log_positions``), runs the engine over them in seq order, and commits the state they
changed, the events they derived and the new position in ONE transaction
(:func:`~juncture.runtime.unit_of_work.reapply`), so that after a crash at any moment every
acknowledged event is applied exactly once in effect. It takes large batches when it is
behind and whatever has arrived when it is not; a commit of the ingestion side wakes it. A
large batch is worked out before its transaction takes the write lock
(:data:`PLAN_FROM_EVENTS`), so that ingestion does not wait while the engine works.

Batch changes (segment moves, erasure) and timer ticks run on the same thread, between
batches, through :meth:`LogFollower.run_sync` and :meth:`LogFollower.tick_sync`, as they
ran on the committer's writer when the engine ran inside ingestion.

An event the engine cannot apply is found by bisecting the batch, each half a transaction
of its own in order; the one that fails alone is kept in the quarantine (code
``unprocessable``) and the position moves past it, so it never holds up the others.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from juncture.core.events import Event
from juncture.errors import EngineNotReady, JunctureError, PositionMoved, StoreUnavailable
from juncture.runtime import isolation
from juncture.runtime.clock import Clock
from juncture.runtime.committer import GroupCommitter
from juncture.runtime.engine import Engine
from juncture.runtime.unit_of_work import (
    Advance,
    AppendResult,
    Processor,
    commit,
    probe,
    reapply,
)
from juncture.runtime.writer_slot import WriterSlot
from juncture.store.base import Store, Writer
from juncture.store.log_positions import Behind, LogPositions

log = logging.getLogger("juncture.follower")

ENGINE = "engine"  # the engine's position in log_positions
# A batch of at least this many events is worked out before the unit takes the write lock
# (``reapply``'s ``plan``): on SQLite the lock is the whole file's, and working 2,000 events
# out inside it holds every ingestion commit for a third of a second or more. A smaller one
# (the engine keeping up: whatever arrived since its last batch) is worked out in the unit,
# where it holds the lock some tens of ms: planned, it cost more than it saved (``bench
# ingest``, every batch planned: the engine's CPU per event about a quarter higher, its lag
# under a steady load 0.13 s at the median rather than 0.03), most likely because the unit
# starts on a page cache that SQLite dropped, ingestion having committed since the read.
PLAN_FROM_EVENTS = 300
_RETRY_SECONDS = 1.0
_POLL_WAIT = 0.005  # seconds between reads of the position, waiting on another process


@dataclass(slots=True)
class _Job:
    process: Processor | None  # None: a tick (fire the due timers)
    future: concurrent.futures.Future[AppendResult] = field(
        default_factory=concurrent.futures.Future
    )


class LogFollower:
    """Applies the log behind ingestion (see the module's docstring)."""

    def __init__(
        self,
        store: Store,
        positions: LogPositions,
        engine: Engine,
        clock: Clock,
        *,
        max_events: int = 2000,
        on_apply: Callable[[int, float], None] | None = None,
        poll: float | None = None,
    ) -> None:
        self._store = store
        self._poll = poll  # seconds between looks at the log when idle (None: woken only)
        self._positions = positions
        self._engine = engine
        self._clock = clock
        self._max_events = max_events
        self._on_apply = on_apply  # (events applied, seconds)
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._moved = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="juncture-engine", daemon=True)
        self._writer = WriterSlot(store.writer)
        self.position = 0
        self.failing: JunctureError | None = None  # why the last try failed, until one works

    # -- control ---------------------------------------------------------------------------
    def start(self) -> None:
        self.position = self._positions.position(ENGINE)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def notify(self) -> None:
        """New events are in the log (the ingestion side committed)."""
        self._wake.set()

    def wait_for(self, seq: int, timeout: float) -> bool:
        """Wait up to ``timeout`` s until every client event up to ``seq`` is applied."""
        with self._moved:
            return self._moved.wait_for(lambda: self.position >= seq, timeout)

    def run_sync(self, process: Processor) -> AppendResult:
        """Run ``process`` on the engine's writer, alone, between batches (a batch change
        of segment membership, an erasure), and store the events it returns."""
        return self._submit(process)

    def tick_sync(self) -> AppendResult:
        """Fire the timers that are due (the scheduler's tick)."""
        return self._submit(None)

    def probe(self) -> None:
        self.run_sync(probe)

    def _submit(self, process: Processor | None) -> AppendResult:
        if not self._thread.is_alive():
            raise StoreUnavailable("the engine is not running")
        job = _Job(process)
        self._jobs.put(job)
        self._wake.set()
        return job.future.result()

    # -- the loop --------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                worked = self._jobs_then_batch()
                if not worked:
                    self._wake.wait(_RETRY_SECONDS if self.failing else self._poll)
                    self._wake.clear()
        except PositionMoved as exc:
            log.error("the engine stops: %s", exc.message)
            self.failing = exc
        finally:
            self._fail_jobs()
            self._writer.drop()

    def _jobs_then_batch(self) -> bool:
        """One round: the queued jobs, then one batch of the log; whether anything was done
        (False: caught up, or failing and waiting to retry)."""
        worked = False
        while not self._jobs.empty():
            self._job(self._jobs.get_nowait())
            worked = True
        try:
            writer = self._writer.get()
            batch = writer.events_after(self.position, self._max_events)
            self.failing = None  # it reads again: with nothing to apply, nothing fails
            if batch:
                started = time.perf_counter()
                self._bisect(writer, batch)
                if self._on_apply is not None:
                    self._on_apply(len(batch), time.perf_counter() - started)
                return True
        except StoreUnavailable as exc:
            self._unavailable(exc)
            return False
        return worked

    def _job(self, job: _Job) -> None:
        try:
            writer = self._writer.get()
            if job.process is None:
                result = self._tick(writer)
            else:
                result = commit(writer, [], [], job.process)
        except StoreUnavailable as exc:
            self._unavailable(exc)
            job.future.set_exception(exc)
            return
        except PositionMoved as exc:
            job.future.set_exception(exc)
            raise
        except Exception as exc:  # noqa: BLE001 - the job's caller decides
            job.future.set_exception(exc)
            return
        self.failing = None  # a commit worked
        job.future.set_result(result)

    def _tick(self, writer: Writer) -> AppendResult:
        try:  # worked out before the write lock, as a batch of the log is
            return commit(writer, [], [], self._engine.process, plan=self._engine.plan)
        except (StoreUnavailable, PositionMoved):
            raise
        except Exception:  # noqa: BLE001 - a due timer that cannot fire: set it aside
            self._engine.repair_timers(lambda p: commit(writer, [], [], p))
            return commit(writer, [], [], self._engine.process)

    def _bisect(self, writer: Writer, events: Sequence[Event]) -> None:
        """Apply ``events`` in as few transactions as failures allow, in order; one that
        fails alone is set aside. A failure may be a due timer's: those are repaired before
        the halves are tried."""

        def halving(size: int, exc: Exception) -> None:
            isolation.isolating(size, exc)
            self._engine.repair_timers(lambda p: commit(writer, [], [], p))

        isolation.halve(
            events,
            lambda run: self._apply(writer, run),
            lambda event, exc: self._set_aside(writer, event, exc),
            passes=(StoreUnavailable, PositionMoved),
            halving=halving,
        )

    def _apply(self, writer: Writer, events: Sequence[Event]) -> None:
        end = events[-1].seq
        advance = Advance(ENGINE, self.position, end, self._clock.now())
        plan = self._engine.plan if len(events) >= PLAN_FROM_EVENTS else None
        reapply(writer, events, self._engine.process, advance, plan=plan)
        self._moved_to(end)

    def _set_aside(self, writer: Writer, event: Event, exc: Exception) -> None:
        log.warning("the engine could not apply one event (%s): quarantined", type(exc).__name__)
        rows = isolation.quarantine([(event, isolation.reason(exc))])
        with writer.unit() as unit:
            unit.advance(ENGINE, self.position, event.seq, self._clock.now())
            unit.quarantine(rows)
        self._moved_to(event.seq)

    def _moved_to(self, seq: int) -> None:
        with self._moved:
            self.position = seq
            self._moved.notify_all()

    # -- the writer ------------------------------------------------------------------------
    def _unavailable(self, exc: StoreUnavailable) -> None:
        if self.failing is None:
            log.warning("the engine cannot reach the store, will retry: %s", exc.code)
        self.failing = exc
        self._writer.drop()

    def _fail_jobs(self) -> None:
        while not self._jobs.empty():
            self._jobs.get_nowait().future.set_exception(
                StoreUnavailable("the engine stopped before it ran this")
            )


class EngineBehind:
    """What the API asks of the engine behind the log: read-your-writes waits, its lag, and
    whether it is ready. The engine runs either as ``follower`` in this process, or in a
    process of its own (``juncture engine``) that ``alive`` says runs; then its position is
    read from the store."""

    def __init__(
        self,
        positions: LogPositions,
        committer: GroupCommitter,
        *,
        follower: LogFollower | None = None,
        alive: Callable[[], bool] | None = None,
        wait: float,
        max_lag: float,
    ) -> None:
        self.follower = follower
        self._alive = alive
        self._positions = positions
        self._committer = committer
        self._wait = wait
        self._max_lag = max_lag

    def position(self) -> int:
        if self.follower is not None:
            return self.follower.position
        return self._positions.position(ENGINE)

    def running(self) -> bool:
        if self.follower is not None:
            return self.follower.running
        return self._alive is not None and self._alive()

    def failing(self) -> str | None:
        failing = self.follower.failing if self.follower is not None else None
        return failing.message if failing is not None else None

    def catch_up(self, keys: Sequence[str] = ()) -> bool:  # noqa: ARG002 - one log
        """Wait (up to the configured bound) until the engine has applied every event
        committed before this call (one log: ``keys`` change nothing); whether it did.
        Every event: this server's, and those other writers put in the log (another
        ``juncture serve`` on the database behind the same load balancer, an import), which
        this server's committer does not count (one read of the log's head)."""
        head = max(self._committer.head, self._positions.head())
        if self.follower is not None:
            return self.follower.wait_for(head, self._wait)
        deadline = time.monotonic() + self._wait
        while self.position() < head:
            if time.monotonic() >= deadline:
                return False
            time.sleep(_POLL_WAIT)
        return True

    def lag(self) -> Behind:
        return self._positions.behind(self.position())

    def unready(self, now: dt.datetime) -> EngineNotReady | None:
        """Why the engine is not ready (stopped, failing, or further behind than allowed);
        None when it is."""
        if not self.running():
            return EngineNotReady("the engine is not running")
        if self.follower is not None and self.failing() is not None:
            # as /readyz probes the committer: a commit that changes nothing, on the
            # engine's writer, clears the failure once the store takes commits again
            with contextlib.suppress(JunctureError):
                self.follower.probe()
        if (failing := self.failing()) is not None:
            return EngineNotReady(f"the engine fails: {failing}")
        if self._max_lag > 0:
            behind = self.lag().seconds(now)
            if behind > self._max_lag:
                limit = f"limit {self._max_lag:g} s"
                return EngineNotReady(f"the engine is {behind:.0f} s behind the log ({limit})")
        return None
