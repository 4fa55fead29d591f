"""The engine's working set as the writer keeps it between commits: whatever the writer
caches, the engine always sees what the store holds (other connections' writes, rolled-back
commits), on every store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

import juncture
import juncture.wiring.assembly
from juncture import wiring
from juncture.core.events import Event
from juncture.core.profile.model import Profile
from juncture.runtime.clock import ManualClock
from juncture.runtime.engine import Engine
from juncture.runtime.unit_of_work import commit
from juncture.store import migrate, state_generation, tables
from juncture.store.base import Writer
from juncture.store.outbox import Attempt
from juncture.store.sql import SqlStore
from juncture.store.state import StateSql
from juncture.store.state_base import read_sqlite_time, sqlite_time
from juncture.store.state_cache import WATCHED, Cache

T0 = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)


def viewed(message_id: str, anon: str = "a1") -> Event:
    return Event(
        source="src_a",
        message_id=message_id,
        type="track",
        event="Product Viewed",
        anonymous_id=anon,
        timestamp=T0,
        received_at=T0,
        properties={"product_id": "P1", "category": "Shoes"},
        context={"channel": "web"},
    )


def views_of(store: SqlStore, anon: str = "a1") -> int:
    t, p = tables.identities, tables.profiles
    with store.engine.connect() as conn:
        pid = conn.execute(
            sa.select(t.c.profile_id).where(t.c.identifier == f"anonymous_id:{anon}")
        ).scalar_one()
        body = conn.execute(sa.select(p.c.body).where(p.c.profile_id == pid)).scalar_one()
    profile = msgspec.json.decode(body, type=Profile)
    return profile.event_counts.get("Product Viewed", 0)


@pytest.fixture
def engine() -> Engine:
    return Engine(ManualClock(T0))


def test_profile_builds_up_over_commits(store: SqlStore, engine: Engine) -> None:
    writer = store.writer()
    for i in range(3):
        commit(writer, [viewed(f"m{i}")], [], engine.process)
    writer.close()
    assert views_of(store) == 3


def test_writes_by_another_connection_are_seen(store: SqlStore, engine: Engine) -> None:
    writer = store.writer()
    commit(writer, [viewed("m1")], [], engine.process)
    with store.engine.begin() as conn:  # another connection: an erasure, say
        conn.execute(sa.delete(tables.identities))
        conn.execute(sa.delete(tables.profiles))
    commit(writer, [viewed("m2")], [], engine.process)
    writer.close()
    assert views_of(store) == 1


def cached_profiles(writer: Writer) -> int:
    """How many profiles the writer's next unit finds in its cache (SQLite only)."""
    with writer.unit() as unit:
        return len(unit.state.cache.profiles) if unit.state.cache is not None else 0


def a_row(table: sa.Table) -> dict[str, object]:
    """Values for the columns of ``table`` that must have one (enough for SQLite)."""
    row: dict[str, object] = {}
    for column in table.columns:
        if column.nullable or column.server_default is not None or column.default is not None:
            continue
        python = column.type.python_type if not isinstance(column.type, sa.JSON) else dict
        row[column.name] = {str: "x", int: 7, dt.datetime: T0, dict: {}, bool: False}.get(
            python, 0.5
        )
    return row


@pytest.mark.parametrize("table", sorted(state_generation.TABLES))
def test_any_change_to_a_cached_table_by_another_connection_drops_the_cache(
    sqlite_url: str, engine: Engine, table: str
) -> None:
    """Every statement that changes rows of a watched table, on any connection of the
    store's engine, drops the writer's cache; one that changes no row keeps it."""
    store = SqlStore(sqlite_url)
    writer = store.writer()
    t = tables.metadata.tables[table]
    row = a_row(t)
    if table == "timers":  # not due: the engine's commits below would fire it
        row["due_at"] = T0 + dt.timedelta(days=365)
    statements = [
        t.insert().values(row),
        t.update().values({c.name: c for c in t.primary_key.columns}),
        t.delete(),
    ]
    for i, statement in enumerate(statements):
        commit(writer, [viewed(f"m{i}")], [], engine.process)
        assert cached_profiles(writer) == 1
        with store.engine.begin() as conn:  # a statement that matches no row
            conn.execute(sa.text(f"DELETE FROM {table} WHERE 1 = 0"))
        assert cached_profiles(writer) == 1
        with store.engine.begin() as conn:
            assert conn.execute(statement).rowcount >= 1
        assert cached_profiles(writer) == 0, statement
    writer.close()
    store.close()


def test_another_writers_erasure_drops_the_cache(sqlite_url: str, engine: Engine) -> None:
    """``juncture profiles erase`` beside the engine: a writer of its own, whose unit
    bumps the count once as it commits."""
    store = SqlStore(sqlite_url)
    writer = store.writer()
    commit(writer, [viewed("m1")], [], engine.process)
    with wiring.assembly.eraser(store) as eraser:
        pid = next(iter(cached_profile_ids(writer)))
        assert eraser.erase(pid) is not None
    assert cached_profiles(writer) == 0
    commit(writer, [viewed("m2")], [], engine.process)
    writer.close()
    assert views_of(store) == 1
    store.close()


def cached_profile_ids(writer: Writer) -> set[str]:
    with writer.unit() as unit:
        cache = unit.state.cache
        return set(cache.profiles) if cache is not None else set()


def a_message(store: SqlStore, **values: object) -> int:
    """A due message inserted by another connection (which bumps the count)."""
    t = tables.outbox
    with store.engine.begin() as conn:
        row = {**a_row(t), "status": "pending", "channel": "email", "payload": "{}", **values}
        del row["id"]
        return int(conn.execute(t.insert().values(row).returning(t.c.id)).scalar_one())


@pytest.mark.parametrize("purpose", ["marketing", "transactional"])
def test_the_dispatcher_moving_a_message_on_drops_the_cache_for_a_contact_only(
    sqlite_url: str, engine: Engine, purpose: str
) -> None:
    """The cache holds the marketing contacts of the outbox and nothing else of it, each
    at ``COALESCE(sent_at, next_attempt_at, created_at)``: the dispatcher's claim, retry
    and send of a marketing message drop it (its time moves), a transactional message's
    keep it; inserting one, or suppressing it, drops it whatever its purpose."""
    store = SqlStore(sqlite_url)
    writer = store.writer()
    outbox_id = a_message(store, purpose=purpose)
    kept = 1 if purpose == "transactional" else 0
    lease = dt.timedelta(minutes=5)
    steps: list[Callable[[], object]] = [
        lambda: store.outbox.claim(T0, 10, lease),
        lambda: store.outbox.record_attempt(outbox_id, Attempt(ok=False), T0, T0, dead=False),
        lambda: store.outbox.claim(T0, 10, lease),
        lambda: store.outbox.record_attempt(outbox_id, Attempt(ok=True), T0, None, dead=False),
    ]
    for i, step in enumerate(steps):
        commit(writer, [viewed(f"m{i}")], [], engine.process)
        assert cached_profiles(writer) == 1
        step()
        assert cached_profiles(writer) == kept, i
    assert store.outbox.attempts(outbox_id)[-1].ok
    assert store.outbox.get(outbox_id).status == "sent"  # type: ignore[union-attr]
    changes: list[Callable[[], object]] = [
        lambda: a_message(store, purpose=purpose, idempotency_key="k2"),
        lambda: store.outbox.suppress(outbox_id, "a test"),
    ]
    for j, change in enumerate(changes):
        commit(writer, [viewed(f"s{j}")], [], engine.process)
        assert cached_profiles(writer) == 1
        change()
        assert cached_profiles(writer) == 0
    writer.close()
    store.close()


def test_writes_that_leave_the_cached_rows_keep_the_cache(sqlite_url: str, engine: Engine) -> None:
    """A statement that reads a watched table to write another one (a segment's size),
    and the log's unlinked events appended by another writer (ingestion)."""
    store = SqlStore(sqlite_url)
    writer, other = store.writer(), store.writer()
    commit(writer, [viewed("m1")], [], engine.process)
    with store.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO segment_sizes (segment_id, at, size) "
                "SELECT 'everyone', MAX(last_seen), COUNT(*) FROM profiles"
            )
        )
    commit(other, [viewed("m2", anon="a2")], [], None)
    assert cached_profiles(writer) == 1
    other.close()
    writer.close()
    store.close()


def test_the_engine_fires_no_trigger_per_row(sqlite_url: str) -> None:
    """The count is bumped per statement by the connections that write (the triggers of
    migration 0019, one per row, are gone), and going back before 0025 brings them back."""
    store = SqlStore(sqlite_url)
    query = sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
    with store.engine.connect() as conn:
        assert conn.execute(query).all() == []
    migrate.downgrade(store.engine, "0024")
    with store.engine.connect() as conn:
        found = set(conn.execute(query).scalars())
    assert {f"state_generation_{t}_{v}" for t in WATCHED for v in ("insert", "delete")} <= found
    assert "state_generation_events_relink" in found
    store.migrate()
    store.close()


# Where a module takes a driver connection of its own, statements on it are not seen by
# ``state_generation.watch``: each says why it needs no bump, or bumps itself.
RAW_CONNECTIONS = {
    "store/dialects.py": "the writer: bumps once per commit that wrote a watched table",
    "store/scratch.py": "bulk inserts: bumps per chunk of a watched table",
    "store/raw_limits.py": "the bench's raw limits, on stores of their own with no engine",
    "store/leases.py": "PostgreSQL only",
    "store/held.py": "reads",
    "store/audience.py": "reads",
    "store/keyed_reads.py": "reads",
    "store/export.py": "reads",
}


def test_every_module_that_takes_a_raw_connection_is_known() -> None:
    root = Path(juncture.__file__).parent
    found = {
        path.relative_to(root).as_posix()
        for path in root.rglob("*.py")
        if "raw_connection()" in path.read_text(encoding="utf-8")
    }
    assert found == set(RAW_CONNECTIONS)


def test_the_writer_keeps_temporary_files_in_memory_and_gives_them_back(sqlite_url: str) -> None:
    """Each row the writer writes to a watched table fires its trigger, and SQLite keeps a
    statement journal for such a statement: in memory, not in a temporary file (about 9 us
    of CPU a row here). The pooled connection goes back to the pool as it came."""
    store = SqlStore(sqlite_url)
    writer = store.writer()
    with writer.unit() as unit:
        assert unit.state.cur.execute("PRAGMA temp_store").fetchone()[0] == 2  # MEMORY
    writer.close()
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA temp_store").scalar_one() == 0  # DEFAULT
    store.close()


def test_a_rolled_back_commit_leaves_no_trace(store: SqlStore, engine: Engine) -> None:
    writer = store.writer()
    commit(writer, [viewed("m1")], [], engine.process)

    def failing(state: StateSql, events: list[Event]) -> list[Event]:
        engine.process(state, events)
        raise RuntimeError("crash after the engine saved its state")

    with pytest.raises(RuntimeError):
        commit(writer, [viewed("m2")], [], failing)
    commit(writer, [viewed("m3")], [], engine.process)
    writer.close()
    assert views_of(store) == 2


def test_the_cache_starts_over_past_its_bound() -> None:
    cache = Cache(max_rows=2)
    cache.profiles.update({f"p{i}": (None, None, Profile(profile_id=f"p{i}")) for i in range(2)})
    cache.ids.update({"anonymous_id:a": "p0"})
    cache.trim()
    assert len(cache.profiles) == 2
    cache.profiles["p2"] = (None, None, Profile(profile_id="p2"))
    cache.trim()
    assert (cache.profiles, cache.ids) == ({}, {})


@pytest.mark.parametrize(
    "value",
    [
        T0,
        dt.datetime(2026, 3, 1, 9, 30, 0, 5, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 1, 1, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        dt.datetime(1, 1, 1, tzinfo=dt.UTC),
        dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC),
    ],
)
def test_sqlite_time_is_the_naive_utc_text_sqlalchemy_reads(value: dt.datetime) -> None:
    dialect = sqlite.dialect()
    stored = sa.DateTime().dialect_impl(dialect).bind_processor(dialect)
    assert stored is not None
    assert sqlite_time(value) == stored(value.astimezone(dt.UTC))


@pytest.mark.parametrize(
    "value",
    [
        dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 1, 9, 30, 0, 1, tzinfo=dt.UTC),
        dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
        dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC),
    ],
)
def test_read_sqlite_time_reads_back_what_sqlite_time_wrote(value: dt.datetime) -> None:
    read = read_sqlite_time(sqlite_time(value))
    assert read == value
    assert read.tzinfo is dt.UTC  # UTC itself: as_utc and the stores compare it by identity


@pytest.mark.parametrize(
    "text",
    ["2026-03-01 09:30:00+02:00", "2026-03-01T09:30:00Z", "2026-03-01", "2026-03-01 09:30"],
)
def test_read_sqlite_time_reads_other_text_as_before(text: str) -> None:
    """Text with an offset of its own, or a date alone: its wall time in UTC, as it was read
    before (``fromisoformat`` and then ``replace(tzinfo=UTC)``)."""
    assert read_sqlite_time(text) == dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def test_read_sqlite_time_refuses_what_is_no_time() -> None:
    with pytest.raises(ValueError, match="Invalid isoformat"):
        read_sqlite_time("yesterday")


def test_sqlite_time_tells_apart_the_two_passes_of_a_repeated_hour() -> None:
    zone = ZoneInfo("Europe/Berlin")
    first = dt.datetime(2026, 10, 25, 2, 30, tzinfo=zone)
    second = first.replace(fold=1)  # an hour later, yet equal to it (one zone: fold ignored)
    assert first == second
    texts = [sqlite_time(first), sqlite_time(second), sqlite_time(first)]
    assert texts == [
        "2026-10-25 00:30:00.000000",
        "2026-10-25 01:30:00.000000",
        "2026-10-25 00:30:00.000000",
    ]
