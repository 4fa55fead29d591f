"""Erasure of one person (GDPR art. 17, CCPA deletion): every row that is about them, in
every table, in one transaction.

The person is a live profile and every profile merged into it. What goes:

- ``profiles`` (the live one and the merged ones), ``product_views``, ``identities`` (every
  identifier that pointed at them), ``merges`` and ``identity_conflicts`` that name them;
- ``device_users``: their user ids and anonymous ids are taken out of every device's list
  (a device may be shared: a store kiosk, a family tablet), and a list left empty goes;
- ``events``: every event of theirs (also ones stored without a profile, by their user or
  anonymous id), the engine's derived events included; ``failed_events``: quarantined
  messages that name one of their ids;
- ``timers``, ``enrollments``, ``segment_members``, ``outbox`` (sent messages too: they hold
  the address) and the ``delivery_attempts`` of those messages.

Aggregates that name nobody stay: ``segment_sizes``, journey and segment definitions. The
caller runs :func:`erase` in the writer's transaction (``runtime.erasure``), so that no
event of the person is half applied around it, and drops the writer's cache.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import msgspec

from juncture.store.state_base import CHUNK, StateBase

_USER: Final = "user_id:"
_ANONYMOUS: Final = "anonymous_id:"
_DEVICE: Final = "device_id:"
_users: Final = msgspec.json.Decoder(list[str])


class _Device(msgspec.Struct):
    id: str | int | float | None = None


class _Context(msgspec.Struct):
    device: _Device | None = None


class _Body(msgspec.Struct):
    """What an event's stored body says of the device it came from."""

    context: _Context = msgspec.field(default_factory=_Context)


_body: Final = msgspec.json.Decoder(_Body)


@dataclass(frozen=True, slots=True)
class Erased:
    """What one erasure removed: the profile asked for, the profiles that were the person
    (it and those merged into it), and the rows deleted (or, for ``device_users``, changed)
    per table."""

    profile_id: str
    profiles: tuple[str, ...]
    rows: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "profileId": self.profile_id,
            "profiles": list(self.profiles),
            "rows": dict(sorted(self.rows.items())),
        }


def erase(state: StateBase, profile_id: str) -> Erased | None:
    """Delete everything about the person whose profile is (or was merged into)
    ``profile_id``; None if no profile has that id."""
    live = _live(state, profile_id)
    if live is None:
        return None
    if not state.sqlite:
        return _erase(state, profile_id, live)
    # SQLite overwrites what it deletes (not every build does by default); the WAL's older
    # copies of those pages go as it is checkpointed and reused.
    secure = state.cur.execute("PRAGMA secure_delete").fetchone()[0]
    state.cur.execute("PRAGMA secure_delete = ON")
    try:
        return _erase(state, profile_id, live)
    finally:
        state.cur.execute(f"PRAGMA secure_delete = {int(secure)}")


def _erase(state: StateBase, profile_id: str, live: str) -> Erased:
    pids = _merged_into(state, live)
    idents = [
        row[0]
        for row in state._in(
            "SELECT identifier FROM identities WHERE profile_id IN ({marks})", pids
        )
    ]
    users = [i.removeprefix(_USER) for i in idents if i.startswith(_USER)]
    anonymous = [i.removeprefix(_ANONYMOUS) for i in idents if i.startswith(_ANONYMOUS)]
    rows: dict[str, int] = {}

    def delete(table: str, column: str, keys: Sequence[Any]) -> None:
        rows[table] = rows.get(table, 0) + _delete(state, table, column, keys)

    devices = _devices(state, pids, idents)
    outbox = [r[0] for r in state._in("SELECT id FROM outbox WHERE profile_id IN ({marks})", pids)]
    delete("delivery_attempts", "outbox_id", outbox)
    for table in ("outbox", "enrollments", "timers", "segment_members", "product_views"):
        delete(table, "profile_id", pids)
    delete("events", "profile_id", pids)
    delete("events", "user_id", users)
    delete("events", "anonymous_id", anonymous)
    rows["failed_events"] = _failed(state, [*users, *anonymous])
    delete("merges", "survivor", pids)
    delete("merges", "merged", pids)
    named = [*pids, *idents, *users]
    for column in ("profile_id", "identifier", "other"):
        delete("identity_conflicts", column, named)
    anonymous_ids = {i for i in idents if i.startswith(_ANONYMOUS)}
    rows["device_users"] = _off_devices(state, devices, {*users, *anonymous_ids})
    delete("identities", "profile_id", pids)
    delete("profiles", "profile_id", pids)
    return Erased(profile_id, tuple(pids), {k: v for k, v in rows.items() if v})


def _live(state: StateBase, profile_id: str) -> str | None:
    """The live profile ``profile_id`` is, or was merged into (redirects followed)."""
    seen: set[str] = set()
    current = profile_id
    while current not in seen:
        seen.add(current)
        found = state._in(
            "SELECT redirect_to FROM profiles WHERE profile_id IN ({marks})", [current]
        )
        if not found:
            return None
        if found[0][0] is None:
            return current
        current = str(found[0][0])
    return None  # a cycle of redirects: no live profile to erase


def _merged_into(state: StateBase, live: str) -> list[str]:
    """``live`` and every profile that redirects to it, directly or through others."""
    found = [live]
    frontier = [live]
    while frontier:
        rows = state._in("SELECT profile_id FROM profiles WHERE redirect_to IN ({marks})", frontier)
        frontier = [str(r[0]) for r in rows if str(r[0]) not in found]
        found += frontier
    return found


def _delete(state: StateBase, table: str, column: str, keys: Sequence[Any]) -> int:
    deleted = 0
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        marks = ",".join([state.mark] * len(chunk))
        state.cur.execute(f"DELETE FROM {table} WHERE {column} IN ({marks})", chunk)
        deleted += max(state.cur.rowcount, 0)
    return deleted


def _like(value: str) -> str:
    """A LIKE pattern for ``value`` as a JSON string anywhere in a text (``\\`` escapes)."""
    quoted = msgspec.json.encode(value).decode()
    return "%" + quoted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _failed(state: StateBase, ids: Iterable[str]) -> int:
    """Quarantined messages whose text names one of ``ids`` as a JSON string."""
    deleted = 0
    m = state.mark
    for value in ids:
        state.cur.execute(
            f"DELETE FROM failed_events WHERE payload LIKE {m} ESCAPE '\\'",
            (_like(value),),
        )
        deleted += max(state.cur.rowcount, 0)
    return deleted


def _devices(state: StateBase, pids: Sequence[str], idents: Sequence[str]) -> list[str]:
    """The device identifiers the person used: linked to them, or named by their events
    (a shared device is linked to its first user only)."""
    found = {i for i in idents if i.startswith(_DEVICE)}
    for (body,) in state._in("SELECT body FROM events WHERE profile_id IN ({marks})", pids):
        try:
            device = _body.decode(body).context.device
        except msgspec.DecodeError:
            continue  # a body of another shape names no device we link
        if device is not None and device.id is not None and device.id != "":
            found.add(f"{_DEVICE}{device.id}")
    return sorted(found)


def _off_devices(state: StateBase, devices: Sequence[str], gone: set[str]) -> int:
    """Take ``gone`` (user ids and anonymous identifiers) out of the user lists of
    ``devices``, which other people may share; a list left empty goes with its row."""
    changed: dict[str, list[str]] = {}
    for device, users in state._in(
        "SELECT device, users FROM device_users WHERE device IN ({marks})", devices
    ):
        listed = _users.decode(users)
        if not gone.isdisjoint(listed):
            changed[device] = [u for u in listed if u not in gone]
    kept = [(msgspec.json.encode(u).decode(), d) for d, u in changed.items() if u]
    if kept:
        m = state.mark
        state.cur.executemany(f"UPDATE device_users SET users = {m} WHERE device = {m}", kept)
    _delete(state, "device_users", "device", [d for d, users in changed.items() if not users])
    return len(changed)
