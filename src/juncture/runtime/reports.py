"""Slow reads answered from their last result: the dashboard's funnels, paths and measured
experiments read every event of a period, which takes seconds to minutes on millions of
events. A page asks :meth:`Reports.get` with a key and the function that computes the
figures; it gets

- the last result, if it is younger than ``fresh``;
- else, when there is an older one, that one at once, marked as being refreshed, while a
  new one is computed;
- else (the first ask) a new one, if it is computed within ``wait`` seconds, or nothing:
  the page says the figures are being computed and asks again shortly.

Each key is computed once at a time, on daemon threads of its own (two at once), whoever
asks and however often; the computations waiting and the results kept are bounded, so a
person trying many funnels cannot queue unbounded work, and a server that stops does not
wait for a long computation.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as Pending
from dataclasses import dataclass
from typing import Any, Final

FRESH: Final = 300.0  # seconds a result is shown without being computed again
WAIT: Final = 1.5  # seconds a page waits for a result being computed
KEEP: Final = 64  # results kept, the least recently computed dropped first
WORKERS: Final = 2  # computations at once
QUEUED: Final = 8  # computations waiting or running, at most


@dataclass(frozen=True, slots=True)
class Report:
    """A computed result: the figures, when they were computed (``time.time()``), how many
    seconds computing them took, and whether a newer one is being computed."""

    value: Any
    computed_at: float
    took_s: float
    refreshing: bool = False

    def age_s(self) -> float:
        return max(0.0, time.time() - self.computed_at)


class Reports:
    """The last result of each slow read, computed in the background (see the module)."""

    def __init__(self, fresh: float = FRESH, wait: float = WAIT) -> None:
        self.fresh, self.wait = fresh, wait
        self._done: OrderedDict[Hashable, Report] = OrderedDict()
        self._running: dict[Hashable, Future[Report]] = {}
        self._lock = threading.Lock()
        self._workers = threading.BoundedSemaphore(WORKERS)

    def get(
        self, key: Hashable, compute: Callable[[], Any], fresh: float | None = None
    ) -> Report | None:
        """The result for ``key`` (see the module), fresh for ``fresh`` seconds (None: the
        default); an error ``compute`` raised is raised here to the page that waited for
        it, and the next ask computes again."""
        with self._lock:
            last = self._done.get(key)
            if last is not None and last.age_s() < (self.fresh if fresh is None else fresh):
                return last
            running = self._running.get(key)
            if running is None and len(self._running) < QUEUED:
                running = self._running[key] = self._start(key, compute)
        if running is None:  # too much being computed: what there is, else nothing yet
            return last
        if last is not None:  # an old result is answered at once while the new one comes
            return _refreshing(last)
        try:
            return running.result(timeout=self.wait)
        except Pending:
            return None

    def _start(self, key: Hashable, compute: Callable[[], Any]) -> Future[Report]:
        """Compute on a daemon thread of its own (at most :data:`WORKERS` at once): a server
        that stops does not wait for a long computation to end."""
        future: Future[Report] = Future()

        def run() -> None:
            with self._workers:
                try:
                    future.set_result(self._compute(key, compute))
                except BaseException as exc:  # noqa: BLE001 - handed to whoever waits
                    future.set_exception(exc)

        threading.Thread(target=run, name="juncture-report", daemon=True).start()
        return future

    def _compute(self, key: Hashable, compute: Callable[[], Any]) -> Report:
        started = time.perf_counter()
        try:
            value = compute()
        finally:
            with self._lock:
                self._running.pop(key, None)
        took = time.perf_counter() - started
        report = Report(value, time.time(), round(took, 3))
        with self._lock:
            self._done[key] = report
            self._done.move_to_end(key)
            while len(self._done) > KEEP:
                self._done.popitem(last=False)
        return report


def _refreshing(report: Report) -> Report:
    return Report(report.value, report.computed_at, report.took_s, refreshing=True)
