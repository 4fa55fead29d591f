"""The store contract: every adapter (SQLite always, PostgreSQL when configured)."""

from __future__ import annotations

import datetime as dt
import threading

import msgspec
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from juncture.core import messages
from juncture.core.events import Event
from juncture.errors import StoreUnavailable
from juncture.runtime.unit_of_work import commit
from juncture.store import tables
from juncture.store.base import Quarantined
from juncture.store.sql import SqlStore
from juncture.store.state import StateSql

T0 = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)


def event(
    message_id: str,
    *,
    user: str | None = "u1",
    anon: str | None = None,
    source: str = "src_a",
    at: dt.datetime = T0,
    **props: object,
) -> Event:
    return Event(
        source=source,
        message_id=message_id,
        type="track",
        event="Product Viewed",
        user_id=user,
        anonymous_id=anon,
        timestamp=at,
        received_at=at,
        properties=dict(props),
        context={"channel": "web"},
    )


def test_append_assigns_increasing_seq_and_reads_back_everything(store: SqlStore) -> None:
    writer = store.writer()
    first = commit(writer, [event("m1", sku="A"), event("m2", sku="B")], [])
    second = commit(writer, [event("m3", at=T0 + dt.timedelta(seconds=1), price=9.5)], [])
    writer.close()
    seqs = [e.seq for e in first.stored + second.stored]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3 and seqs[0] > 0
    stored = store.events(user_id="u1")
    assert [e.message_id for e in stored] == ["m1", "m2", "m3"]
    assert stored[2].properties == {"price": 9.5}
    assert stored[2].timestamp == T0 + dt.timedelta(seconds=1)
    assert stored[2].timestamp.tzinfo is not None
    assert stored[0].context == {"channel": "web"}


@pytest.mark.parametrize("left", [1, 0], ids=["newest-gone", "all-gone"])
def test_a_seq_is_never_given_twice_when_the_newest_events_are_deleted(
    store: SqlStore, left: int
) -> None:
    """An erasure can delete the newest events of the log, retention all of them: the next
    event still gets a seq above every one given before, or a consumer whose position is
    past the deleted ones (the engine behind the log) would never read it."""
    writer = store.writer()
    given = commit(writer, [event("m1"), event("m2"), event("m3")], []).stored
    with store.engine.begin() as conn:
        conn.execute(
            tables.events.delete().where(
                tables.events.c.seq > given[left - 1].seq if left else sa.true()
            )
        )
    [after] = commit(writer, [event("m4")], []).stored
    writer.close()
    assert after.seq > given[-1].seq
    again = store.writer()  # a new writer (a restart) does not forget either
    [later] = commit(again, [event("m5")], []).stored
    again.close()
    assert later.seq > after.seq


def test_duplicates_are_skipped_within_a_call_across_calls_and_writers(store: SqlStore) -> None:
    writer = store.writer()
    result = commit(writer, [event("m1"), event("m1"), event("m2")], [])
    assert (len(result.stored), result.duplicates) == (2, 1)
    writer.close()
    again = store.writer()
    result = commit(again, [event("m2"), event("m3")], [])
    again.close()
    assert [e.message_id for e in result.stored] == ["m3"]
    assert result.duplicates == 1
    assert store.count_events() == 3


def test_a_processor_sees_only_events_not_stored_yet(store: SqlStore) -> None:
    """The engine runs on new events only: a retried message, stored by an earlier commit,
    is neither processed again nor stored twice; the same id from another source is new."""
    seen: list[list[str]] = []

    def process(_state: StateSql, events: list[Event]) -> list[Event]:
        seen.append([f"{e.source}/{e.message_id}" for e in events])
        return events

    writer = store.writer()
    try:
        commit(writer, [event(f"m{i}") for i in range(30)], [], process)
        retry = [event("m3"), event("m29"), event("m30"), event("m3", source="src_b")]
        result = commit(writer, retry, [], process)
        commit(writer, [], [], process)  # a commit with no events (due timers only)
    finally:
        writer.close()
    assert len(seen[0]) == 30
    assert seen[1:] == [["src_a/m30", "src_b/m3"], []]
    assert (len(result.stored), result.duplicates) == (2, 2)
    assert store.count_events() == 32


def test_same_message_id_from_two_sources_is_two_events(store: SqlStore) -> None:
    writer = store.writer()
    result = commit(writer, [event("m1", source="src_a"), event("m1", source="src_b")], [])
    writer.close()
    assert len(result.stored) == 2


def test_query_by_anonymous_id_after_seq_and_limit(store: SqlStore) -> None:
    writer = store.writer()
    commit(writer, [event(f"m{i}", user=None, anon="a1" if i % 2 else "a2") for i in range(10)], [])
    writer.close()
    odd = store.events(anonymous_id="a1")
    assert [e.message_id for e in odd] == ["m1", "m3", "m5", "m7", "m9"]
    later = store.events(anonymous_id="a1", after_seq=odd[1].seq, limit=2)
    assert [e.message_id for e in later] == ["m5", "m7"]


def test_the_writer_reads_the_client_events_after_a_position(store: SqlStore) -> None:
    """The engine's read of the log on its own connection: what ``Store.events`` answers for
    client events, field for field (times aware, in UTC), none derived."""
    writer = store.writer()
    later = T0 + dt.timedelta(hours=2, microseconds=7)
    sent = [event(f"m{i}", anon=f"a{i}", at=later if i % 2 else T0, sku=f"S{i}") for i in range(6)]
    derived = event("d1", source="juncture")
    commit(writer, [*sent[:3], derived, *sent[3:]], [])
    everything = store.events(limit=100, derived=False)
    assert writer.events_after(0, 100) == everything
    after = writer.events_after(everything[1].seq, 3)
    assert after == everything[2:5]
    assert [e.message_id for e in after] == ["m2", "m3", "m4"]
    assert after[1].timestamp == later and after[1].timestamp.tzinfo is not None
    assert writer.events_after(everything[-1].seq, 100) == []
    writer.close()


def test_quarantine_commits_with_events_and_can_be_marked_replayed(store: SqlStore) -> None:
    envelope = messages.parse_batch(
        b'{"batch":[{"type":"track","userId":"u","event":"Ok"},{"type":"track","userId":"u"}]}'
    )
    events, rejected = messages.normalize(envelope, source="src_a", received_at=T0)
    writer = store.writer()
    result = commit(writer, events, [Quarantined("src_a", T0, rejected)])
    writer.close()
    assert (len(result.stored), result.quarantined) == (1, 1)
    [row] = store.failed()
    assert (row.code, row.path, row.status) == ("missing_field", "$.batch[1].event", "failed")
    assert row.received_at == T0
    store.mark_replayed([row.id], T0)
    assert store.failed() == []
    assert [r.status for r in store.failed(status=None)] == ["replayed"]


def test_a_unit_that_fails_leaves_nothing_behind_and_the_writer_goes_on(store: SqlStore) -> None:
    """The runtime drives a unit; an error inside it (the engine's, say) rolls back the
    events and quarantine rows it wrote, passes through unchanged, and the next unit on
    the same writer works."""
    writer = store.writer()
    rejected = messages.Rejection(index=0, code="invalid_value", message="x", path="$", raw=b"{}")

    def write_then_fail() -> None:
        with writer.unit() as unit:
            assert [e.message_id for e in unit.insert([event("m1"), event("m2")])] == ["m1", "m2"]
            unit.quarantine([Quarantined("src_a", T0, [rejected])])
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        write_then_fail()
    assert store.count_events() == 0 and store.failed() == []
    with writer.unit() as unit:
        assert [e.message_id for e in unit.new([event("m1"), event("m3")])] == ["m1", "m3"]
        stored = unit.insert([event("m1"), event("m3")])
    writer.close()
    assert [e.message_id for e in stored] == ["m1", "m3"] and store.count_events() == 2


def test_a_unit_skips_keys_another_writer_stored_and_relinks(store: SqlStore) -> None:
    """``insert`` stores only keys not stored by anyone (the other writer committed first);
    ``relink`` moves stored events to another profile (replay)."""
    other = store.writer()
    commit(other, [event("m1")])
    other.close()
    writer = store.writer()
    with writer.unit() as unit:
        assert unit.new([event("m1"), event("m2")]) == [event("m2")]
        stored = unit.insert([event("m1"), event("m2")])
        assert [e.message_id for e in stored] == ["m2"]
        moved = msgspec.structs.replace(event("m1"), profile_id="p9")
        assert unit.relink([moved]) == 1
    writer.close()
    assert [(e.message_id, e.profile_id) for e in store.events()] == [("m1", "p9"), ("m2", None)]


def test_relink_finds_events_read_from_the_log_by_seq_and_others_by_key(store: SqlStore) -> None:
    writer = store.writer()
    commit(writer, [event(f"m{i}", anon=f"a{i}") for i in range(4)])
    read = writer.events_after(0, 10)  # with their seq, as the engine behind the log has them
    with writer.unit() as unit:
        moved = [msgspec.structs.replace(e, profile_id=f"p{e.message_id}") for e in read[1:3]]
        by_key = msgspec.structs.replace(event("m3"), profile_id="pk")  # seq 0: by key
        assert by_key.seq == 0
        assert unit.relink([moved[0], by_key, moved[1]]) == 3
    writer.close()
    found = [(e.message_id, e.profile_id) for e in store.events()]
    assert found == [("m0", None), ("m1", "pm1"), ("m2", "pm2"), ("m3", "pk")]


def test_relink_sets_every_event_of_a_batch_larger_than_a_statement(store: SqlStore) -> None:
    """SQLite sets them 400 to a statement: 1,001 events take three, each its own."""
    writer = store.writer()
    commit(writer, [event(f"m{i}", anon=f"a{i}") for i in range(1001)])
    read = writer.events_after(0, 2000)
    with writer.unit() as unit:
        moved = [msgspec.structs.replace(e, profile_id=f"p{e.seq}") for e in read[::-1]]
        assert unit.relink(moved) == 1001
    writer.close()
    found = store.events(limit=2000)
    assert [e.profile_id for e in found] == [f"p{e.seq}" for e in found]
    assert len(found) == 1001


def test_write_keys_are_found_by_hash_only(store: SqlStore) -> None:
    store.add_write_key(source="src_x", name="web", key_hash="ab" * 32, at=T0)
    assert store.write_key_source("ab" * 32) == "src_x"
    assert store.write_key_source("cd" * 32) is None


def test_unreachable_store_raises_store_unavailable(tmp_path: object) -> None:
    broken = SqlStore("sqlite:////nonexistent-dir/never/juncture.db")
    with pytest.raises(StoreUnavailable):
        broken.ping()
    broken.close()


def test_migrations_produce_exactly_the_declared_schema(store: SqlStore) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), tables.metadata)
    assert diff == []
    with store.engine.connect() as conn:
        names = set(sa.inspect(conn).get_table_names())
    assert {"events", "failed_events", "write_keys"} <= names


def test_a_batch_change_holding_the_engine_position_holds_off_the_engine(
    store: SqlStore,
) -> None:
    """An erasure on the server's writer takes the engine's position first: the engine's
    next commit, which moves that position first, waits until the erasure is committed, and
    then reads what it left."""
    first = store.writer()
    with first.unit() as unit:
        unit.advance("engine", 0, 5, T0)
    engine = store.writer()
    moved = threading.Event()

    def engine_commit() -> None:
        with engine.unit() as unit:
            unit.advance("engine", 5, 6, T0)
        moved.set()

    try:
        with first.unit() as unit:
            unit.state.lock_position("engine")
            thread = threading.Thread(target=engine_commit)
            thread.start()
            assert not moved.wait(0.5), "the engine moved while a batch change held it"
        assert moved.wait(30)
        thread.join()
    finally:
        first.close()
        engine.close()
    assert store.log_positions.position("engine") == 6


def test_no_client_event_is_visible_after_a_later_seq_than_one_still_committing(
    store: SqlStore,
) -> None:
    """Two writers of the log (two servers, or an import beside one): while one's commit of
    client events is open, the other's waits, so the seqs become visible in their order and
    a reader past a seq (the engine behind the log) never misses an event committed later
    with a smaller one. (On PostgreSQL a sequence hands out seqs at insert, not at commit.)"""
    first, second = store.writer(), store.writer()
    done = threading.Event()
    later: list[int] = []

    def commit_second() -> None:
        later.extend(e.seq for e in commit(second, [event("late", user="u2")], []).stored)
        done.set()

    try:
        with first.unit() as unit:
            [early] = unit.insert([event("early")])
            thread = threading.Thread(target=commit_second)
            thread.start()
            assert not done.wait(0.5), "another writer committed while this commit was open"
        assert done.wait(30)
        thread.join()
        assert later[0] > early.seq
    finally:
        first.close()
        second.close()


def test_writers_of_a_distributed_log_do_not_wait_for_each_other(store: SqlStore) -> None:
    """``juncture worker``s store the events the distributed log ordered, per partition:
    on PostgreSQL their commits run side by side (SQLite has one write lock anyway)."""
    if store.dialect == "sqlite":
        pytest.skip("SQLite's writers always take turns")
    first, second = store.writer(table_log=False), store.writer(table_log=False)
    try:
        with first.unit() as unit:
            unit.insert([event("one")])
            [other] = commit(second, [event("two", user="u2")], []).stored
        assert other.seq > 0
    finally:
        first.close()
        second.close()
