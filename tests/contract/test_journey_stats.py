"""Journey stats from enrollment and outbox rows, on every store.

The rows are written here directly, in the shapes the engine writes (``Enrollment.to_json``
as ``state``), so that these tests do not depend on the engine.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import sqlalchemy as sa

from juncture.core.journeys.state import Enrollment, Waiting
from juncture.store import tables
from juncture.store.journeys import JourneyStore
from juncture.store.sql import SqlStore
from tests.contract.test_journey_store import V1

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def enrollment(
    n: int,
    history: list[tuple[str, str]],
    *,
    exited: str | None = None,
    goal: bool = False,
    holdout: bool = False,
    journey: str = "thanks",
    version: int = 1,
) -> dict[str, Any]:
    state = Enrollment(
        id=f"e{n}",
        journey_id=journey,
        version=version,
        profile_id=f"p{n}",
        key=None,
        node=history[-1][0],
        entered_at=T0,
        history=tuple(history),
        goal_reached=goal,
        exited=exited is not None,
        exit_reason=exited,
        holdout=holdout,
    )
    return {
        "enrollment_id": state.id,
        "journey_id": journey,
        "version": version,
        "profile_id": state.profile_id,
        "key": None,
        "status": "exited" if exited else "active",
        "node": state.node,
        "holdout": holdout,
        "goal_reached_at": T0 if goal else None,
        "exit_reason": exited,
        "entered_at": T0,
        "updated_at": T0,
        "state": json.dumps(state.to_json()),
    }


def message(n: int, node: str, status: str, reason: str | None = None) -> dict[str, Any]:
    return {
        "idempotency_key": f"thanks:1:e{n}:{node}:2",
        "profile_id": f"p{n}",
        "journey_id": "thanks",
        "journey_version": 1,
        "enrollment_id": f"e{n}",
        "node_id": node,
        "channel": "email",
        "purpose": "marketing",
        "template": "thanks",
        "payload": "{}",
        "status": status,
        "reason": reason,
        "created_at": T0,
    }


def fill(store: SqlStore) -> None:
    to_mail = [("bought", "event"), ("wait", ""), ("mail", "")]
    rows = [
        enrollment(1, [("bought", "event"), ("wait", "")]),  # waiting
        enrollment(2, [("bought", "event"), ("wait", "")], holdout=True),  # waiting, held out
        enrollment(3, [*to_mail, ("done", "")], exited="completed", goal=True),
        enrollment(4, [*to_mail, ("done", "")], exited="completed"),
        enrollment(5, [("bought", "event"), ("wait", "")], exited="exit_criteria"),
        enrollment(6, [*to_mail, ("done", "")], exited="completed", holdout=True, goal=True),
        enrollment(7, [("bought", "event"), ("wait", "")], journey="other"),
    ]
    outbox = [
        message(3, "mail", "sent"),
        message(4, "mail", "suppressed", "no_consent:email:marketing"),
        message(6, "mail", "suppressed", "holdout"),
        message(8, "mail", "dead"),
        message(9, "mail", "pending"),
    ]
    with store.engine.begin() as conn:
        conn.execute(sa.insert(tables.enrollments), rows)
        conn.execute(sa.insert(tables.outbox), outbox)


def test_stats_per_journey_and_node(store: SqlStore) -> None:
    journeys = JourneyStore(store.engine)
    journeys.apply(V1, "thanks.yaml")
    fill(store)
    stats = journeys.stats("thanks").to_json()
    assert stats["entered"] == 6 and stats["active"] == 2
    assert stats["exited"] == {"completed": 3, "exit_criteria": 1}
    assert (stats["goalReached"], stats["holdout"]) == (2, 2)
    assert (stats["sent"], stats["failed"]) == (1, 1)
    assert stats["suppressed"] == {"holdout": 1, "no_consent:email:marketing": 1}
    assert stats["messages"] == {"dead": 1, "pending": 1, "sent": 1, "suppressed": 2}
    nodes = {n["node"]: n for n in stats["nodes"]}
    assert [n["node"] for n in stats["nodes"]] == ["bought", "wait", "mail", "done"]
    assert [nodes[n]["entered"] for n in ("bought", "wait", "mail", "done")] == [6, 6, 3, 3]
    assert nodes["wait"]["waiting"] == 2 and nodes["mail"]["waiting"] == 0
    assert nodes["wait"]["exited"] == {"exit_criteria": 1}
    assert nodes["done"]["exited"] == {"completed": 3}
    assert (nodes["mail"]["goalReached"], nodes["mail"]["holdout"]) == (2, 1)
    assert (nodes["bought"]["goalReached"], nodes["bought"]["holdout"]) == (2, 2)
    assert nodes["mail"]["suppressed"] == stats["suppressed"]
    assert nodes["bought"]["messages"] == {}


def test_stats_of_one_version_and_of_a_journey_without_enrollments(store: SqlStore) -> None:
    journeys = JourneyStore(store.engine)
    journeys.apply(V1, "thanks.yaml")
    assert journeys.stats("thanks").to_json()["nodes"][0] == {
        "node": "bought",
        "entered": 0,
        "waiting": 0,
        "exited": {},
        "goalReached": 0,
        "holdout": 0,
        "sent": 0,
        "failed": 0,
        "messages": {},
        "suppressed": {},
    }
    fill(store)
    journeys.apply(V1.replace("1d", "2d"), "thanks.yaml")
    assert journeys.stats("thanks", version=2).to_json()["entered"] == 0
    assert journeys.stats("thanks", version=1).to_json()["entered"] == 6
    every = {s.journey_id: s for s in journeys.all_stats()}
    assert every["other"].entered == 1 and every["thanks"].entered == 6


def test_archive_stops_running_enrollments_and_their_timers(store: SqlStore) -> None:
    journeys = JourneyStore(store.engine)
    journeys.apply(V1, "thanks.yaml")
    fill(store)
    waiting = Enrollment.from_json(
        json.loads(enrollment(1, [("bought", "event"), ("wait", "")])["state"])
    )
    waiting = dataclasses.replace(waiting, waiting=Waiting("e1:wait:1", T0))
    timer = {"key": "e1:wait:1", "kind": "journey", "profile_id": "p1", "due_at": T0}
    e = tables.enrollments
    with store.engine.begin() as conn:
        conn.execute(
            e.update().where(e.c.enrollment_id == "e1").values(state=json.dumps(waiting.to_json()))
        )
        conn.execute(sa.insert(tables.timers), [timer])
    journeys.archive("thanks")
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(e).where(e.c.journey_id == "thanks")).all()
        timers = conn.execute(sa.select(tables.timers)).all()
    assert timers == []
    stopped = {r.enrollment_id: r for r in rows if r.exit_reason == "archived"}
    assert sorted(stopped) == ["e1", "e2"]  # the two that were waiting
    state = Enrollment.from_json(json.loads(stopped["e1"].state))
    assert (state.exited, state.exit_reason, state.waiting, state.node) == (
        True,
        "archived",
        None,
        "wait",
    )
    stats = journeys.stats("thanks").to_json()
    assert stats["active"] == 0 and stats["exited"]["archived"] == 2
    every = {s.journey_id: s for s in journeys.all_stats()}
    assert every["other"].active == 1  # other journeys' enrollments are untouched
