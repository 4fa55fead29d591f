"""The job that keeps the dashboard's summaries of the event log current in ``juncture
serve``: every ``JUNCTURE_SUMMARY_INTERVAL`` seconds it counts the events that arrived since
its last run into the Overview's activity summary (:mod:`juncture.store.activity`). The
first run after an upgrade counts the whole log, a bounded chunk per transaction."""

from __future__ import annotations

import logging
import threading

from juncture.errors import JunctureError
from juncture.runtime.clock import Clock
from juncture.store.activity import Activity, Counted

log = logging.getLogger("juncture.summaries")


class SummaryJob:
    """Runs :meth:`Activity.refresh` at once and then every ``interval`` seconds, on a
    thread of its own."""

    def __init__(self, activity: Activity, clock: Clock, interval: float) -> None:
        self.activity, self.clock, self.interval = activity, clock, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="juncture-summaries", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(30)

    def _run(self) -> None:
        self.once()
        while not self._stop.wait(self.interval):
            self.once()

    def once(self) -> Counted | None:
        try:
            done = self.activity.refresh(self.clock.now())
        except JunctureError as exc:
            log.warning("summary refresh failed, will retry: %s", exc.code)
            return None
        if done.counted > 10_000:
            log.info("summaries: counted %d events, %d behind", done.counted, done.behind)
        return done
