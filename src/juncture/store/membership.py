"""Real-time segment membership in the store, on the engine's cursor and transaction:
the active definitions, each profile's segments (``segment_members``) and the recent
events that segment windows read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import orjson

from juncture.core.segments import conditions as seg
from juncture.store.state import StateSql

_CHUNK: Final = 400


def definitions(state: StateSql) -> list[tuple[str, str, str, str]]:
    """``(segment_id, source, filename, updated_at)`` of every declared segment."""
    state.cur.execute(
        "SELECT segment_id, source, filename, updated_at FROM segments "
        "WHERE kind = 'manual' ORDER BY segment_id"
    )
    return [(r[0], r[1], r[2], str(r[3])) for r in state.cur.fetchall()]


def versions(state: StateSql) -> list[tuple[str, str]]:
    """``(segment_id, updated_at)``: cheap enough to ask once per commit."""
    state.cur.execute(
        "SELECT segment_id, updated_at FROM segments WHERE kind = 'manual' ORDER BY segment_id"
    )
    return [(r[0], str(r[1])) for r in state.cur.fetchall()]


def _chunks(keys: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(keys), _CHUNK):
        yield keys[start : start + _CHUNK]


def members(state: StateSql, profile_ids: Iterable[str]) -> dict[str, frozenset[str]]:
    """The segments each of these profiles is in."""
    found: dict[str, set[str]] = {}
    for chunk in _chunks(sorted(set(profile_ids))):
        marks = ",".join([state.mark] * len(chunk))
        state.cur.execute(
            f"SELECT profile_id, segment_id FROM segment_members WHERE profile_id IN ({marks})",
            chunk,
        )
        for pid, sid in state.cur.fetchall():
            found.setdefault(pid, set()).add(sid)
    return {pid: frozenset(ids) for pid, ids in found.items()}


def behaviour(
    state: StateSql, profile_ids: Iterable[str], since: dt.datetime, names: Iterable[str]
) -> dict[str, list[seg.BehaviourEvent]]:
    """Events named ``names`` after ``since`` of these profiles and of the profiles merged
    into them (as the batch query counts them), oldest first."""
    wanted = sorted(set(profile_ids))
    names = sorted(set(names))
    if not wanted or not names:
        return {}
    m = state.mark
    owner: dict[str, str] = {p: p for p in wanted}
    for chunk in _chunks(wanted):
        marks = ",".join([m] * len(chunk))
        state.cur.execute(
            f"SELECT profile_id, redirect_to FROM profiles WHERE redirect_to IN ({marks})", chunk
        )
        owner.update((pid, target) for pid, target in state.cur.fetchall())
    out: dict[str, list[seg.BehaviourEvent]] = {}
    name_marks = ",".join([m] * len(names))
    for chunk in _chunks(sorted(owner)):
        marks = ",".join([m] * len(chunk))
        state.cur.execute(
            "SELECT profile_id, event, timestamp, body FROM events "
            f"WHERE profile_id IN ({marks}) AND timestamp > {m} AND event IN ({name_marks})",
            (*chunk, state.t(since), *names),
        )
        for pid, name, at, body in state.cur.fetchall():
            props = orjson.loads(body).get("properties") or {}
            out.setdefault(owner[pid], []).append(seg.BehaviourEvent(name, state.read_t(at), props))
    for events in out.values():
        events.sort(key=lambda e: e.timestamp)
    return out


def save(
    state: StateSql,
    before: Mapping[str, frozenset[str]],
    after: Mapping[str, frozenset[str]],
    now: dt.datetime,
) -> None:
    """Write the membership changes of the profiles in ``after``."""
    m = state.mark
    adds: list[tuple[Any, ...]] = []
    drops: list[tuple[str, str]] = []
    for pid, now_in in after.items():
        was = before.get(pid, frozenset())
        adds += [(sid, pid, state.t(now)) for sid in sorted(now_in - was)]
        drops += [(sid, pid) for sid in sorted(was - now_in)]
    if drops:
        state.cur.executemany(
            f"DELETE FROM segment_members WHERE segment_id = {m} AND profile_id = {m}", drops
        )
    if adds:
        state.cur.executemany(
            f"INSERT INTO segment_members (segment_id, profile_id, since) VALUES ({m},{m},{m}) "
            "ON CONFLICT (segment_id, profile_id) DO NOTHING",
            adds,
        )


def drop(state: StateSql, profile_ids: Iterable[str]) -> None:
    """Forget the memberships of profiles merged into others."""
    rows = [(p,) for p in sorted(set(profile_ids))]
    if rows:
        state.cur.executemany(f"DELETE FROM segment_members WHERE profile_id = {state.mark}", rows)


def segment_member_ids(state: StateSql, segment_id: str) -> set[str]:
    """Every profile the members table holds for ``segment_id``."""
    state.cur.execute(
        f"SELECT profile_id FROM segment_members WHERE segment_id = {state.mark}", (segment_id,)
    )
    return {r[0] for r in state.cur.fetchall()}


def drop_members(state: StateSql, segment_id: str, profile_ids: Iterable[str]) -> None:
    """Forget profiles that are no longer live (erased, merged) from one segment."""
    m = state.mark
    rows = [(segment_id, p) for p in sorted(set(profile_ids))]
    if rows:
        state.cur.executemany(
            f"DELETE FROM segment_members WHERE segment_id = {m} AND profile_id = {m}", rows
        )


def timers_due(state: StateSql, keys: Sequence[str]) -> dict[str, dt.datetime]:
    """When each of these timers falls due, for those that are set."""
    found: dict[str, dt.datetime] = {}
    for chunk in _chunks(sorted(set(keys))):
        marks = ",".join([state.mark] * len(chunk))
        state.cur.execute(f"SELECT key, due_at FROM timers WHERE key IN ({marks})", chunk)
        found.update((key, state.read_t(due)) for key, due in state.cur.fetchall())
    return found


def record_size(
    state: StateSql, segment_id: str, now: dt.datetime, *, size: int, entered: int, exited: int
) -> None:
    """One row of the segment's size history."""
    m = state.mark
    state.cur.execute(
        f"INSERT INTO segment_sizes (segment_id, at, size, entered, exited) "
        f"VALUES ({m},{m},{m},{m},{m})",
        (segment_id, state.t(now), size, entered, exited),
    )
