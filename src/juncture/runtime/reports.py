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

With a store (:class:`juncture.store.report_results.ReportResults`) the results are kept in
the database as well, so that every server process, and one that restarts, answers from the
last result any of them computed, and one process at a time computes each: it claims the
report's row first, and a process that finds it claimed waits for that result (a claim runs
out after :data:`CLAIM`, when its holder stopped). Results are JSON: a ``compute`` answers
plain data (dicts, lists, strings, numbers, datetimes, which come back as ISO strings), and
the value a page reads is that JSON decoded, wherever it was computed.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as Pending
from dataclasses import dataclass
from typing import Any, Final

import orjson

from juncture.store.report_results import ReportResults, Stored, key_of

FRESH: Final = 300.0  # seconds a result is shown without being computed again
WAIT: Final = 1.5  # seconds a page waits for a result being computed
KEEP: Final = 64  # results kept, the least recently computed dropped first
WORKERS: Final = 2  # computations at once
QUEUED: Final = 8  # computations waiting or running, at most
CLAIM: Final = 1800.0  # seconds a process's claim to compute a report lasts, at most
POLL: Final = 1.0  # seconds between looks at a report another process computes


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

    def __init__(
        self, results: ReportResults | None = None, fresh: float = FRESH, wait: float = WAIT
    ) -> None:
        self.fresh, self.wait, self.results = fresh, wait, results
        self.owner = uuid.uuid4().hex  # this process, in the claims it takes
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
        fresh = self.fresh if fresh is None else fresh
        with self._lock:
            last = self._done.get(key)
        if (last is None or last.age_s() >= fresh) and self.results is not None:
            last = self._stored(key, last)
        with self._lock:
            if last is not None and last.age_s() < fresh:
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
            # no longer running before whoever waits hears: a page that is told of an error
            # and asks again at once computes again, instead of getting the same failure
            with self._workers:
                try:
                    report = self._keep(key, self._produce(key, compute))
                except BaseException as exc:  # noqa: BLE001 - handed to whoever waits
                    self._finished(key)
                    future.set_exception(exc)
                else:
                    self._finished(key)
                    future.set_result(report)

        threading.Thread(target=run, name="juncture-report", daemon=True).start()
        return future

    def _finished(self, key: Hashable) -> None:
        with self._lock:
            self._running.pop(key, None)

    def _produce(self, key: Hashable, compute: Callable[[], Any]) -> Report:
        """Computed here, or, when another process holds the claim, its result once saved."""
        if self.results is None:
            return _computed(compute)[0]
        report, params = _names(key)
        row, asked = key_of(report, params), time.time()
        while True:
            now = _now()
            until = now + dt.timedelta(seconds=CLAIM)
            if self.results.claim(row, report, params, self.owner, now=now, until=until):
                return self._computed_here(row, compute)
            stored = self.results.last(row)
            if stored is not None and stored.computed_at.timestamp() >= asked:
                return _loaded(stored)
            time.sleep(POLL)

    def _computed_here(self, row: str, compute: Callable[[], Any]) -> Report:
        assert self.results is not None
        try:
            report, text = _computed(compute)
        except BaseException:
            self.results.release(row, self.owner)
            raise
        at = dt.datetime.fromtimestamp(report.computed_at, dt.UTC)
        self.results.save(row, self.owner, text, at, report.took_s)
        return report

    def _stored(self, key: Hashable, last: Report | None) -> Report | None:
        """The stored result when it is newer than ``last`` (kept here from then on)."""
        assert self.results is not None
        stored = self.results.last(key_of(*_names(key)))
        if stored is None or (
            last is not None and stored.computed_at.timestamp() <= last.computed_at
        ):
            return last
        return self._keep(key, _loaded(stored))

    def _keep(self, key: Hashable, report: Report) -> Report:
        with self._lock:
            self._done[key] = report
            self._done.move_to_end(key)
            while len(self._done) > KEEP:
                self._done.popitem(last=False)
        return report


def _computed(compute: Callable[[], Any]) -> tuple[Report, str]:
    """A new result, as the JSON decoded (what the page reads wherever it was computed),
    and that JSON."""
    started = time.perf_counter()
    text = orjson.dumps(compute(), option=orjson.OPT_NON_STR_KEYS)
    took = time.perf_counter() - started
    return Report(orjson.loads(text), time.time(), round(took, 3)), text.decode()


def _loaded(stored: Stored) -> Report:
    return Report(orjson.loads(stored.value), stored.computed_at.timestamp(), stored.took_s)


def _names(key: Hashable) -> tuple[str, str]:
    """The report's name (a tuple key's first item) and its parameters as JSON text."""
    first = key[0] if isinstance(key, tuple) and key else key
    return str(first), orjson.dumps(key).decode()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _refreshing(report: Report) -> Report:
    return Report(report.value, report.computed_at, report.took_s, refreshing=True)
