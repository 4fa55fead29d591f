"""Data quality per source: counts kept as messages are ingested, written every few seconds,
and the report that adds them up (``GET /v1/sources/{source}/quality``,
``juncture quality report``).

What is counted, per source and hour of receipt: messages that passed validation
(``received``), duplicates of messages already stored (``duplicates``), messages that broke
the source's tracking plan (``violating``), of those quarantined (``quarantined``), track
events the plan does not name (``unplanned``), events that happened more than
:data:`LATE_AFTER` before they arrived (``late``: offline queues, backfills), and messages
whose device clock (``sentAt``) was more than :data:`SKEW_LIMIT` off the server's
(``skewed``, and the largest such difference).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Sequence
from typing import Any, Final

from juncture.core.events import Event
from juncture.definitions.tracking_plans import TrackingPlan
from juncture.definitions.tracking_plans import parse as parse_plan
from juncture.errors import JunctureError
from juncture.runtime.periodic import Periodic
from juncture.runtime.tracking_plans import Checked, Plans
from juncture.store.quality import COUNTS, QualityStore

LATE_AFTER: Final = dt.timedelta(hours=1)
SKEW_LIMIT: Final = dt.timedelta(minutes=1)
SOURCE: Final = ""  # the event name of a source's own row
_HOUR: Final = dt.timedelta(hours=1)
_INDEX: Final = {name: i for i, name in enumerate(COUNTS)}
log = logging.getLogger(__name__)

Key = tuple[str, dt.datetime, str]


def _hour(at: dt.datetime) -> dt.datetime:
    return at.replace(minute=0, second=0, microsecond=0)


class Tally:
    """Counts in memory until :meth:`take` hands them over (thread-safe: ingestion adds from
    the event loop and import threads, the flusher takes from its own)."""

    def __init__(self) -> None:
        self._rows: dict[Key, list[int]] = {}
        self._lock = threading.Lock()

    def _row(self, key: Key) -> list[int]:
        row = self._rows.get(key)
        if row is None:
            row = self._rows[key] = [0] * len(COUNTS)
        return row

    def record(
        self,
        source: str,
        received_at: dt.datetime,
        events: Sequence[Event],
        checked: Sequence[Checked],
    ) -> None:
        """``events``: the messages that passed validation; ``checked``: what the plan made
        of each (empty without a plan)."""
        if not events:
            return
        hour = _hour(received_at)
        late = sum(1 for e in events if received_at - e.timestamp > LATE_AFTER)
        skews = [abs(e.sent_at - received_at) for e in events if e.sent_at is not None]
        skewed = [s for s in skews if s > SKEW_LIMIT]
        with self._lock:
            whole = self._row((source, hour, SOURCE))
            whole[_INDEX["received"]] += len(events)
            whole[_INDEX["late"]] += late
            whole[_INDEX["skewed"]] += len(skewed)
            if skewed:
                most = int(max(skewed) / dt.timedelta(milliseconds=1))
                whole[_INDEX["skew_max_ms"]] = max(whole[_INDEX["skew_max_ms"]], most)
            for index, event in enumerate(events):
                row = self._row((source, hour, event.display_name))
                row[_INDEX["received"]] += 1
                if index < len(checked):
                    self._checked(row, checked[index])

    @staticmethod
    def _checked(row: list[int], result: Checked) -> None:
        row[_INDEX["violating"]] += 1 if result.violations else 0
        row[_INDEX["quarantined"]] += 1 if result.event is None else 0
        row[_INDEX["unplanned"]] += 1 if result.unplanned else 0

    def duplicates(self, source: str, received_at: dt.datetime, count: int) -> None:
        if count:
            with self._lock:
                self._row((source, _hour(received_at), SOURCE))[_INDEX["duplicates"]] += count

    def take(self) -> list[dict[str, Any]]:
        with self._lock:
            rows, self._rows = self._rows, {}
        return [
            {"source": s, "hour": h, "event": e, **dict(zip(COUNTS, counts, strict=True))}
            for (s, h, e), counts in rows.items()
        ]

    def flush(self, store: QualityStore) -> None:
        """Writes what was counted; kept for the next try when the store fails."""
        rows = self.take()
        try:
            store.add(rows)
        except JunctureError:
            with self._lock:
                for row in rows:
                    mine = self._row((row["source"], row["hour"], row["event"]))
                    for name, i in _INDEX.items():
                        mine[i] = (
                            max(mine[i], row[name])
                            if name == "skew_max_ms"
                            else mine[i] + row[name]
                        )
            raise


class TallyFlusher(Periodic):
    """Writes the tally every ``interval`` seconds on a thread of its own, and once more
    when stopped."""

    def __init__(self, tally: Tally, store: QualityStore, interval: float = 5.0) -> None:
        super().__init__("quality-tally", self._flush, interval, join=10)
        self.tally, self.store = tally, store

    def _flush(self) -> None:
        try:
            self.tally.flush(self.store)
        except JunctureError as exc:
            log.warning("data-quality tallies not written yet: %s", exc.code)

    def stop(self) -> None:
        super().stop()
        self._flush()


def report(
    store: QualityStore, plans: Plans, source: str, since: dt.datetime, until: dt.datetime
) -> dict[str, Any]:
    """The data-quality report of ``source`` for the hours of receipt in ``[since, until)``."""
    start, end = _hour(since), _hour(until) + (_HOUR if _hour(until) != until else dt.timedelta())
    sums = store.sums(source, start, end)
    whole = sums.pop(SOURCE, dict.fromkeys(COUNTS, 0))
    plan = plans.get(source)
    events = [_event_json(name, counts) for name, counts in sums.items()]
    return {
        "source": source,
        "since": _iso(start),
        "until": _iso(end),
        "plan": None
        if plan is None
        else {"name": plan.name, "violations": plan.violations, "unplanned": plan.unplanned},
        "received": whole["received"],
        "duplicates": whole["duplicates"],
        "duplicateRate": _rate(whole["duplicates"], whole["received"] + whole["duplicates"]),
        "violating": sum(e["violating"] for e in events),
        "violationRate": _rate(sum(e["violating"] for e in events), whole["received"]),
        "quarantined": sum(e["quarantined"] for e in events),
        "unplannedEvents": [e["event"] for e in events if e["unplanned"]],
        "late": whole["late"],
        "lateRate": _rate(whole["late"], whole["received"]),
        "lateAfterSeconds": LATE_AFTER.total_seconds(),
        "skewed": whole["skewed"],
        "skewRate": _rate(whole["skewed"], whole["received"]),
        "skewLimitSeconds": SKEW_LIMIT.total_seconds(),
        "skewMaxSeconds": whole["skew_max_ms"] / 1000,
        "events": events,
    }


def _event_json(name: str, counts: dict[str, int]) -> dict[str, Any]:
    return {
        "event": name,
        "received": counts["received"],
        "violating": counts["violating"],
        "violationRate": _rate(counts["violating"], counts["received"]),
        "quarantined": counts["quarantined"],
        "unplanned": counts["unplanned"] > 0,
    }


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _iso(at: dt.datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


class Quality:
    """What the admin API and the CLI do with plans and reports: a saved plan is in force
    for the next message of its source."""

    def __init__(self, store: QualityStore, plans: Plans, tally: Tally) -> None:
        self.store, self.plans, self.tally = store, plans, tally

    def save_plan(
        self, source: str, text: str, filename: str, at: dt.datetime, *, dry_run: bool = False
    ) -> TrackingPlan:
        """Reads the plan (raising InvalidDefinition with every problem) and, unless
        ``dry_run``, stores it and puts it in force."""
        plan = parse_plan(text, filename)
        if not dry_run:
            self.store.put_plan(source, filename, text, at)
            self.plans.put(source, plan)
        return plan

    def drop_plan(self, source: str) -> bool:
        self.plans.put(source, None)
        return self.store.delete_plan(source)

    def report(self, source: str, since: dt.datetime, until: dt.datetime) -> dict[str, Any]:
        self.tally.flush(self.store)  # what this process counted so far, too
        return report(self.store, self.plans, source, since, until)


def plan_json(source: str, plan: TrackingPlan) -> dict[str, Any]:
    return {
        "source": source,
        "name": plan.name,
        "violations": plan.violations,
        "unplanned": plan.unplanned,
        "events": sorted(plan.events),
        "kinds": sorted(plan.kinds),
        "global": plan.common is not None,
    }
