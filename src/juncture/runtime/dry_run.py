"""Dry run: what a draft journey would have done over the recorded history, without sending.

The store's client events, segment definitions and running journeys are copied into a
scratch SQLite database (:mod:`juncture.store.sandbox`) in a temporary folder, the draft is
applied there beside the running journeys (a draft with a running journey's id stands in
for it), and :func:`juncture.runtime.replay.replay` feeds the events through the same
engine in event time: the state before ``since`` is built without journeys, the journeys
act from ``since`` to ``now``. Arbitration (caps, quiet hours, consent, priority against
the running journeys) decides as it would have live; no dispatcher runs, so every message
the draft would have sent stays pending in the scratch outbox, which is read and then
thrown away with the folder. Nothing is written to the live store.

Known gaps: a journey triggered by a date trait arms its timers when applied, and the
scratch store has no profiles yet then, so such journeys enter no one in a dry run; the
live store's address suppressions (bounces, complaints) are the dispatcher's and are not
applied.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

from juncture.core.measures import Period
from juncture.core.pipeline import EngineConfig
from juncture.definitions import journeys as journey_definitions
from juncture.runtime.replay import replay
from juncture.store.journey_kpis import JourneyKpis
from juncture.store.kpis import KpiQuery
from juncture.store.sandbox import Source, copy_live, sandbox

Row = dict[str, Any]


def dry_run(
    live: Source,
    config: EngineConfig,
    text: str,
    filename: str,
    *,
    since: dt.datetime,
    now: dt.datetime,
    window: dt.timedelta = dt.timedelta(days=7),
) -> Row:
    """Run the draft journey ``text`` over the events of ``live`` from ``since`` to ``now``.
    An invalid draft raises :class:`~juncture.errors.InvalidDefinition` (file and line)
    before anything is copied. The answer's shape is in docs/measurement.md."""
    spec = journey_definitions.loads(text, filename)
    with (
        tempfile.TemporaryDirectory(prefix="juncture-dry-run-") as folder,
        sandbox(Path(folder)) as scratch,
    ):
        copied = copy_live(live, scratch)
        applied = scratch.journeys.apply(text, filename)
        summary = replay(
            scratch, config=config, until=now, journeys=scratch.journeys, journeys_from=since
        )
        query = KpiQuery(journey=spec.id, since=since, period=Period.day, window=window)
        reads = JourneyKpis(scratch.engine)
        entries, messages = reads.entries(query), reads.messages(query)
        positions = reads.positions(query)
    found = {**_summary(entries, messages), "positions": positions}
    return {
        "journey_id": spec.id, "version": applied.version,
        "since": since.isoformat(), "until": now.isoformat(),
        "events": copied, "replayed": summary.events, "engine_errors": summary.engine_errors,
        **found,
    }  # fmt: skip


def _summary(entries: list[Row], messages: list[Row]) -> Row:
    """Totals, per day, and per node and channel, from the scratch reports."""
    arms: dict[str, int] = {}
    for r in entries:
        arms[r["arm"]] = arms.get(r["arm"], 0) + r["profiles"]
    reasons: dict[str, int] = {}
    for m in messages:
        for reason, n in m["suppressed_by_reason"].items():
            reasons[reason] = reasons.get(reason, 0) + n
    return {
        "entered": sum(arms.values()),
        "held_out": arms.get("holdout", 0),
        "messaged": sum(m["pending"] + m["delivered"] for m in messages),
        "suppressed": sum(m["suppressed"] for m in messages),
        "suppressed_by_reason": dict(sorted(reasons.items())),
        "per_day": _per_day(entries, messages),
        "per_node": _per_node(messages),
    }


def _per_day(entries: list[Row], messages: list[Row]) -> list[Row]:
    days: dict[str, Row] = {}

    def day(key: str) -> Row:
        return days.setdefault(key, {"day": key, "entered": 0, "messaged": 0, "suppressed": 0})

    for r in entries:
        day(r["period"])["entered"] += r["profiles"]
    for m in messages:
        row = day(m["period"])
        row["messaged"] += m["pending"] + m["delivered"]
        row["suppressed"] += m["suppressed"]
    return [days[k] for k in sorted(days)]


def _per_node(messages: list[Row]) -> list[Row]:
    nodes: dict[tuple[str, str], Row] = {}
    for m in messages:
        key = (m["node_id"], m["channel"])
        row = nodes.setdefault(
            key, {"node_id": key[0], "channel": key[1], "messaged": 0, "suppressed": 0,
                  "suppressed_by_reason": {}},
        )  # fmt: skip
        row["messaged"] += m["pending"] + m["delivered"]
        row["suppressed"] += m["suppressed"]
        for reason, n in m["suppressed_by_reason"].items():
            row["suppressed_by_reason"][reason] = row["suppressed_by_reason"].get(reason, 0) + n
    return [nodes[k] for k in sorted(nodes)]
