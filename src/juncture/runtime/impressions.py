"""Group commit for on-site impressions: ``POST /v1/decide`` records what it shows (an
``outbox`` row ``shown``), and on SQLite with ``synchronous=FULL`` each commit waits for the
disk (about 4 ms here), which capped decisions at a few hundred a second whatever the CPU.
Requests hand their rows to one thread that records everything queued since its last commit
in one transaction (:meth:`~juncture.store.placements.Placements.record_shown_many`) and
answers each after the COMMIT, so an impression is as durable as before, a key shown before
still answers None, and under load one disk wait serves many decisions.

The thread starts with the first impression and ends after :data:`IDLE` seconds without
one, so a Decider that is dropped leaves nothing running.
"""

from __future__ import annotations

import concurrent.futures
import queue
import threading
from typing import Final

from juncture.core.journeys.orchestrate import Message
from juncture.store.outbox import OutboxRow
from juncture.store.placements import Placements

IDLE: Final = 2.0  # seconds without an impression before the thread ends
MOST: Final = 256  # impressions per commit, at most

_Job = tuple[Message, "concurrent.futures.Future[OutboxRow | None]"]


class Impressions:
    """Records impressions in group commits (see the module's docstring)."""

    def __init__(self, placements: Placements) -> None:
        self.placements = placements
        self._queue: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def record(self, message: Message) -> OutboxRow | None:
        """The row recorded for ``message``, or None when its key was recorded before."""
        done: concurrent.futures.Future[OutboxRow | None] = concurrent.futures.Future()
        with self._lock:
            self._queue.put((message, done))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="juncture-impressions", daemon=True
                )
                self._thread.start()
        return done.result()

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=IDLE)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._thread = None
                        return
                continue
            jobs = [first]
            while len(jobs) < MOST:
                try:
                    jobs.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._commit(jobs)

    def _commit(self, jobs: list[_Job]) -> None:
        try:
            rows = self.placements.record_shown_many([m for m, _ in jobs])
        except Exception as exc:  # noqa: BLE001 - each waiting request gets the store's error
            for _, done in jobs:
                done.set_exception(exc)
            return
        for (_, done), row in zip(jobs, rows, strict=True):
            done.set_result(row)
