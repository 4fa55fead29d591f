"""Batch SQL membership equals pure evaluation, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from juncture.core.segments import conditions as seg
from juncture.store import tables
from juncture.store.segments import SegmentStore
from juncture.store.sql import SqlStore

T0 = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
VIEWED, ORDERED, ADDED = "Product Viewed", "Order Completed", "Product Added"

SEGMENTS = [
    seg.Segment(
        "running",
        "Viewed running shoes 3 times this week, no order",
        seg.All(
            (
                seg.Performed(
                    VIEWED,
                    7 * DAY,
                    (seg.PropertyIs(("category",), "eq", "Running Shoes"),),
                    at_least=3,
                ),
                seg.NotPerformedSince(ORDERED, 7 * DAY),
            )
        ),
    ),
    seg.Segment(
        "berlin-cheap",
        "Berlin or cheap adds",
        seg.AnyOf(
            (
                seg.FactIs("city", "eq", "Berlin"),
                seg.Performed(ADDED, 3 * DAY, (seg.PropertyIs(("price",), "lt", 30),)),
            )
        ),
    ),
    seg.Segment(
        "few-views",
        "1 or 2 views of a priced product in 5 days",
        seg.Performed(
            VIEWED, 5 * DAY, (seg.PropertyIs(("price",), "exists"),), at_least=1, at_most=2
        ),
    ),
    seg.Segment(
        "no-view-since-order",
        "No view since the last order",
        seg.All(
            (
                seg.FactIs("last_order_at", "exists"),
                seg.NotPerformedSince(VIEWED, 10 * DAY, since_fact="last_order_at"),
            )
        ),
    ),
    seg.Segment(
        "lists",
        "List traits and properties: contains and in",
        seg.AnyOf(
            (
                seg.TraitIs(("interests",), "contains", "yoga"),
                seg.All(
                    (
                        seg.TraitIs(("interests",), "contains", 3),
                        seg.Not(seg.TraitIs(("interests",), "contains", True)),
                    )
                ),
                seg.All(
                    (
                        seg.TraitIs(("interests",), "in", ("hiking", "3")),
                        seg.Not(seg.TraitIs(("interests",), "in", (True, 3.0))),
                        seg.Not(seg.TraitIs(("interests",), "not_in", ("yoga",))),
                    )
                ),
                seg.Performed(ADDED, 5 * DAY, (seg.PropertyIs(("tags",), "contains", "sale"),)),
                seg.Performed(VIEWED, 5 * DAY, (seg.PropertyIs(("tags",), "in", (7, False)),)),
            )
        ),
    ),
    seg.Segment(
        "facts",
        "Mixed facts, traits, consent, RFM",
        seg.AnyOf(
            (
                seg.All(
                    (
                        seg.FactIs("last_order_at", "within", 4 * DAY),
                        seg.Not(seg.FactIs("city", "ne", "Paris")),
                    )
                ),
                seg.TraitIs(("plan", "tier"), "in", ("gold", 3)),
                seg.All(
                    (
                        seg.ConsentIs("email", "marketing", True),
                        seg.RfmIs("recency", "gte", 4),
                    )
                ),
                seg.All(
                    (
                        seg.ConsentIs("sms", "marketing", None),
                        seg.TraitIs(("student",), "eq", True),
                        seg.FactIs("revenue", "gte", 100.0),
                    )
                ),
                seg.Not(seg.TraitIs(("plan", "tier"), "not_in", ("gold", "silver"))),
                seg.All(
                    (
                        seg.Not(seg.TraitIs(("plan", "tier"), "in", ("gold", "silver"))),
                        seg.Not(seg.TraitIs(("student",), "eq", "gold")),
                        seg.FactIs("city", "eq", "Paris"),
                    )
                ),
            )
        ),
    ),
]

names = st.sampled_from([VIEWED, ORDERED, ADDED])
props = st.fixed_dictionaries(
    {},
    optional={
        "category": st.sampled_from(["Running Shoes", "Boots", 7]),
        "price": st.one_of(st.integers(0, 60), st.sampled_from([29.5, "12", True, None])),
        "tags": st.one_of(st.lists(st.sampled_from(["sale", "new", 7, False])), st.just("sale")),
    },
)
# A list trait, or a value that only looks like one of its elements (not a list).
listed = st.sampled_from(["yoga", "hiking", 3, 3.0, True, "3", None, ["yoga"], {"yoga": 1}])
interests = st.one_of(st.lists(listed, max_size=3), listed)
events = st.lists(st.tuples(st.integers(0, 2), names, st.integers(0, 20 * 24), props), max_size=25)
tier = st.sampled_from(["gold", "silver", 3, 3.0, None, True])
traits = st.fixed_dictionaries(
    {},
    optional={
        "plan": st.fixed_dictionaries({}, optional={"tier": tier}),
        "student": tier,
        "interests": interests,
    },
)
consent = st.dictionaries(st.sampled_from(["email:marketing", "sms:marketing"]), st.booleans())
facts = st.fixed_dictionaries(
    {
        "city": st.sampled_from(["Berlin", "Paris", None]),
        "order_count": st.integers(0, 6),
        "revenue": st.sampled_from([0.0, 99.5, 100.0, 700.0]),
        "last_order_hours": st.one_of(st.none(), st.integers(0, 20 * 24)),
        "traits": traits,
        "consent": consent,
    }
)


def profile_facts(f: dict[str, Any]) -> dict[str, Any]:
    hours = f["last_order_hours"]
    return {
        "city": f["city"],
        "order_count": f["order_count"],
        "revenue": f["revenue"],
        "last_order_at": None if hours is None else T0 + dt.timedelta(hours=hours),
        "traits": f["traits"],
        "consent": f["consent"],
    }


@pytest.fixture
def seg_store(database_url: str) -> Iterator[SegmentStore]:
    s = SqlStore(database_url)
    yield SegmentStore(s.engine)
    s.close()


def load(
    engine: sa.Engine,
    profile_rows: Sequence[dict[str, Any]],
    event_rows: Sequence[tuple[int, str, int, dict[str, Any]]],
) -> list[list[seg.BehaviourEvent]]:
    behaviour: list[list[seg.BehaviourEvent]] = [[] for _ in profile_rows]
    rows = []
    for i, (who, name, hours, properties) in enumerate(event_rows):
        at = T0 + dt.timedelta(hours=hours)
        behaviour[who].append(seg.BehaviourEvent(name, at, properties))
        rows.append(
            {
                "source": "test",
                "message_id": f"m{i}",
                "type": "track",
                "event": name,
                "timestamp": at,
                "received_at": at,
                "body": json.dumps({"properties": properties}),
                "profile_id": f"p{who}",
            }
        )
    with engine.begin() as conn:
        conn.execute(tables.events.delete())
        conn.execute(tables.profiles.delete())
        conn.execute(
            tables.profiles.insert(),
            [{"profile_id": f"p{i}", **row} for i, row in enumerate(profile_rows)],
        )
        if rows:
            conn.execute(tables.events.insert(), rows)
    return behaviour


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(profile_list=st.lists(facts, min_size=3, max_size=3), stream=events)
def test_pure_evaluation_equals_batch_sql(
    seg_store: SegmentStore,
    profile_list: list[dict[str, Any]],
    stream: list[tuple[int, str, int, dict[str, Any]]],
) -> None:
    rows = [profile_facts(f) for f in profile_list]
    behaviour = load(seg_store.engine, rows, stream)
    for now in (T0 + 2 * DAY, T0 + 8 * DAY + dt.timedelta(hours=5), T0 + 15 * DAY, T0 + 30 * DAY):
        for segment in SEGMENTS:
            expected = [
                f"p{i}"
                for i, row in enumerate(rows)
                if seg.evaluate(segment, row, behaviour[i], now)
            ]
            assert seg_store.members(segment, now) == expected, (segment.id, now)


def test_merged_profiles_events_count_for_the_survivor(seg_store: SegmentStore) -> None:
    rows: list[dict[str, object]] = [{"city": "Berlin"}, {"city": None}]
    stream = [(0, VIEWED, 1, {"category": "Running Shoes"})] * 2
    stream += [(1, VIEWED, 2, {"category": "Running Shoes"})]
    load(seg_store.engine, rows, stream)
    with seg_store.engine.begin() as conn:
        conn.execute(
            tables.profiles.update()
            .where(tables.profiles.c.profile_id == "p1")
            .values(redirect_to="p0")
        )
    assert seg_store.members(SEGMENTS[0], T0 + DAY) == ["p0"]


def test_refresh_tracks_entries_exits_and_size_history(seg_store: SegmentStore) -> None:
    rows = [{"city": None}, {"city": None}]
    stream = [(0, VIEWED, h, {"category": "Running Shoes"}) for h in (1, 2, 3)]
    stream += [(1, VIEWED, h, {"category": "Running Shoes"}) for h in (30, 31, 32)]
    load(seg_store.engine, rows, stream)
    running = SEGMENTS[0]
    first = seg_store.refresh(running, T0 + DAY)
    assert (first.size, first.entered, first.exited) == (1, ("p0",), ())
    second = seg_store.refresh(running, T0 + 7 * DAY + dt.timedelta(hours=2))
    assert (second.size, second.entered, second.exited) == (1, ("p1",), ("p0",))
    assert [m[0] for m in seg_store.stored_members("running")] == ["p1"]
    assert [(s["size"], s["entered"], s["exited"]) for s in seg_store.sizes("running")] == [
        (1, 1, 0),
        (1, 1, 1),
    ]
    assert seg_store.size(running, T0 + 2 * DAY) == 2
    assert seg_store.members(running, T0 + 2 * DAY, after="p0", limit=5) == ["p1"]
    out = io.StringIO()
    assert seg_store.export_csv(running, T0 + 2 * DAY, out) == 2
    assert out.getvalue().splitlines()[0].startswith("profile_id,email")


def test_definitions_are_saved_listed_and_replaced(seg_store: SegmentStore) -> None:
    segment = SEGMENTS[1]
    seg_store.save(segment, "id: berlin-cheap", "a.yaml", T0, "manual")
    seg_store.save(segment, "id: berlin-cheap\n", "b.yaml", T0 + DAY, "manual")
    saved = seg_store.get("berlin-cheap")
    assert (saved.filename, saved.created_at, saved.updated_at) == ("b.yaml", T0, T0 + DAY)
    assert [s.segment_id for s in seg_store.list()] == ["berlin-cheap"]


def test_not_of_a_text_equality_is_its_negation(seg_store: SegmentStore) -> None:
    """SQLAlchemy drops the NOT of ``x IS 'text'``: the compiler must not rely on it."""
    tiers: list[dict[str, Any]] = [{"plan": {"tier": "gold"}}, {"plan": {"tier": "silver"}}, {}]
    base = {"city": None, "order_count": 0, "revenue": 0.0, "last_order_at": None}
    rows = [{**base, "traits": t, "consent": {}} for t in tiers]
    load(seg_store.engine, rows, [])
    gold = seg.TraitIs(("plan", "tier"), "eq", "gold")
    segment = seg.Segment("not-gold", "Not gold", seg.Not(gold))
    assert seg_store.members(segment, T0) == ["p1", "p2"]
    both = seg.Segment("gold", "Gold", seg.Not(seg.Not(gold)))
    assert seg_store.members(both, T0) == ["p0"]
