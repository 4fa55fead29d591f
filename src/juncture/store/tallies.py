"""Counts and sample rows the benches check their runs by: events stored from a source, timers
due, outbox rows a journey node wrote, and one real row of each kind the raw limits insert.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from juncture.store import tables
from juncture.store.sql import SqlStore

_COUNT = sa.select(sa.func.count())


def events_from(store: SqlStore, source: str) -> tuple[int, int]:
    """(events stored from ``source``, events stored in all)."""
    events = tables.events
    query = _COUNT.select_from(events)
    with store.engine.connect() as conn:
        ours = conn.execute(query.where(events.c.source == source)).scalar_one()
        every = conn.execute(query).scalar_one()
    return int(ours), int(every)


def unapplied(store: SqlStore, source: str) -> int:
    """Events from ``source`` the engine has not applied (no profile yet)."""
    events = tables.events
    return _scalar(
        store,
        _COUNT.select_from(events).where(events.c.source == source, events.c.profile_id.is_(None)),
    )


def timers_due(store: SqlStore, now: dt.datetime, kind: str | None = None) -> int:
    """Timers due at ``now`` (of ``kind`` only, when given)."""
    t = tables.timers
    query = _COUNT.select_from(t).where(t.c.due_at <= now)
    if kind is not None:
        query = query.where(t.c.kind == kind)
    return _scalar(store, query)


def outbox_from_node(store: SqlStore, node_id: str) -> int:
    """Outbox rows written by journey nodes with id ``node_id``."""
    return _scalar(store, _COUNT.where(tables.outbox.c.node_id == node_id))


def samples(store: SqlStore, timer_kind: str) -> dict[str, dict[str, Any]]:
    """One stored ``events``, ``outbox`` and ``timers`` row (a timer of ``timer_kind`` when
    there is one) as column -> value: the shape the raw limits insert."""
    with store.engine.connect() as conn:
        rows = {
            name: conn.execute(sa.select(table).limit(1)).one()._asdict()
            for name, table in (("events", tables.events), ("outbox", tables.outbox))
        }
        timer = conn.execute(sa.select(tables.timers).where(tables.timers.c.kind == timer_kind))
        rows["timers"] = (timer.first() or conn.execute(sa.select(tables.timers)).one())._asdict()
    return rows


def _scalar(store: SqlStore, query: sa.Select[Any]) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def live_profiles(store: SqlStore, identifiers: Sequence[str]) -> dict[str, str]:
    """Each of ``identifiers`` found in the identity graph -> the live profile holding it
    (its profile, or the survivor that profile was merged into)."""
    i, p = tables.identities, tables.profiles
    query = (
        sa.select(i.c.identifier, sa.func.coalesce(p.c.redirect_to, p.c.profile_id))
        .join(p, p.c.profile_id == i.c.profile_id)
        .where(i.c.identifier.in_(sa.bindparam("ids", expanding=True)))
    )
    found: dict[str, str] = {}
    with store.engine.connect() as conn:
        for start in range(0, len(identifiers), 1000):
            chunk = list(identifiers[start : start + 1000])
            found.update({str(k): str(v) for k, v in conn.execute(query, {"ids": chunk}).all()})
    return found


def merges(store: SqlStore) -> int:
    """Profiles merged into another so far."""
    return _scalar(store, _COUNT.select_from(tables.merges))
