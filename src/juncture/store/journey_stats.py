"""What journeys did, per journey and per node, counted in the store by grouped queries.

From ``enrollments``: *entered* (enrollments that reached the node, from the path kept in
each enrollment's ``state.history``), *waiting* (active enrollments at the node now),
*exited* by reason (enrollments that ended at the node: ``completed``, ``goal``,
``exit_criteria``, ...), *goal reached* and *holdout* (of the enrollments that reached the
node: conversion per step, and how many were held out). From ``outbox``: the messages that
nodes produced, by status (``pending``, ``sent``, ``shown``, ``deferred``, ``dead`` ...), and
the suppressed ones by reason. Counts only: no profile ids, no message content.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Final

import sqlalchemy as sa

# Node reach: one row per (journey, node) over the path of every enrollment.
_REACH: Final = {
    "sqlite": """
        SELECT e.journey_id, json_extract(h.value, '$[0]') AS node,
               count(DISTINCT e.enrollment_id),
               count(DISTINCT CASE WHEN e.goal_reached_at IS NOT NULL THEN e.enrollment_id END),
               count(DISTINCT CASE WHEN e.holdout THEN e.enrollment_id END)
        FROM enrollments e, json_each(e.state, '$.history') h
        WHERE {where}
        GROUP BY 1, 2""",
    "postgresql": """
        SELECT e.journey_id, h.value ->> 0 AS node,
               count(DISTINCT e.enrollment_id),
               count(DISTINCT CASE WHEN e.goal_reached_at IS NOT NULL THEN e.enrollment_id END),
               count(DISTINCT CASE WHEN e.holdout THEN e.enrollment_id END)
        FROM enrollments e CROSS JOIN LATERAL jsonb_array_elements(
            COALESCE(CAST(e.state AS jsonb) -> 'history', CAST('[]' AS jsonb))) AS h(value)
        WHERE {where}
        GROUP BY 1, 2""",
}
# Where enrollments are now: active at a node, or ended there (with the reason).
_PLACES: Final = """
    SELECT e.journey_id, e.node, e.status, e.exit_reason, count(*),
           sum(CASE WHEN e.goal_reached_at IS NOT NULL THEN 1 ELSE 0 END),
           sum(CASE WHEN e.holdout THEN 1 ELSE 0 END)
    FROM enrollments e
    WHERE {where}
    GROUP BY e.journey_id, e.node, e.status, e.exit_reason"""
_MESSAGES: Final = """
    SELECT o.journey_id, o.node_id, o.status, o.reason, count(*)
    FROM outbox o
    WHERE o.journey_id IS NOT NULL AND {where}
    GROUP BY o.journey_id, o.node_id, o.status, o.reason"""


def _outcomes(stats: NodeStats | JourneyStats) -> dict[str, Any]:
    """What became of the enrollments and the messages of a journey or a node."""
    return {
        "exited": dict(sorted(stats.exited.items())),
        "goalReached": stats.goal_reached,
        "holdout": stats.holdout,
        "sent": stats.messages["sent"] + stats.messages["shown"],
        "failed": stats.messages["dead"],
        "messages": dict(sorted(stats.messages.items())),
        "suppressed": dict(sorted(stats.suppressed.items())),
    }


@dataclass
class NodeStats:
    node: str
    entered: int = 0
    waiting: int = 0
    exited: Counter[str] = field(default_factory=Counter)
    goal_reached: int = 0
    holdout: int = 0
    messages: Counter[str] = field(default_factory=Counter)
    suppressed: Counter[str] = field(default_factory=Counter)

    def to_json(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "entered": self.entered,
            "waiting": self.waiting,
            **_outcomes(self),
        }


@dataclass
class JourneyStats:
    """Totals for one journey (all versions, or one) and its nodes in definition order
    (nodes no longer in the definition, from older versions, come last)."""

    journey_id: str
    version: int | None = None
    entered: int = 0
    active: int = 0
    exited: Counter[str] = field(default_factory=Counter)
    goal_reached: int = 0
    holdout: int = 0
    messages: Counter[str] = field(default_factory=Counter)
    suppressed: Counter[str] = field(default_factory=Counter)
    nodes: dict[str, NodeStats] = field(default_factory=dict)

    def node(self, node_id: str) -> NodeStats:
        return self.nodes.setdefault(node_id, NodeStats(node_id))

    def to_json(self) -> dict[str, Any]:
        return {
            "journey": self.journey_id,
            "version": self.version,
            "entered": self.entered,
            "active": self.active,
            **_outcomes(self),
            "nodes": [n.to_json() for n in self.nodes.values()],
        }


def collect(
    engine: sa.Engine,
    journey_id: str | None = None,
    version: int | None = None,
    order: dict[str, list[str]] | None = None,
) -> dict[str, JourneyStats]:
    """Stats of every journey in ``order`` or with enrollments or messages (or of
    ``journey_id`` only, and of its ``version`` only). ``order`` lists node ids per journey:
    those nodes are shown first, in that order, with zeros where nothing happened."""
    found: dict[str, JourneyStats] = {}

    def of(jid: str) -> JourneyStats:
        if jid not in found:
            found[jid] = JourneyStats(jid, version)
        return found[jid]

    for jid, node_ids in (order or {}).items():
        for node_id in node_ids:
            of(jid).node(node_id)

    params = {"journey_id": journey_id, "version": version}
    with engine.connect() as conn:
        reach = _query(conn, _REACH[engine.dialect.name], "e", "version", params)
        places = _query(conn, _PLACES, "e", "version", params)
        messages = _query(conn, _MESSAGES, "o", "journey_version", params)
    for jid, node_id, entered, goal, holdout in reach:
        node = of(jid).node(str(node_id))
        node.entered, node.goal_reached, node.holdout = entered, goal, holdout
    for row in places:
        _place(of(row[0]), row)
    for jid, node_id, status, reason, count in messages:
        _message(of(jid), node_id, status, reason, count)
    return found


def _query(
    conn: sa.Connection, sql: str, alias: str, version_column: str, params: dict[str, Any]
) -> list[Any]:
    where = ["1 = 1"]
    if params["journey_id"] is not None:
        where.append(f"{alias}.journey_id = :journey_id")
    if params["version"] is not None:
        where.append(f"{alias}.{version_column} = :version")
    text = sa.text(sql.format(where=" AND ".join(where)))
    return [tuple(row) for row in conn.execute(text, params)]


def _place(stats: JourneyStats, row: tuple[Any, ...]) -> None:
    _, node_id, status, reason, count, goal, holdout = row
    goal, holdout = int(goal or 0), int(holdout or 0)
    stats.entered += count
    stats.goal_reached += goal
    stats.holdout += holdout
    node = stats.node(node_id or "")
    if status == "active":
        stats.active += count
        node.waiting += count
    else:
        stats.exited[reason or status] += count
        node.exited[reason or status] += count


def _message(
    stats: JourneyStats, node_id: str | None, status: str, reason: str | None, count: int
) -> None:
    node = stats.node(node_id or "")
    stats.messages[status] += count
    node.messages[status] += count
    if status == "suppressed":
        stats.suppressed[reason or "unknown"] += count
        node.suppressed[reason or "unknown"] += count
