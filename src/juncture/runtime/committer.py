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
from juncture.errors import JunctureError, StoreUnavailable
from juncture.store.base import AppendResult, Processor, Quarantined, Store, Writer
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


class GroupCommitter:
    def __init__(
        self,
        store: Store,
        *,
        max_events: int = 5000,
        on_commit: Listener | None = None,
        process: Processor | None = None,
    ) -> None:
        self._store = store
        self._process = process
        self._max_events = max_events
        self._on_commit = on_commit
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._writer: Writer | None = None
        self._thread = threading.Thread(target=self._run, name="juncture-committer", daemon=True)
        self._started = False
        self._held: _Job | None = None  # taken from the queue, to commit on its own next

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
        if self._writer is not None:
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
        try:
            if self._writer is None:
                self._writer = self._store.writer()
            result = self._writer.append(events, quarantine, self._processor(jobs[0].extra))
        except JunctureError as exc:
            self._fail(jobs, exc)
            return
        except Exception as exc:
            log.exception("commit failed")
            self._fail(jobs, StoreUnavailable(f"commit failed: {type(exc).__name__}"))
            return
        if self._on_commit is not None:
            self._on_commit(result, len(jobs))
        stored_keys = {(e.source, e.message_id) for e in result.stored}
        for job in jobs:
            stored = sum(1 for e in job.events if (e.source, e.message_id) in stored_keys)
            stored_keys.difference_update((e.source, e.message_id) for e in job.events)
            quarantined = sum(len(q.rejections) for q in job.quarantine)
            job.future.set_result(Receipt(stored, len(job.events) - stored, quarantined))

    def _processor(self, extra: Processor | None) -> Processor | None:
        engine = self._process
        if extra is None:
            return engine

        def both(state: StateSql, events: list[Event]) -> list[Event]:
            return extra(state, engine(state, events) if engine is not None else events)

        return both

    def _fail(self, jobs: list[_Job], exc: JunctureError) -> None:
        if self._writer is not None:
            try:
                self._writer.close()
            except Exception:
                log.debug("closing a broken writer failed", exc_info=True)
            self._writer = None
        for job in jobs:
            job.future.set_exception(exc)
