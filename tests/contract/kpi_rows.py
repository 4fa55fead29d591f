"""A small shop written as rows, in the shapes the engine writes them, for the KPI, funnel
and path tests: five profiles (p4 merged into p1), seven orders (one sent twice), cart and
checkout signals, stage moves, a segment, and the browsing that funnels and paths read.
Every expected figure in the tests is worked out by hand from this."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from juncture.core.journeys.state import Enrollment
from juncture.store import tables

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # a Monday
DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
DERIVED = {"Cart Abandoned", "Checkout Abandoned", "Journey Stage Changed"}  # the engine's


def event(seq: int, profile: str, name: str, at: dt.datetime, **props: Any) -> dict[str, Any]:
    return {
        "seq": seq,
        "source": "juncture" if name in DERIVED else "web",
        "message_id": f"m{seq}",
        "type": "track",
        "event": name,
        "user_id": profile,
        "anonymous_id": None,
        "timestamp": at,
        "received_at": at,
        "body": json.dumps({"properties": props}),
        "profile_id": profile,
    }


def profile(pid: str, stage: str, redirect: str | None = None) -> dict[str, Any]:
    return {"profile_id": pid, "stage": stage, "redirect_to": redirect}


ORDERS: list[tuple[str, dt.datetime, dict[str, Any]]] = [
    ("p1", T0, {"order_id": "o1", "revenue": 100, "products": [{"price": 50, "quantity": 2}]}),
    (
        "p1",
        T0 + HOUR,
        {"order_id": "o1", "revenue": 100, "products": [{"price": 50, "quantity": 2}]},
    ),
    ("p4", T0 + 30 * DAY, {"order_id": "o2", "total": "30.5"}),
    ("p2", T0 + DAY, {"order_id": "o3", "products": [{"price": 10, "quantity": 3}, {"price": 5}]}),
    ("p2", T0 + 3 * DAY, {"order_id": "o6", "revenue": 5}),
    ("p3", T0 + 40 * DAY, {"order_id": 4, "value": 20}),
    ("p3", T0 + 44 * DAY, {"revenue": 10}),  # no order id: its message id is its key
]
OTHER: list[tuple[str, str, dt.datetime, dict[str, Any]]] = [
    ("p2", "Cart Abandoned", T0 + 12 * HOUR, {}),
    ("p3", "Checkout Abandoned", T0, {}),
    ("p1", "Cart Abandoned", T0 + 25 * DAY, {}),
    ("p3", "Checkout Started", T0, {}),
    ("p2", "Checkout Started", T0 + 12 * HOUR, {}),
    ("p2", "Journey Stage Changed", T0, {"from": "awareness", "to": "consideration"}),
    ("p2", "Journey Stage Changed", T0 + DAY, {"from": "consideration", "to": "decision"}),
    ("p3", "Journey Stage Changed", T0 + 2 * DAY, {"from": "awareness", "to": "consideration"}),
]


def rows() -> list[dict[str, Any]]:
    found: list[tuple[str, str, dt.datetime, dict[str, Any]]] = [
        (p, "Order Completed", at, props) for p, at, props in ORDERS
    ]
    found += OTHER
    return [event(i + 1, p, name, at, **props) for i, (p, name, at, props) in enumerate(found)]


def write(engine: sa.Engine, extra_events: Sequence[dict[str, Any]] = ()) -> None:
    with engine.begin() as conn:
        conn.execute(
            tables.profiles.insert(),
            [
                profile("p1", "loyalty"),
                profile("p2", "decision"),
                profile("p3", "lapsed"),
                profile("p4", "loyalty", redirect="p1"),
                profile("p5", "awareness"),
            ],
        )
        conn.execute(tables.events.insert(), [*rows(), *extra_events])
        conn.execute(
            tables.segment_members.insert(),
            [{"segment_id": "vip", "profile_id": "p3", "since": T0}],
        )


ANSWERS: list[tuple[str, str, dt.datetime, dict[str, Any]]] = [
    ("p2", "Email Opened", T0 + 13 * HOUR, {}),
    ("p2", "Email Opened", T0 + 2 * DAY + HOUR, {}),  # m5 since, but an SMS: still m2's open
    ("p1", "Email Link Clicked", T0, {}),
    ("p2", "Unsubscribed", T0 + 2 * DAY + 2 * HOUR, {}),  # after m5, the SMS
    ("p1", "Email Opened", T0 + 20 * DAY, {"email_id": "1"}),  # past the window, but named
]


def enrollment(
    n: str, pid: str, at: dt.datetime, *, holdout: bool = False, goal: bool = False
) -> dict[str, Any]:
    state = Enrollment(
        id=n, journey_id="welcome", version=1, profile_id=pid, key=None, node="hello",
        entered_at=at, history=(("start", "entered"),), goal_reached=goal, exited=False,
        exit_reason=None, holdout=holdout,
    )  # fmt: skip
    return {
        "enrollment_id": n, "journey_id": "welcome", "version": 1, "profile_id": pid,
        "key": None, "status": "active", "node": "hello", "holdout": holdout,
        "goal_reached_at": at + HOUR if goal else None, "exit_reason": None,
        "entered_at": at, "updated_at": at, "state": json.dumps(state.to_json()),
    }  # fmt: skip


def message(
    n: int, pid: str, node: str, channel: str, status: str, at: dt.datetime,
    reason: str | None = None, sent: dt.datetime | None = None,
) -> dict[str, Any]:  # fmt: skip
    return {
        "id": n, "idempotency_key": f"k{n}", "profile_id": pid, "journey_id": "welcome",
        "journey_version": 1, "enrollment_id": None, "node_id": node, "channel": channel,
        "purpose": "marketing", "template": "t", "payload": "{}", "status": status,
        "reason": reason, "created_at": at, "sent_at": sent,
    }  # fmt: skip


ENROLLMENTS = [
    enrollment("e1", "p1", T0 - HOUR, goal=True),
    enrollment("e1b", "p4", T0 + 29 * DAY),  # p4 lives on in p1: a second entry, not counted
    enrollment("e2", "p2", T0),
    enrollment("e3", "p3", T0, holdout=True),
    enrollment("e5", "p5", T0),
]
MESSAGES = [
    message(1, "p1", "hello", "email", "sent", T0 - HOUR, sent=T0 - HOUR / 2),
    message(2, "p2", "hello", "email", "sent", T0 + 12 * HOUR, sent=T0 + 12 * HOUR),
    message(3, "p3", "hello", "none", "suppressed", T0, reason="holdout"),
    message(4, "p5", "hello", "email", "dead", T0),
    message(5, "p2", "nudge", "sms", "sent", T0 + 2 * DAY, sent=T0 + 2 * DAY),
    message(6, "p5", "hello", "email", "suppressed", T0, reason="frequency_cap:email"),
]


def write_journey(engine: sa.Engine) -> None:
    """The journey ``welcome``'s enrollments and messages, and what answered them."""
    start = len(rows()) + 1
    with engine.begin() as conn:
        conn.execute(tables.enrollments.insert(), ENROLLMENTS)
        conn.execute(tables.outbox.insert(), MESSAGES)
        conn.execute(
            tables.events.insert(),
            [
                event(start + i, p, name, at, **props)
                for i, (p, name, at, props) in enumerate(ANSWERS)
            ],
        )
