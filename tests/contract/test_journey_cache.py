"""The writer's cache of journey rows (enrollments and recent contacts, SQLite): a profile
loaded again reads what the store holds, after the writer's own saves, a duplicate
message, a merge, an earlier ``since``, and another connection's commit."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from juncture.core.events import Event
from juncture.core.identity import Merge
from juncture.core.journeys.orchestrate import JourneyState, Message
from juncture.core.journeys.state import Enrollment
from juncture.runtime.unit_of_work import commit
from juncture.store import tables
from juncture.store.sql import SqlStore
from juncture.store.state import StateSql
from juncture.store.state_cache import Cache, JourneyRows, stored_enrollment

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
WEEK = dt.timedelta(days=8)


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Iterator[SqlStore]:
    store = SqlStore(sqlite_url)
    yield store
    store.close()


@pytest.fixture
def cursors(sqlite_store: SqlStore) -> Iterator[tuple[StateSql, StateSql]]:
    """The same connection read through a cache and without one."""
    raw = sqlite_store.engine.raw_connection()
    conn = raw.driver_connection
    assert conn is not None
    cur = conn.cursor()
    yield StateSql(cur, "sqlite", Cache()), StateSql(cur, "sqlite")
    conn.commit()
    raw.close()


def enrollment(eid: str, pid: str = "p1", node: str = "start") -> Enrollment:
    return Enrollment(eid, "welcome", 1, pid, None, node, T0, event={"name": "Signed Up"})


def message(key: str, pid: str = "p1", at: dt.datetime = T0, **kw: object) -> Message:
    values: dict[str, object] = {"channel": "email", "purpose": "marketing", "payload": {}}
    return Message(key, pid, created_at=at, **(values | kw))  # type: ignore[arg-type]


def load(state: StateSql, now: dt.datetime = T0) -> dict[str, JourneyState]:
    return state.load_journeys(["p1", "p2"], now - WEEK)


def test_saves_go_through_the_cache(cursors: tuple[StateSql, StateSql]) -> None:
    cached, fresh = cursors
    cached.save_enrollments([enrollment("e1")], T0)
    assert load(cached) == load(fresh)  # p1 and p2 now cached
    cached.save_enrollments([enrollment("e2"), enrollment("e1", node="wait")], T0)
    cached.save_messages([message("m1"), message("m2", "p2", next_attempt_at=T0 + WEEK)])
    cached.save_messages([message("m3", purpose="transactional"), message("m4", status="dead")])
    after = load(cached)
    assert after == load(fresh)
    assert [e.node for e in after["p1"].enrollments] == ["wait", "start"]
    assert [c.at for c in after["p2"].history.contacts] == [T0 + WEEK]


def test_a_message_already_stored_is_read_back(cursors: tuple[StateSql, StateSql]) -> None:
    cached, fresh = cursors
    cached.save_messages([message("m1", at=T0 - dt.timedelta(days=1))])
    load(cached)
    cached.save_messages([message("m1"), message("m2")])  # m1 is a replay: the old row stays
    assert load(cached) == load(fresh)
    assert len(load(cached)["p1"].history.contacts) == 2


def test_contacts_leave_the_window_and_an_earlier_since_reads_again(
    cursors: tuple[StateSql, StateSql],
) -> None:
    cached, fresh = cursors
    cached.save_messages([message("m1", at=T0 - dt.timedelta(days=7))])
    for now in (T0 + dt.timedelta(days=2), T0, T0 - dt.timedelta(days=2)):
        assert load(cached, now) == load(fresh, now)
    assert "p1" not in load(cached, T0 + dt.timedelta(days=2))


def test_a_merge_moves_enrollments_and_messages(cursors: tuple[StateSql, StateSql]) -> None:
    cached, fresh = cursors
    cached.save_enrollments([enrollment("e2", "p2")], T0)
    cached.save_messages([message("m2", "p2")])
    load(cached)
    cached.save_merges(
        [Merge(survivor="p1", merged="p2", by_message_id="x", at=T0, reason="test")], []
    )
    moved = dataclasses.replace(enrollment("e2", "p2"), profile_id="p1")
    cached.save_enrollments([moved], T0)
    assert load(cached) == load(fresh)
    assert [e.id for e in load(cached)["p1"].enrollments] == ["e2"]


def test_another_connections_commit_is_seen(sqlite_store: SqlStore) -> None:
    writer = sqlite_store.writer()
    seen: list[dict[str, JourneyState]] = []

    def process(state: StateSql, events: list[Event]) -> list[Event]:
        seen.append(state.load_journeys(["p1"], T0 - WEEK))
        return events

    commit(writer, [], [], process)
    with sqlite_store.engine.begin() as conn:
        conn.execute(
            sa.insert(tables.enrollments).values(
                enrollment_id="e1", journey_id="welcome", version=1, profile_id="p1",
                status="active", node="start", holdout=False, entered_at=T0, updated_at=T0,
                state=json.dumps(enrollment("e1").to_json()),
            )
        )  # fmt: skip
    commit(writer, [], [], process)
    writer.close()
    assert seen[0] == {}
    assert [e.id for e in seen[1]["p1"].enrollments] == ["e1"]


def test_clear_and_trim_drop_journey_rows() -> None:
    cache = Cache(max_rows=1)
    cache.journeys["p1"] = JourneyRows("", {}, [])
    cache.clear()
    assert cache.journeys == {}
    cache.journeys.update({"p1": JourneyRows("", {}, []), "p2": JourneyRows("", {}, [])})
    cache.trim()
    assert cache.journeys == {}


@pytest.mark.parametrize(
    ("changes", "dropped"),
    [
        ({}, ()),
        ({"waiting": {"timer_key": "t1", "due_at": "2026-03-02T11:00:00.5+02:00"}}, ()),
        ({"exited": True, "exited_at": "2026-03-03T09:00:00", "history": [["a", "b"]]}, ()),
        ({"event": {"n": 1.5, "items": [{"x": [1, 2]}]}, "holdout": True}, ("key", "event")),
        ({"version": "2", "goal_reached": None, "event": None}, ()),  # not the written types
        ({"history": [[1, 2]]}, ("waiting", "exited_at", "history")),
    ],
)
def test_a_stored_enrollment_reads_as_from_json_does(
    changes: dict[str, object], dropped: tuple[str, ...]
) -> None:
    document = enrollment("e1").to_json() | changes
    for name in dropped:
        del document[name]
    stored = json.dumps(document)
    expected = Enrollment.from_json(json.loads(stored))
    assert repr(stored_enrollment(stored)) == repr(expected)
