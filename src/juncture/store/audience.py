"""What arbitration reads of many profiles at once, for a campaign's preview: each profile
(consent, time zone, addresses), its user id, its enrollments and its recent marketing
contacts (the frequency caps' history), read through the engine's own loaders
(:class:`~juncture.store.state.StateSql`), a few statements per page of profiles, in a
transaction that writes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from juncture.core.journeys.orchestrate import JourneyState
from juncture.core.profile.model import Profile
from juncture.store import failures
from juncture.store.state import StateSql


@dataclass(frozen=True, slots=True)
class Audience:
    """``profiles`` by id (a profile merged away or erased is absent), ``users`` their user
    ids where known, ``states`` their journey state (absent: no enrollment, no contact)."""

    profiles: dict[str, Profile]
    users: dict[str, str]
    states: dict[str, JourneyState]


def read(engine: sa.Engine, profile_ids: Sequence[str], since: dt.datetime) -> Audience:
    """The profiles of ``profile_ids`` with their enrollments and marketing contacts since
    ``since``."""
    with failures.mapped("read the audience's profiles and contacts"):
        conn = engine.raw_connection()
        try:
            cursor = conn.cursor()
            state = StateSql(cursor, engine.dialect.name)
            graph, known = state.load((), (), profile_ids)
            states = state.load_journeys(list(known), since)
            cursor.close()
        finally:
            conn.rollback()
            conn.close()
    users = {
        pid: node.user_ids[0] for pid, node in graph.nodes.items() if pid in known and node.user_ids
    }
    return Audience(known, users, states)
