"""The job that keeps the dashboard's summaries of the event log current in ``juncture
serve``: every ``JUNCTURE_SUMMARY_INTERVAL`` seconds it counts the events that arrived since
its last run into the Overview's activity summary (:mod:`juncture.store.activity`). The
first run after an upgrade counts the whole log, a bounded chunk per transaction. When the
engine runs behind the log, it also samples how far behind it is, once a minute
(:mod:`juncture.store.lag_samples`), for the Overview's lag over time."""

from __future__ import annotations

import logging
import time
from typing import Final

from juncture.errors import JunctureError
from juncture.runtime.clock import Clock
from juncture.runtime.periodic import Periodic
from juncture.runtime.standing import Standing
from juncture.store.activity import Activity, Counted
from juncture.store.lag_samples import LagSamples

log = logging.getLogger("juncture.summaries")
SAMPLE_EVERY: Final = 60.0  # seconds between samples of the engine's lag


class SummaryJob(Periodic):
    """Runs :meth:`Activity.refresh` at once and then every ``interval`` seconds, on a
    thread of its own."""

    def __init__(
        self, activity: Activity, clock: Clock, interval: float,
        lag: tuple[Standing, LagSamples] | None = None,
    ) -> None:  # fmt: skip
        super().__init__("juncture-summaries", self.once, interval, first=lambda: 0.0)
        self.activity, self.clock, self.lag = activity, clock, lag
        self._sampled = -SAMPLE_EVERY

    def once(self) -> Counted | None:
        try:
            self.sample()
            done = self.activity.refresh(self.clock.now())
        except JunctureError as exc:
            log.warning("summary refresh failed, will retry: %s", exc.code)
            return None
        if done.counted > 10_000:
            log.info("summaries: counted %d events, %d behind", done.counted, done.behind)
        return done

    def sample(self) -> bool:
        """Sample the engine's lag, when it runs behind the log and a minute has passed."""
        if self.lag is None or time.monotonic() - self._sampled < SAMPLE_EVERY:
            return False
        behind, samples = self.lag
        now = self.clock.now()
        lag = behind.lag()
        samples.add(now, lag.events, round(lag.seconds(now), 3))
        self._sampled = time.monotonic()
        return True
