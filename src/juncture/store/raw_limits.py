"""The raw limits the benches measure Juncture against: the same rows written, or read, by
plain statements with no engine, on a freshly migrated store of the same kind, in the same
run (``docs/benchmarks.md``). Each function times only its own loop.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from juncture.core.events import Event
from juncture.store import dialects, driver_sql, tables
from juncture.store.sql import SqlStore
from juncture.store.state_base import sqlite_time

Sample = Mapping[str, Mapping[str, Any]]  # one stored row per table (``tallies.samples``)


def insert_events(store: SqlStore, events: Sequence[Event], per_commit: int = 5000) -> float:
    """Rows per second: ``events`` inserted with ``executemany`` on the driver, one
    transaction per ``per_commit`` rows."""
    pooled = store.engine.raw_connection()
    conn: Any = pooled.driver_connection
    sqlite = store.dialect == "sqlite"
    mark = driver_sql.mark(store.dialect)
    sql = f"INSERT INTO events (seq, {dialects.EVENT_COLUMNS}) VALUES ({','.join([mark] * 11)})"
    rows = [_event_row(e, i + 1, sqlite) for i, e in enumerate(events)]
    started = time.perf_counter()
    for start in range(0, len(rows), per_commit):
        cur = conn.cursor()
        cur.executemany(sql, rows[start : start + per_commit])
        conn.commit()
        cur.close()
    seconds = time.perf_counter() - started
    pooled.close()
    return len(rows) / seconds


def _event_row(e: Event, seq: int, sqlite: bool) -> tuple[Any, ...]:
    return (seq, *dialects.event_row(e, sqlite_time if sqlite else dialects.as_given))


def fire_cart_timers(
    store: SqlStore,
    count: int,
    *,
    due: dt.datetime,
    now: dt.datetime,
    fired_at: dt.datetime,
    per_commit: int,
) -> float:
    """Timers per second, SQLite only: ``count`` cart-abandonment timers due at ``due``
    (inserted, not timed), then per transaction select up to ``per_commit`` due at ``now``,
    delete them and insert a ``Cart Abandoned`` event each (at ``fired_at``), until none
    is left."""
    pooled = store.engine.raw_connection()
    conn: Any = pooled.driver_connection
    when = sqlite_time(due)
    conn.executemany(
        "INSERT INTO timers (key, kind, profile_id, due_at, payload) VALUES (?,?,?,?,?)",
        [(f"cart_abandonment:p{i}", "cart_abandonment", f"p{i}", when, "{}") for i in range(count)],
    )
    conn.commit()
    insert = f"INSERT INTO events (seq, {dialects.EVENT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
    at = sqlite_time(fired_at)
    started = time.perf_counter()
    seq = 0
    while True:
        cur = conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        cur.execute(
            "SELECT key, kind, profile_id, due_at, payload FROM timers WHERE due_at <= ? "
            "ORDER BY due_at, key LIMIT ?",
            (sqlite_time(now), per_commit),
        )
        rows = cur.fetchall()
        cur.executemany("DELETE FROM timers WHERE key = ?", [(r[0],) for r in rows])
        cur.executemany(insert, [_fired(seq + i + 1, r[2], at) for i, r in enumerate(rows)])
        seq += len(rows)
        cur.execute("COMMIT")
        cur.close()
        if not rows:
            break
    seconds = time.perf_counter() - started
    pooled.close()
    return seq / seconds


def _fired(seq: int, profile_id: str, at: str) -> tuple[Any, ...]:
    body = f'{{"properties":{{"profile_id":"{profile_id}","cart_value":89.95,"items":1}}}}'
    return (seq, "juncture", f"fired-{seq}", "track", "Cart Abandoned", None, None, at, at, body,
            profile_id)  # fmt: skip


def event_and_outbox(store: SqlStore, count: int, sample: Sample) -> list[float]:
    """Seconds per transaction: ``count`` times, one events row and one outbox row shaped
    like ``sample``'s, inserted and committed, back to back."""
    event = sample["events"]
    row = {k: v for k, v in sample["outbox"].items() if k != "id"}
    latencies = []
    for i in range(count):
        started = time.perf_counter()
        with store.engine.begin() as conn:
            conn.execute(
                tables.events.insert(),
                {**event, "seq": 10**9 + i, "source": "raw", "message_id": f"raw-{i}"},
            )
            conn.execute(tables.outbox.insert(), {**row, "idempotency_key": f"raw-{i}"})
        latencies.append(time.perf_counter() - started)
    return latencies


def fire_journey_timers(
    store: SqlStore,
    count: int,
    sample: Sample,
    *,
    due: dt.datetime,
    now: dt.datetime,
    per_commit: int,
) -> float:
    """Timers per second: ``count`` timers shaped like ``sample``'s, due at ``due``
    (inserted, not timed), then per transaction select up to ``per_commit`` due at ``now``,
    delete them and insert one outbox row each (shaped like ``sample``'s), until none is
    left."""
    t, timer = tables.timers, sample["timers"]
    row = {k: v for k, v in sample["outbox"].items() if k != "id"}
    with store.engine.begin() as conn:
        conn.execute(t.insert(), [{**timer, "key": f"raw:{i}", "due_at": due}
                                  for i in range(count)])  # fmt: skip
    keys = itertools.count()
    started = time.perf_counter()
    fired = 0
    while True:
        with store.engine.begin() as conn:
            query = sa.select(t).where(t.c.due_at <= now)
            rows = conn.execute(query.order_by(t.c.due_at, t.c.key).limit(per_commit)).all()
            if not rows:
                break
            conn.execute(t.delete().where(t.c.key.in_([r.key for r in rows])))
            conn.execute(tables.outbox.insert(), [
                {**row, "idempotency_key": f"raw-{next(keys)}", "profile_id": r.profile_id}
                for r in rows
            ])  # fmt: skip
        fired += len(rows)
    return fired / (time.perf_counter() - started)


def scan(store: SqlStore, names: Sequence[str], since: dt.datetime, read_rows: bool) -> int:
    """Count the live profiles and the events named ``names`` after ``since``; with
    ``read_rows``, also read every such event's body, else from the indexes only."""
    sqlite = store.dialect == "sqlite"
    touch = "sum(length(body))" if read_rows else "count(*)"
    after = since.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else since
    with store.engine.connect() as conn:
        live = conn.execute(sa.text("SELECT count(*) FROM profiles WHERE redirect_to IS NULL"))
        n = int(live.scalar_one())
        query = sa.text(
            f"SELECT {touch} FROM events WHERE event IN :names AND timestamp > :since"
        ).bindparams(sa.bindparam("names", expanding=True))
        found = conn.execute(query, {"names": list(names), "since": after})
        return n + int(found.scalar_one() or 0)
