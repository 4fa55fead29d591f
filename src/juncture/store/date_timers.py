"""Date timers for the profiles that already hold a date trait when a journey starts
watching it.

The engine arms a date timer when a watched trait is set, moved or cleared
(:mod:`juncture.core.journeys.dates`). A journey applied later, say a birthday journey after the
customers were imported, would otherwise wait for each customer's trait to change again.
:func:`arm_existing` gives every live profile holding a watched trait the timer the engine
would set had the trait just arrived: a yearly one at the next return of the day, a one-off
one for a day still to come (a day already past sets nothing, as in the engine). A timer
already there is left alone: the engine keeps it current.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from juncture.core.journeys import dates
from juncture.core.profile.model import Profile
from juncture.core.signals import ScheduleTimer
from juncture.store import tables

_P: Final = tables.profiles
_T: Final = tables.timers
CHUNK: Final = 1000  # profiles per transaction


def arm_existing(
    engine: sa.Engine,
    once: frozenset[str],
    yearly: frozenset[str],
    now: dt.datetime,
    chunk: int = CHUNK,
) -> int:
    """Arm the date timers of ``once`` (one-off) and ``yearly`` traits for every live
    profile holding one, ``chunk`` profiles per transaction (on SQLite the write lock is
    held for one chunk at a time, so ingestion goes on in between). Returns how many
    timers were new; running it again sets none twice."""
    watched = sorted(once | yearly)
    if not watched:
        return 0
    text = sa.cast(_P.c.traits, sa.Text)
    holding = sa.or_(*(text.contains(f'"{trait}"', autoescape=True) for trait in watched))
    armed, after = 0, ""
    while True:
        with engine.begin() as conn:
            rows = conn.execute(
                sa.select(_P.c.profile_id, _P.c.traits)
                .where(
                    _P.c.profile_id > after,
                    _P.c.redirect_to.is_(None),
                    _P.c.traits.is_not(None),
                    holding,
                )
                .order_by(_P.c.profile_id)
                .limit(chunk)
            ).all()
            timers = [
                timer
                for pid, traits in rows
                if isinstance(traits, dict)
                for timer in _timers(str(pid), traits, once, yearly, now)
            ]
            if timers:
                armed += _insert(conn, timers)
        if len(rows) < chunk:
            return armed
        after = str(rows[-1][0])


def _timers(
    pid: str,
    traits: dict[str, Any],
    once: frozenset[str],
    yearly: frozenset[str],
    now: dt.datetime,
) -> list[dict[str, Any]]:
    # As if the profile had had no traits and all of them had just arrived.
    commands = dates.timers(
        Profile(profile_id=pid), Profile(profile_id=pid, traits=traits), once, yearly, now
    )
    return [
        {"key": c.key, "kind": c.kind, "profile_id": pid, "due_at": c.due_at, "payload": "{}"}
        for c in commands
        if isinstance(c, ScheduleTimer) and (c.kind != dates.DATE_TIMER or c.due_at >= now)
    ]


def _insert(conn: sa.Connection, rows: list[dict[str, Any]]) -> int:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(_T).on_conflict_do_nothing(index_elements=[_T.c.key])
    return len(conn.execute(stmt.returning(_T.c.key), rows).fetchall())
