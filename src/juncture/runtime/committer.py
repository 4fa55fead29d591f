"""Group commit: many requests, one transaction, each answered after the COMMIT.

Request handlers hand their events to :meth:`GroupCommitter.submit` and wait. One thread
owns the store's writer; it takes everything queued since its last commit (up to
``max_events``) and appends it in one transaction. While it commits, new requests queue up,
so under load each commit carries many requests and the fsync is paid once for all.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from juncture.core.events import Event
from juncture.core.profile.reducer import DERIVED_SOURCE
from juncture.errors import JunctureError, StoreUnavailable
from juncture.runtime import isolation, unit_of_work
from juncture.runtime.unit_of_work import AppendResult, Processor
from juncture.runtime.writer_slot import WriterSlot
from juncture.store.base import Quarantined, Store
from juncture.store.state import StateSql

log = logging.getLogger("juncture.committer")


@dataclass(frozen=True, slots=True)
class Receipt:
    """What happened to one request's events."""

    stored: int
    duplicates: int
    quarantined: int


@dataclass(slots=True)
class _Job:
    events: Sequence[Event]
    quarantine: Sequence[Quarantined]
    extra: Processor | None = None  # runs after the engine, in a transaction of its own
    future: concurrent.futures.Future[Receipt] = field(default_factory=concurrent.futures.Future)


Listener = Callable[[AppendResult, int], None]
# Given a way to run a processor in a transaction of its own, set aside the due timers that
# cannot fire (the engine's :meth:`~juncture.runtime.engine.Engine.repair_timers`).
TimerRepair = Callable[[Callable[[Processor], AppendResult]], int]


class GroupCommitter:
    def __init__(
        self,
        store: Store,
        *,
        max_events: int = 5000,
        on_commit: Listener | None = None,
        process: Processor | None = None,
        timers: TimerRepair | None = None,
    ) -> None:
        self._store = store
        self._process = process
        self._timers = timers
        self._max_events = max_events
        self._on_commit = on_commit
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._writer = WriterSlot(store.writer)
        self._thread = threading.Thread(target=self._run, name="juncture-committer", daemon=True)
        self._started = False
        self._held: _Job | None = None  # taken from the queue, to commit on its own next
        self.failing: JunctureError | None = None  # why the last commit failed, until one works
        self.head = 0  # the seq of the newest client event committed (read-your-writes)

    def start(self) -> None:
        if not self._started:
            self._started = True
            self._thread.start()

    def stop(self) -> None:
        if self._started:
            self._queue.put(None)
            self._thread.join()
            self._started = False

    async def submit(
        self, events: Sequence[Event], quarantine: Sequence[Quarantined] = ()
    ) -> Receipt:
        """Wait until the events are committed (or raise StoreUnavailable)."""
        job = _Job(events, quarantine)
        self._queue.put(job)
        return await asyncio.wrap_future(job.future)

    def submit_sync(
        self, events: Sequence[Event], quarantine: Sequence[Quarantined] = ()
    ) -> Receipt:
        job = _Job(events, quarantine)
        self._queue.put(job)
        return job.future.result()

    def tick_sync(self) -> Receipt:
        """Commit nothing new but let the engine fire the timers that are due."""
        return self.submit_sync([])

    def probe(self) -> None:
        """Commit a write that changes nothing, to learn whether commits work again; clears
        :attr:`failing` when one does (raises StoreUnavailable when not)."""
        self.run_sync(unit_of_work.probe)

    def run_sync(self, process: Processor) -> Receipt:
        """Run ``process`` in the writer's transaction, after the engine and alone (so that
        its failure fails no request), and store the events it returns (a batch change of
        segment membership: ``runtime.segments.Mover``)."""
        job = _Job((), (), process)
        self._queue.put(job)
        return job.future.result()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first, self._held = self._held or self._queue.get(), None
            if first is None:
                break
            jobs, stopping = self._gather(first)
            self._commit(jobs)
        self._writer.close()

    def _gather(self, first: _Job) -> tuple[list[_Job], bool]:
        jobs = [first]
        size = len(first.events)
        while first.extra is None and size < self._max_events:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is None:
                return jobs, True
            if job.extra is not None:
                self._held = job
                break
            jobs.append(job)
            size += len(job.events)
        return jobs, False

    def _commit(self, jobs: list[_Job]) -> None:
        events = [e for job in jobs for e in job.events]
        quarantine = [q for job in jobs for q in job.quarantine]
        process = self._processor(jobs[0].extra)
        try:
            result = self._append(events, quarantine, process)
        except StoreUnavailable as exc:
            self._fail(jobs, exc)
            return
        except Exception as exc:  # noqa: BLE001 - taken apart below, or mapped
            if jobs[0].extra is not None:  # a batch change of its own: its caller decides
                self._fail(jobs, _mapped(exc))
            else:
                self._isolate(jobs, exc)
            return
        self.failing = None
        if self._on_commit is not None:
            self._on_commit(result, len(jobs))
        stored_keys = {(e.source, e.message_id) for e in result.stored}
        for job in jobs:
            job.future.set_result(_receipt(job, stored_keys, ()))

    def _append(
        self,
        events: Sequence[Event],
        quarantine: Sequence[Quarantined],
        process: Processor | None,
    ) -> AppendResult:
        try:
            result = unit_of_work.commit(self._writer.get(), events, quarantine, process)
        except Exception:
            self._writer.drop()  # a fresh connection and cache for the next try
            raise
        seqs = [e.seq for e in result.stored if e.source != DERIVED_SOURCE]
        if seqs:
            self.head = max(self.head, *seqs)
        return result

    def _isolate(self, jobs: list[_Job], first: Exception) -> None:
        """Commit what can be committed of ``jobs`` and quarantine the events that fail
        alone (see the module's docstring)."""
        try:
            self._store.ping()
        except JunctureError as exc:
            self._fail(jobs, exc)
            return
        log.warning("a commit failed (%s): isolating the cause", type(first).__name__)
        if self._timers is not None:
            self._timers(lambda process: self._append((), (), process))
        for job in jobs:
            self._commit_alone(job)

    def _commit_alone(self, job: _Job) -> None:
        try:
            split = isolation.bisect(self._append, job.events, self._process)
            poisoned = isolation.quarantine(split.poisoned)
            if job.quarantine or poisoned:
                self._append((), [*job.quarantine, *poisoned], None)
        except Exception as exc:  # noqa: BLE001 - mapped: the caller gets a JunctureError
            log.warning("the store cannot take one request's events (%s)", type(exc).__name__)
            job.future.set_exception(_mapped(exc))
            return
        stored_keys = {(e.source, e.message_id) for e in split.stored}
        job.future.set_result(_receipt(job, stored_keys, split.poisoned))

    def _processor(self, extra: Processor | None) -> Processor | None:
        engine = self._process
        if extra is None:
            return engine

        def both(state: StateSql, events: list[Event]) -> list[Event]:
            return extra(state, engine(state, events) if engine is not None else events)

        return both

    def _fail(self, jobs: list[_Job], exc: JunctureError) -> None:
        if exc.retryable:
            self.failing = exc
        self._writer.drop()
        for job in jobs:
            job.future.set_exception(exc)


def _receipt(
    job: _Job, stored_keys: set[tuple[str, str]], poisoned: Sequence[tuple[Event, str]]
) -> Receipt:
    """What happened to one job's events; ``stored_keys`` loses the job's keys, so that an
    event repeated in a later job of the same commit counts as a duplicate there."""
    stored = sum(1 for e in job.events if (e.source, e.message_id) in stored_keys)
    stored_keys.difference_update((e.source, e.message_id) for e in job.events)
    quarantined = sum(len(q.rejections) for q in job.quarantine) + len(poisoned)
    return Receipt(stored, len(job.events) - stored - len(poisoned), quarantined)


def _mapped(exc: Exception) -> JunctureError:
    if isinstance(exc, JunctureError):
        return exc
    log.error("commit failed: %s", type(exc).__name__)
    log.debug("the failed commit's traceback", exc_info=exc)
    return StoreUnavailable(f"commit failed: {type(exc).__name__}")
