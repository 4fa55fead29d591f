"""What the journeys did, read from the store: enrollments per arm, messages by channel,
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
from typing import Any, Final

import msgspec
import sqlalchemy as sa

from juncture.analytics.experiments import lift
from juncture.core.events import as_utc
from juncture.store import tables

ORDER: Final = "Order Completed"
SUPPRESSED: Final = "suppressed"


class _Order(msgspec.Struct):
    revenue: float | int | None = None
    total: float | int | None = None
    currency: str | None = None


class _Body(msgspec.Struct):
    properties: _Order = msgspec.field(default_factory=_Order)


_body: Final = msgspec.json.Decoder(_Body)


def report(engine: sa.Engine) -> dict[str, Any]:
    """The journey section of the demo summary (see the module docstring)."""
    with engine.connect() as conn:
        redirects = _redirects(conn)
        orders = _orders(conn, redirects)
        out: dict[str, Any] = {
            "entered": {},
            "messages_by_channel": _outbox_counts(conn, "channel", sent=True),
            "suppressions_by_reason": _outbox_counts(conn, "reason", sent=False),
            "orders": sum(len(v) for v in orders.values()),
            "revenue": _revenue(orders),
            "lift": {},
        }
        arms = _arms(conn, redirects)
        out["entered"] = _entered(conn)
    for journey, by_arm in sorted(arms.items()):
        counts = {arm: _converted(entries, orders) for arm, entries in by_arm.items()}
        t_conv, t_n = counts.get("treatment", (0, 0))
        h_conv, h_n = counts.get("holdout", (0, 0))
        out["lift"][journey] = {
            "treatment": {"profiles": t_n, "converted": t_conv},
            "holdout": {"profiles": h_n, "converted": h_conv},
            **lift(t_conv, t_n, h_conv, h_n).to_json(),
        }
    return out


def _entered(conn: sa.Connection) -> dict[str, dict[str, int]]:
    """Enrollments (re-entries included) per journey and arm."""
    n = tables.enrollments
    query = sa.select(n.c.journey_id, n.c.holdout, sa.func.count()).group_by(
        n.c.journey_id, n.c.holdout
    )
    out: dict[str, dict[str, int]] = {}
    for journey, holdout, count in conn.execute(query):
        row = out.setdefault(str(journey), {"treatment": 0, "holdout": 0})
        row["holdout" if holdout else "treatment"] = int(count)
    return dict(sorted(out.items()))


def _redirects(conn: sa.Connection) -> dict[str, str]:
    p = tables.profiles
    rows = conn.execute(sa.select(p.c.profile_id, p.c.redirect_to).where(p.c.redirect_to != None))  # noqa: E711
    return {str(a): str(b) for a, b in rows}


def _canonical(redirects: dict[str, str], pid: str) -> str:
    seen = {pid}
    while pid in redirects and redirects[pid] not in seen:
        pid = redirects[pid]
        seen.add(pid)
    return pid


Orders = dict[str, list[tuple[dt.datetime, str | None, float]]]


def _orders(conn: sa.Connection, redirects: dict[str, str]) -> Orders:
    e = tables.events
    query = sa.select(e.c.profile_id, e.c.timestamp, e.c.body).where(
        e.c.event == ORDER,
        e.c.profile_id != None,  # noqa: E711
    )
    out: Orders = defaultdict(list)
    for pid, at, body in conn.execute(query):
        props = _body.decode(body).properties
        value = props.revenue if props.revenue is not None else props.total
        out[_canonical(redirects, pid)].append((as_utc(at), props.currency, float(value or 0)))
    return out


def _revenue(orders: Orders) -> dict[str, float]:
    total: dict[str, float] = defaultdict(float)
    for rows in orders.values():
        for _, currency, value in rows:
            total[currency or "unknown"] += value
    return {k: round(v, 2) for k, v in sorted(total.items())}


def _outbox_counts(conn: sa.Connection, column: str, *, sent: bool) -> dict[str, int]:
    o = tables.outbox
    key = o.c[column]
    status = o.c.status != SUPPRESSED if sent else o.c.status == SUPPRESSED
    query = sa.select(key, sa.func.count()).where(status).group_by(key)
    return {str(k): int(v) for k, v in sorted(conn.execute(query), key=lambda kv: -kv[1])}


def _arms(
    conn: sa.Connection, redirects: dict[str, str]
) -> dict[str, dict[str, dict[str, dt.datetime]]]:
    """journey -> arm -> profile -> when it first entered."""
    n = tables.enrollments
    query = sa.select(n.c.journey_id, n.c.holdout, n.c.profile_id, n.c.entered_at)
    out: dict[str, dict[str, dict[str, dt.datetime]]] = defaultdict(lambda: defaultdict(dict))
    for journey, holdout, pid, entered in conn.execute(query):
        arm = out[journey]["holdout" if holdout else "treatment"]
        key = _canonical(redirects, pid)
        at = as_utc(entered)
        arm[key] = min(at, arm.get(key, at))
    return out


def _converted(entries: dict[str, dt.datetime], orders: Orders) -> tuple[int, int]:
    converted = sum(
        1 for pid, at in entries.items() if any(t > at for t, _, _ in orders.get(pid, ()))
    )
    return converted, len(entries)
