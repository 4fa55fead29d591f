"""What the journeys did, computed from the rows the store reads for it
(:mod:`juncture.store.journey_report`): enrollments per arm, messages by channel,
suppressions by reason, orders and revenue, and each journey's lift against its holdout.

A profile *converted* in a journey when an ``Order Completed`` of that profile (after
merges: its surviving profile) is stored with an event time after the profile first entered
the journey (an order that itself starts a journey does not count for it). Treatment and
holdout are the enrollments' own arms, so the lift is what the journey's messages added.
No personal data leaves this module: counts only.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, Final

import msgspec

from juncture.analytics.experiments import lift
from juncture.store.journey_report import Counts, Entry, Order, ReportRows


class _Order(msgspec.Struct):
    revenue: float | int | None = None
    total: float | int | None = None
    currency: str | None = None


class _Body(msgspec.Struct):
    properties: _Order = msgspec.field(default_factory=_Order)


_body: Final = msgspec.json.Decoder(_Body)


def report(rows: ReportRows) -> dict[str, Any]:
    """The journey section of the demo summary (see the module docstring), from the rows
    the store reads for it (``SqlStore.journey_report()``)."""
    orders = _orders(rows.orders, rows.redirects)
    out: dict[str, Any] = {
        "entered": _entered(rows.entered),
        "messages_by_channel": _counts(rows.sent_by_channel),
        "suppressions_by_reason": _counts(rows.suppressed_by_reason),
        "orders": sum(len(v) for v in orders.values()),
        "revenue": _revenue(orders),
        "lift": {},
    }
    for journey, by_arm in sorted(arms(rows.entries, rows.redirects).items()):
        counts = {arm: _converted(entries, orders) for arm, entries in by_arm.items()}
        t_conv, t_n = counts.get("treatment", (0, 0))
        h_conv, h_n = counts.get("holdout", (0, 0))
        out["lift"][journey] = {
            "treatment": {"profiles": t_n, "converted": t_conv},
            "holdout": {"profiles": h_n, "converted": h_conv},
            **lift(t_conv, t_n, h_conv, h_n).to_json(),
        }
    return out


def _entered(rows: Iterable[tuple[str, bool, int]]) -> dict[str, dict[str, int]]:
    """Enrollments (re-entries included) per journey and arm."""
    out: dict[str, dict[str, int]] = {}
    for journey, holdout, count in rows:
        row = out.setdefault(journey, {"treatment": 0, "holdout": 0})
        row["holdout" if holdout else "treatment"] = count
    return dict(sorted(out.items()))


def canonical(redirects: dict[str, str], pid: str) -> str:
    """The profile ``pid`` lives on in now, following merges."""
    seen = {pid}
    while pid in redirects and redirects[pid] not in seen:
        pid = redirects[pid]
        seen.add(pid)
    return pid


Orders = dict[str, list[tuple[dt.datetime, str | None, float]]]


def _orders(rows: Sequence[Order], redirects: dict[str, str]) -> Orders:
    out: Orders = defaultdict(list)
    for order in rows:
        props = _body.decode(order.body).properties
        value = props.revenue if props.revenue is not None else props.total
        out[canonical(redirects, order.profile_id)].append(
            (order.at, props.currency, float(value or 0))
        )
    return out


def _revenue(orders: Orders) -> dict[str, float]:
    total: dict[str, float] = defaultdict(float)
    for rows in orders.values():
        for _, currency, value in rows:
            total[currency or "unknown"] += value
    return {k: round(v, 2) for k, v in sorted(total.items())}


def _counts(rows: Counts) -> dict[str, int]:
    """Counts by key, largest first (ties in the store's order)."""
    return {str(k): v for k, v in sorted(rows, key=lambda kv: -kv[1])}


def arms(
    rows: Iterable[Entry], redirects: dict[str, str]
) -> dict[str, dict[str, dict[str, dt.datetime]]]:
    """journey -> arm (``treatment``, ``holdout``) -> profile (after merges) -> when it
    first entered."""
    out: dict[str, dict[str, dict[str, dt.datetime]]] = defaultdict(lambda: defaultdict(dict))
    for entry in rows:
        arm = out[entry.journey_id]["holdout" if entry.holdout else "treatment"]
        key = canonical(redirects, entry.profile_id)
        arm[key] = min(entry.entered_at, arm.get(key, entry.entered_at))
    return out


def _converted(entries: dict[str, dt.datetime], orders: Orders) -> tuple[int, int]:
    converted = sum(
        1 for pid, at in entries.items() if any(t > at for t, _, _ in orders.get(pid, ()))
    )
    return converted, len(entries)
