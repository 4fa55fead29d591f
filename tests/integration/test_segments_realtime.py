"""Real-time membership equals batch membership, and journeys trigger on segment entry."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import msgspec
import orjson
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from juncture import wiring
from juncture.core import messages
from juncture.core.journeys.catalog import Catalog
from juncture.definitions import journeys as journey_definitions
from juncture.definitions import segments as segment_definitions
from juncture.runtime.clock import ManualClock
from juncture.runtime.engine import StaticJourneys
from juncture.runtime.segments import Segments
from juncture.store import tables
from tests.conftest import caught_up, settings_for

T0 = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
DEFINITIONS = [
    """\
id: running
name: Running, not bought
where:
  all:
    - performed: Product Viewed
      where: {category: Running}
      at_least: 2
      within: 3d
    - not_performed: Order Completed
      within: 2d
""",
    """\
id: recent-buyer
name: Ordered this week
where: {rfm: recency, gte: 5}
""",
    """\
id: berlin-or-cheap
name: Berlin or cheap adds
where:
  any:
    - {fact: city, eq: Berlin}
    - performed: Product Added
      where: {price: {lt: 30}}
      within: 1d
""",
    """\
id: quiet-buyer
name: Bought, nothing added since, seen in 2 days
where:
  all:
    - {fact: last_seen, within: 2d}
    - {fact: order_count, gte: 1}
    - not_performed: Product Added
      since: last_order_at
      within: 10d
""",
]
# Leaves the property test also covers: not, consent, trait and stage.
MORE_DEFINITIONS = [
    """\
id: reachable-outside-berlin
name: Email marketing granted, not in Berlin, no recent view
where:
  all:
    - consent: email:marketing
      is: granted
    - not: {fact: city, eq: Berlin}
    - not:
        performed: Product Viewed
        within: 2d
""",
    """\
id: gold-or-loyal
name: Gold plan, or loyal and consent not denied
where:
  any:
    - {trait: plan.tier, eq: gold}
    - all:
        - stage: [loyalty]
        - not: {consent: email:marketing, is: denied}
""",
    """\
id: deciding-unknown-consent
name: Deciding, consent unknown, no gold plan
where:
  all:
    - stage: [decision, consideration]
    - consent: email:marketing
      is: unknown
    - not: {trait: plan.tier, eq: gold}
""",
]
SEGMENTS = [segment_definitions.loads(d, f"{i}.yaml") for i, d in enumerate(DEFINITIONS)]
ALL_DEFINITIONS = [*DEFINITIONS, *MORE_DEFINITIONS]
ALL_SEGMENTS = [segment_definitions.loads(d, f"{i}.yaml") for i, d in enumerate(ALL_DEFINITIONS)]

action = st.one_of(
    st.tuples(st.just("identify"), st.sampled_from(["Berlin", "Paris"])),
    st.tuples(st.just("plan"), st.sampled_from(["gold", "silver"])),
    st.tuples(st.just("consent"), st.booleans()),
    st.tuples(st.just("Unsubscribed"), st.none()),
    st.tuples(st.just("Product Viewed"), st.sampled_from(["Running", "Boots"])),
    # merges: views under the user's anonymous id, which the user's next identify links
    *[st.tuples(st.just("anonymous view"), st.sampled_from(["Running", "Boots"]))] * 2,
    st.tuples(st.just("Product Added"), st.sampled_from([10, 50])),
    st.tuples(st.just("Order Completed"), st.sampled_from([20, 80])),
    st.tuples(st.just("checkpoint"), st.none()),
)
# (user, gap in hours since the previous step, action)
streams = st.lists(
    st.tuples(st.integers(0, 2), st.integers(1, 40), action), min_size=1, max_size=18
)


class World:
    """A Juncture on a real database with the test segments applied, driven in event time."""

    def __init__(
        self, database_url: str, start: dt.datetime, journeys: StaticJourneys | None = None
    ) -> None:
        self.clock = ManualClock(start)
        self.juncture = wiring.build(
            settings_for(database_url), clock=self.clock, journeys=journeys
        )
        self.segments = Segments(self.juncture.store.segments)
        self.run = uuid.uuid4().hex[:8]
        self.messages = itertools.count()

    def apply(self, definitions: list[str]) -> None:
        for i, text in enumerate(definitions):
            self.segments.apply(text, f"{i}.yaml", self.clock.now())

    def send(self, user: int, at: dt.datetime, kind: str, value: Any) -> None:
        self.clock.set(at)
        msg: dict[str, Any] = {
            "userId": f"{self.run}-u{user}",
            "messageId": f"{self.run}-{next(self.messages)}",
            "timestamp": at.isoformat(),
        }
        msg |= _message(kind, value, msg["messageId"])
        if kind == "anonymous view":
            msg["anonymousId"] = f"{self.run}-a{user}"
            del msg["userId"]
        elif msg["type"] == "identify":  # links the anonymous id: a merge if it has a profile
            msg["anonymousId"] = f"{self.run}-a{user}"
        envelope = messages.Envelope(messages=[msgspec.Raw(orjson.dumps(msg))], single=False)
        outcome = self.juncture.ingestor.ingest_sync(envelope, "test")
        assert outcome.receipt.stored == 1, outcome
        caught_up(self.juncture)  # applied at its own time, before the clock moves on

    def tick(self, at: dt.datetime) -> None:
        self.clock.set(at)
        self.juncture.tick_sync()

    def profiles(self) -> set[str]:
        """This run's profiles, merged ones included."""
        e = tables.events
        mine = sa.or_(e.c.user_id.like(f"{self.run}-%"), e.c.anonymous_id.like(f"{self.run}-%"))
        query = sa.select(e.c.profile_id).where(mine).distinct()
        with self.juncture.store.engine.connect() as conn:
            return {r[0] for r in conn.execute(query)}

    def live(self) -> set[str]:
        p = tables.profiles
        query = sa.select(p.c.profile_id).where(
            p.c.profile_id.in_(self.profiles()), p.c.redirect_to.is_(None)
        )
        with self.juncture.store.engine.connect() as conn:
            return {r[0] for r in conn.execute(query)}

    def realtime(self, segment_id: str, mine: set[str]) -> list[str]:
        found = self.segments.store.stored_members(segment_id, limit=100_000)
        return sorted(p for p, _ in found if p in mine)

    def batch(self, segment_id: str, at: dt.datetime, mine: set[str]) -> list[str]:
        segment = self.segments.definition(segment_id)
        return [p for p in self.segments.store.members(segment, at) if p in mine]

    def derived(self, name: str) -> list[dict[str, Any]]:
        e = tables.events
        query = (
            sa.select(e.c.profile_id, e.c.body, e.c.timestamp)
            .where(e.c.event == name, e.c.profile_id.in_(self.profiles()))
            .order_by(e.c.seq)
        )
        with self.juncture.store.engine.connect() as conn:
            return [
                {"profile_id": r[0], **orjson.loads(r[1])["properties"]}
                for r in conn.execute(query)
            ]

    def close(self) -> None:
        self.juncture.close()


def _message(kind: str, value: Any, message_id: str) -> dict[str, Any]:
    traits: dict[str, dict[str, Any]] = {
        "identify": {"city": value},
        "plan": {"plan": {"tier": value}},
        "consent": {"consent": {"email": {"marketing": value}}},
    }
    if kind in traits:
        return {"type": "identify", "traits": traits[kind]}
    props: dict[str, Any] = {
        "Product Viewed": {"product_id": "p1", "category": value},
        "anonymous view": {"product_id": "p1", "category": value},
        "Product Added": {"product_id": "p1", "price": value},
        "Order Completed": {"order_id": message_id, "total": value},
        "Unsubscribed": {"channel": "email"},
    }[kind]
    event = "Product Viewed" if kind == "anonymous view" else kind
    return {"type": "track", "event": event, "properties": props}


@contextmanager
def opened_world(database_url: str, journey: str | None = None) -> Iterator[World]:
    """A World with the test segments applied and ``journey`` (YAML) running, if given."""
    catalog = (
        None if journey is None else Catalog.of([journey_definitions.loads(journey, "j.yaml")])
    )
    w = World(database_url, T0, None if catalog is None else StaticJourneys(catalog))
    try:
        w.apply(DEFINITIONS)
        yield w
    finally:
        w.close()


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    with opened_world(database_url) as w:
        yield w


@pytest.fixture
def wide_world(database_url: str) -> Iterator[World]:
    w = World(database_url, T0)
    w.apply(ALL_DEFINITIONS)
    yield w
    w.close()


Stream = list[tuple[int, int, tuple[str, Any]]]


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(stream=streams)
def test_realtime_membership_equals_batch_at_every_checkpoint(
    wide_world: World, stream: Stream
) -> None:
    """Every kind of leaf (behaviour windows, facts, RFM, not, consent, trait, stage), and
    identity merges: an anonymous profile linked to a user's by an identify."""
    check_stream(wide_world, stream)


def test_a_merged_profiles_window_timer_does_not_announce_moves_twice(wide_world: World) -> None:
    """Found by the property test: the anonymous profile survives the merge, and the
    merged profile's segment timer re-evaluated the survivor from an older time."""
    check_stream(
        wide_world,
        [
            (1, 1, ("anonymous view", "Running")),
            (1, 1, ("Order Completed", 20)),
            (1, 21, ("Unsubscribed", None)),
            (1, 40, ("consent", False)),  # the identify that merges the two profiles
        ],
    )


def check_stream(world: World, stream: Stream) -> None:
    """Send ``stream`` and a last checkpoint 12 days later; at every checkpoint the stored
    members equal the batch ones, and every live profile's entries and exits add up."""
    world.run = uuid.uuid4().hex[:8]  # each example has its own customers
    at = max(world.clock.now(), T0) + dt.timedelta(hours=1)
    for user, gap, (kind, value) in [*stream, (0, 24 * 12, ("checkpoint", None))]:
        at += dt.timedelta(hours=gap, minutes=1)
        if kind != "checkpoint":
            world.send(user, at, kind, value)
            continue
        world.tick(at)
        mine = world.profiles()
        for segment in ALL_SEGMENTS:
            expected = world.batch(segment.id, at, mine)
            assert world.realtime(segment.id, mine) == expected, (segment.id, at)
    entered, exited = world.derived("Segment Entered"), world.derived("Segment Exited")
    for pid in world.live():  # a merged profile's memberships end with it, unannounced
        for segment in ALL_SEGMENTS:
            ins = sum(1 for e in entered if (e["profile_id"], e["segment_id"]) == (pid, segment.id))
            outs = sum(1 for e in exited if (e["profile_id"], e["segment_id"]) == (pid, segment.id))
            now_in = pid in world.realtime(segment.id, {pid})
            assert ins - outs == (1 if now_in else 0), (segment.id, ins, outs)


def test_segment_events_carry_id_and_name_and_windows_expire_by_timer(world: World) -> None:
    world.send(0, T0 + dt.timedelta(hours=1), "Product Viewed", "Running")
    world.send(0, T0 + dt.timedelta(hours=2), "Product Viewed", "Running")
    (pid,) = world.profiles()
    assert world.realtime("running", {pid}) == [pid]
    assert world.derived("Segment Entered") == [
        {"profile_id": pid, "segment_id": "running", "segment_name": "Running, not bought"}
    ]
    with world.juncture.store.engine.connect() as conn:
        timers = conn.execute(
            sa.select(tables.timers.c.kind, tables.timers.c.due_at).where(
                tables.timers.c.key == f"segment:{pid}"
            )
        ).all()
    assert [t[0] for t in timers] == ["segment"]
    world.tick(T0 + dt.timedelta(days=3, hours=1, minutes=1))  # the first view slid out
    assert world.realtime("running", {pid}) == []
    assert [e["segment_id"] for e in world.derived("Segment Exited")] == ["running"]


OFFER = """\
id: running_offer
version: 1
name: Running offer on segment entry
entry: {reentry: always}
nodes:
  - id: entered
    type: trigger
    segment_entered: running
    next: offer
  - id: offer
    type: emit_event
    event: Running Offer
    next: done
  - id: done
    type: exit
"""


def test_a_journey_triggered_by_segment_entry_fires_once_per_entry(database_url: str) -> None:
    with opened_world(database_url, OFFER) as world:
        hour = dt.timedelta(hours=1)
        world.send(0, T0 + hour, "Product Viewed", "Running")
        world.send(0, T0 + 2 * hour, "Product Viewed", "Running")  # enters
        world.send(0, T0 + 3 * hour, "Product Viewed", "Running")  # stays in
        world.send(1, T0 + 4 * hour, "Product Viewed", "Boots")  # never enters
        world.tick(T0 + dt.timedelta(days=4))  # the window slid: exits
        world.send(0, T0 + dt.timedelta(days=5), "Product Viewed", "Running")
        world.send(0, T0 + dt.timedelta(days=5, hours=1), "Product Viewed", "Running")  # again
        world.send(0, T0 + dt.timedelta(days=5, hours=2), "Order Completed", 20)  # exits
        world.tick(T0 + dt.timedelta(days=6))
        (pid,) = {e["profile_id"] for e in world.derived("Segment Entered")}
        running = [e for e in world.derived("Segment Entered") if e["segment_id"] == "running"]
        assert len(running) == 2
        exits = [e for e in world.derived("Segment Exited") if e["segment_id"] == "running"]
        assert len(exits) == 2
        offers = world.derived("Running Offer")
        assert [o["profile_id"] for o in offers] == [pid, pid]


LAPSED = """\
id: lapsed
name: Lapsed buyers
where: {stage: lapsed}
"""


def test_a_lapsing_stage_moves_segment_membership_by_its_timer(world: World) -> None:
    world.apply([LAPSED])
    world.send(0, T0 + dt.timedelta(hours=1), "Order Completed", 80)
    (pid,) = world.profiles()
    assert world.realtime("lapsed", {pid}) == []
    later = T0 + dt.timedelta(days=91)
    world.tick(later)
    assert world.realtime("lapsed", {pid}) == [pid] == world.batch("lapsed", later, {pid})
    entered = [e["segment_id"] for e in world.derived("Segment Entered")]
    assert entered.count("lapsed") == 1


FOLLOW_UP = """\
id: running_follow_up
version: 1
name: Follow up who leaves the running segment
entry: {reentry: always}
nodes:
  - {id: left, type: trigger, segment_exited: running, next: follow}
  - {id: follow, type: emit_event, event: Running Follow Up, next: done}
  - {id: done, type: exit}
"""


def test_a_journey_triggered_by_segment_exit_fires_once_per_exit(database_url: str) -> None:
    """Exits by an event (an order) and by time (the views slid out of the window) both
    start the journey; entering, staying in, or never being in do not."""
    with opened_world(database_url, FOLLOW_UP) as world:
        hour = dt.timedelta(hours=1)
        world.send(0, T0 + hour, "Product Viewed", "Running")
        world.send(0, T0 + 2 * hour, "Product Viewed", "Running")  # enters
        world.send(1, T0 + 3 * hour, "Product Viewed", "Boots")  # never enters
        world.send(0, T0 + 4 * hour, "Product Viewed", "Running")  # stays in
        assert world.derived("Running Follow Up") == []
        world.send(0, T0 + 5 * hour, "Order Completed", 20)  # exits by an event
        (pid,) = {e["profile_id"] for e in world.derived("Segment Entered")}
        assert [f["profile_id"] for f in world.derived("Running Follow Up")] == [pid]
        world.send(0, T0 + dt.timedelta(days=3), "Product Viewed", "Running")
        world.send(0, T0 + dt.timedelta(days=3, hours=1), "Product Viewed", "Running")  # again
        world.tick(T0 + dt.timedelta(days=7))  # the views slid out of the window: exits
        exits = [e for e in world.derived("Segment Exited") if e["segment_id"] == "running"]
        assert len(exits) == 2
        assert [f["profile_id"] for f in world.derived("Running Follow Up")] == [pid, pid]
