"""Export of one person (GDPR art. 15 and 20, CCPA access): every row about them
(:mod:`juncture.store.person` says which, the same rows erasure deletes), table by table,
read in one snapshot of the store.

Each row is an object of its columns; columns that hold JSON text come out as JSON, times
as ISO 8601 text. From a device's list of users only the person's own entries are given.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Final

import msgspec
import sqlalchemy as sa

from juncture.store import person, tables
from juncture.store.person import Person
from juncture.store.sql import SqlStore
from juncture.store.state_base import StateBase

# Text columns that hold JSON documents (columns typed sa.JSON are found on their own).
_JSON_TEXT: Final = frozenset(
    {
        ("events", "body"),
        ("profiles", "body"),
        ("profiles", "node"),
        ("product_views", "view"),
        ("timers", "payload"),
        ("enrollments", "state"),
        ("outbox", "payload"),
        ("failed_events", "payload"),
        ("loyalty_accounts", "body"),
    }
)
_decode: Final = msgspec.json.decode


def export(store: SqlStore, profile_id: str) -> dict[str, Any] | None:
    """Everything about the person whose profile is (or was merged into) ``profile_id``:
    ``{"profileId", "profiles", "tables": {table: [row, ...]}}``; None if no profile has
    that id."""
    with _snapshot(store) as state:
        who = person.find(state, profile_id)
        if who is None:
            return None
        found = _rows(state, who)
    return {
        "profileId": profile_id,
        "profiles": list(who.profiles),
        "tables": {name: rows for name, rows in sorted(found.items()) if rows},
    }


@contextmanager
def _snapshot(store: SqlStore) -> Iterator[StateBase]:
    """A driver cursor in a read-only transaction that sees one state of the store."""
    pooled = store.engine.raw_connection()
    conn: Any = pooled.driver_connection
    cur = conn.cursor()
    try:
        if store.dialect == "sqlite":
            cur.execute("BEGIN")  # a read transaction: the snapshot starts with its first read
        else:
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield StateBase(cur, store.dialect)
    finally:
        cur.close()
        conn.rollback()
        pooled.close()


def _rows(state: StateBase, who: Person) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = {}
    for table, column, keys in who.matches():
        _select(state, table, f"{column} IN ({{marks}})", keys, found.setdefault(table, {}))
    failed = found.setdefault("failed_events", {})
    for value in who.failed_ids:
        where = "payload LIKE {marks} ESCAPE '\\'"
        _select(state, "failed_events", where, [person.like(value)], failed)
    out = {name: [rows[k] for k in sorted(rows)] for name, rows in found.items()}
    out["device_users"] = _devices(state, who)
    return out


def _select(
    state: StateBase,
    name: str,
    where: str,
    keys: Sequence[Any],
    into: dict[tuple[Any, ...], dict[str, Any]],
) -> None:
    """Rows of table ``name`` where ``where`` (``{marks}``: the keys' placeholders) holds,
    into ``into`` by primary key (a row found twice is kept once)."""
    table = tables.metadata.tables[name]
    columns = [str(c.name) for c in table.columns]  # a plain str: orjson takes no subclass
    key = [columns.index(str(c.name)) for c in table.primary_key.columns]
    for row in state._in(f"SELECT {', '.join(columns)} FROM {name} WHERE {where}", keys):
        into[tuple(row[i] for i in key)] = {
            c: _value(table.c[c], name, v) for c, v in zip(columns, row, strict=True)
        }


def _value(column: sa.Column[Any], table: str, value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):  # exact bytes of a quarantined message
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, str) and (
        isinstance(column.type, sa.JSON) or (table, column.name) in _JSON_TEXT
    ):
        try:
            return _decode(value)
        except msgspec.DecodeError:
            return value  # a quarantined message that was not JSON: as it came
    return value


def _devices(state: StateBase, who: Person) -> list[dict[str, Any]]:
    """The devices they used, with only their own entries of each device's users."""
    mine = who.device_entries
    return [
        {"device": device, "users": [u for u in person.users_decoder.decode(users) if u in mine]}
        for device, users in state._in(
            "SELECT device, users FROM device_users WHERE device IN ({marks}) ORDER BY device",
            who.devices,
        )
    ]
