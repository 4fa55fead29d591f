"""Erasure of one person (GDPR art. 17, CCPA deletion): every row about them
(:mod:`juncture.store.person` says which), in every table, in one transaction, and a row in
``erasures`` that records it without naming them (when, the request's reference, counts).

A device's list of users may name others too: only the person's entries come out of it,
and a list left empty goes with its row. The caller runs :func:`erase` in the writer's
transaction (``runtime.erasure``), so that no event of the person is half applied around
it, and drops the writer's cache.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
import sqlalchemy as sa

from juncture.core.events import as_utc
from juncture.store import person, tables
from juncture.store.person import Person
from juncture.store.state_base import StateBase


@dataclass(frozen=True, slots=True)
class Erased:
    """What one erasure removed: the profile asked for, the profiles that were the person
    (it and those merged into it), and the rows deleted (or, for ``device_users``, changed)
    per table."""

    profile_id: str
    profiles: tuple[str, ...]
    at: dt.datetime
    reference: str | None = None
    rows: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "profileId": self.profile_id,
            "profiles": list(self.profiles),
            "at": self.at.isoformat(),
            "reference": self.reference,
            "rows": dict(sorted(self.rows.items())),
        }


def erase(
    state: StateBase, profile_id: str, at: dt.datetime, reference: str | None = None
) -> Erased | None:
    """Delete everything about the person whose profile is (or was merged into)
    ``profile_id`` and record that at ``at`` under ``reference``; None if no profile has
    that id."""
    found = person.find(state, profile_id)
    if found is None:
        return None
    if state.sqlite:
        # SQLite overwrites what it deletes (not every build does by default); the WAL's
        # older copies of those pages go as it is checkpointed and reused.
        secure = state.cur.execute("PRAGMA secure_delete").fetchone()[0]
        state.cur.execute("PRAGMA secure_delete = ON")
        try:
            rows = _erase(state, found)
        finally:
            state.cur.execute(f"PRAGMA secure_delete = {int(secure)}")
    else:
        rows = _erase(state, found)
    erased = Erased(profile_id, found.profiles, at, reference, rows)
    m = state.mark
    state.cur.execute(
        f"INSERT INTO erasures (at, reference, profiles, rows) VALUES ({m},{m},{m},{m})",
        (state.t(at), reference, len(found.profiles), msgspec.json.encode(rows).decode()),
    )
    return erased


def records(engine: sa.Engine, limit: int = 100, before: int | None = None) -> list[dict[str, Any]]:
    """The erasures recorded, newest first (``before``: only those with a smaller id)."""
    e = tables.erasures
    query = sa.select(e).order_by(e.c.id.desc()).limit(limit)
    if before is not None:
        query = query.where(e.c.id < before)
    with engine.connect() as conn:
        return [
            {
                "id": r.id,
                "at": as_utc(r.at).isoformat(),
                "reference": r.reference,
                "profiles": r.profiles,
                "rows": msgspec.json.decode(r.rows),
            }
            for r in conn.execute(query)
        ]


def _erase(state: StateBase, who: Person) -> dict[str, int]:
    rows: dict[str, int] = {}
    for table, column, keys in who.matches():
        rows[table] = rows.get(table, 0) + _delete(state, table, column, keys)
    rows["failed_events"] = _failed(state, who.failed_ids)
    rows["device_users"] = _off_devices(state, who.devices, who.device_entries)
    return {k: v for k, v in sorted(rows.items()) if v}


def _delete(state: StateBase, table: str, column: str, keys: Sequence[Any]) -> int:
    runs = state._each(f"DELETE FROM {table} WHERE {column} IN ({{marks}})", keys)
    return sum(max(cur.rowcount, 0) for cur in runs)


def _failed(state: StateBase, ids: Sequence[str]) -> int:
    """Quarantined messages whose text names one of ``ids`` as a JSON string."""
    deleted = 0
    for value in ids:
        state.cur.execute(
            f"DELETE FROM failed_events WHERE payload LIKE {state.mark} ESCAPE '\\'",
            (person.like(value),),
        )
        deleted += max(state.cur.rowcount, 0)
    return deleted


def _off_devices(state: StateBase, devices: Sequence[str], gone: frozenset[str]) -> int:
    """Take ``gone`` out of the user lists of ``devices``; a list left empty goes."""
    changed: dict[str, list[str]] = {}
    for device, users in state._in(
        "SELECT device, users FROM device_users WHERE device IN ({marks})", devices
    ):
        listed = person.users_decoder.decode(users)
        if not gone.isdisjoint(listed):
            changed[device] = [u for u in listed if u not in gone]
    kept = [(msgspec.json.encode(u).decode(), d) for d, u in changed.items() if u]
    if kept:
        m = state.mark
        state.cur.executemany(f"UPDATE device_users SET users = {m} WHERE device = {m}", kept)
    _delete(state, "device_users", "device", [d for d, users in changed.items() if not users])
    return len(changed)
