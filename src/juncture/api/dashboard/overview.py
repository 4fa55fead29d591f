"""The Overview page: activity over a chosen period (events per minute, orders and revenue,
messages by channel and status), the stage funnel, and the engine's lag and errors.

A period ends now. When nothing was received in it (a database replayed from the past, the
demo's, or a quiet shop), it ends at the newest event a client sent instead, and the page
says so: an empty chart of the last hour would tell a marketer nothing.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Final

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from juncture.api.dashboard import render
from juncture.api.dashboard.sources import Sources
from juncture.store.activity import TAIL


@dataclass(frozen=True, slots=True)
class Period:
    name: str
    label: str
    length: dt.timedelta
    step: int  # seconds per bucket


PERIODS: Final = {
    p.name: p
    for p in (
        Period("1h", "Last hour", dt.timedelta(hours=1), 60),
        Period("24h", "Last 24 hours", dt.timedelta(days=1), 900),
        Period("7d", "Last 7 days", dt.timedelta(days=7), 3600),
        Period("30d", "Last 30 days", dt.timedelta(days=30), 6 * 3600),
    )
}
DEFAULT: Final = "7d"
STAGES_FRESH: Final = 60.0  # seconds a count of customers per stage is shown


def period_of(name: str | None) -> Period:
    return PERIODS.get(name or DEFAULT, PERIODS[DEFAULT])


def window(sources: Sources, period: Period) -> tuple[dt.datetime, dt.datetime, bool]:
    """[since, until) of ``period``, and whether it was moved back to the newest event."""
    now = sources.clock.now()
    newest = sources.store.dashboard.newest_event()
    if newest is not None and newest < now - period.length:
        end = (int(newest.timestamp()) // period.step + 1) * period.step
        until = dt.datetime.fromtimestamp(end, dt.UTC)
        return until - period.length, until, True
    return now - period.length, now, False


def figures(sources: Sources, period: Period) -> dict[str, Any]:
    """Everything the Overview shows, as JSON-ready data (the page and its refreshes)."""
    reads, activity = sources.store.dashboard, sources.store.activity
    since, until, moved = window(sources, period)
    buckets = activity.buckets(since, until, period.step)
    per_minute = 60 / period.step
    messages = reads.messages(since, until)
    orders = sum(b.orders for b in buckets)
    revenue = sum(b.revenue for b in buckets)
    return {
        "period": period.name,
        "since": since,
        "until": until,
        "moved": moved,
        "summarising": max(0, activity.behind() - TAIL),  # events not in the charts yet
        "totals": {
            "events": sum(b.events for b in buckets),
            "derived": sum(b.derived for b in buckets),
            "orders": orders,
            "revenue": round(revenue, 2),
            "aov": round(revenue / orders, 2) if orders else None,
            "messages": sum(n for _, _, n in messages),
            "quarantined": reads.quarantined(since, until),
        },
        "activity": {
            "labels": [b.start for b in buckets],
            "events": [round(b.events * per_minute, 3) for b in buckets],
            "derived": [round(b.derived * per_minute, 3) for b in buckets],
            "orders": [b.orders for b in buckets],
            "revenue": [round(b.revenue, 2) for b in buckets],
        },
        "messages": _by_channel(messages),
        "stages": _stages(sources),
        "engine": _engine(sources),
        "lag": _lag(sources, since, until, period),
    }


def _stages(sources: Sources) -> list[tuple[str, int]] | None:
    """Customers per stage, counted over every profile (a second on a million): the last
    count up to a minute old, None while the first is made."""
    found = sources.reports.get(("stages",), sources.store.dashboard.stages, fresh=STAGES_FRESH)
    return None if found is None else [(str(s), int(n)) for s, n in found.value]


def _lag(
    sources: Sources, since: dt.datetime, until: dt.datetime, period: Period
) -> dict[str, Any]:
    """The most the engine was behind in each bucket (sampled once a minute by ``juncture
    serve``; None where there is no sample: inline, or the server was not running)."""
    found = sources.store.lag_samples.buckets(since, until, period.step)
    return {
        "labels": [b.start for b in found],
        "events": [b.events for b in found],
        "seconds": [b.seconds for b in found],
    }


def _by_channel(rows: list[tuple[str, str, int]]) -> dict[str, Any]:
    """Counts as a channel-by-status table: the channels, and per status a count per channel."""
    channels = sorted({c for c, _, _ in rows})
    table: dict[str, dict[str, int]] = defaultdict(dict)
    for channel, status, count in rows:
        table[status][channel] = count
    return {
        "channels": channels,
        "statuses": {s: [found.get(c, 0) for c in channels] for s, found in sorted(table.items())},
    }


def _engine(sources: Sources) -> dict[str, Any]:
    behind = sources.engine_behind
    if behind is None:
        return {"mode": "inline", "lagEvents": 0, "lagSeconds": 0.0, "failing": None}
    lag = behind.lag()
    return {
        "mode": "behind the log" if behind.running() else "stopped",
        "lagEvents": lag.events,
        "lagSeconds": round(lag.seconds(sources.clock.now()), 3),
        "failing": behind.failing(),
    }


def router(sources: Sources) -> APIRouter:
    api = APIRouter(include_in_schema=False)

    @api.get("/app")
    async def overview(request: Request) -> Response:
        period = period_of(request.query_params.get("period"))
        found = await run_in_threadpool(figures, sources, period)
        return render.page(request, "overview.html", data=found, periods=PERIODS.values())

    @api.get("/app/api/overview")
    async def overview_data(request: Request) -> Response:
        period = period_of(request.query_params.get("period"))
        return render.data(await run_in_threadpool(figures, sources, period))

    return api
