"""Evaluating only the segments an event can move gives the memberships, derived events and
timers' effect that evaluating every segment gives.

A profile walks a random history (views of running shoes and other products, cart adds,
coupons, orders, trait changes, and gaps of days that make windows slide), once with the
index (``active_since`` and the stored timer known) and once without, firing the segment
timer whenever the next event comes after it, as the scheduler does; after every step both
must hold the same memberships.
"""

from __future__ import annotations

import datetime as dt
import random

import msgspec
import pytest

from juncture.core.events import Event
from juncture.core.profile.model import Order, Profile
from juncture.core.segments import conditions as seg
from juncture.core.segments import membership
from juncture.core.segments.hits import HitMemo
from juncture.core.timers import ScheduleTimer
from juncture.definitions import segments as segment_definitions

START = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)
LIBRARY = tuple(segment_definitions.load(p) for p in segment_definitions.library())
NAMES = {
    "view": "Product Viewed", "add": "Product Added", "coupon": "Coupon Applied",
    "order": "Order Completed", "move": "Page Viewed", "identify": "Signed In",
}  # fmt: skip
CATEGORIES = ("Women > Shoes > Running", "Men > Shoes > Sneakers", "Home > Kitchen > Coffee")


class Walker:
    """One profile through the engine's segment path, indexed or not."""

    def __init__(self, indexed: bool) -> None:
        self.indexed = indexed
        self.profile = Profile(profile_id="p1", traits={"city": "Berlin"})
        self.member_of: frozenset[str] = frozenset()
        self.behaviour: list[seg.BehaviourEvent] = []
        self.due: dt.datetime | None = None
        self.moves: list[tuple[str, str]] = []
        # indexed, as the engine runs it: leaves matched incrementally over one growing list
        self.memo = HitMemo(LIBRARY) if indexed else None

    def _context(self) -> membership.Context:
        return membership.Context(
            LIBRARY, {"p1": self.member_of},
            {"p1": self.behaviour if self.indexed else list(self.behaviour)}, {},
            scheduled={"p1": self.due} if self.due else {},
            active_since=START - dt.timedelta(days=1) if self.indexed else None,
            memo=self.memo,
        )  # fmt: skip

    def _take(self, reaction: membership.Reaction | None) -> None:
        if reaction is None:
            return
        self.member_of = reaction.member_of
        self.moves.extend((str(e.event), str(e.properties["segment_id"])) for e in reaction.events)
        self.due = reaction.timer.due_at if isinstance(reaction.timer, ScheduleTimer) else None

    def step(self, event: Event, after: Profile, *, tick: bool = True) -> None:
        """``tick``: the scheduler fired due timers before the event came (live, it may not
        have yet)."""
        while tick and self.due is not None and self.due <= event.timestamp:
            timer = ScheduleTimer(key="segment:p1", due_at=self.due, kind="segment",
                                  profile_id="p1")  # fmt: skip
            self._take(membership.on_timer(self._context(), self.profile, timer, self.due))
        before = self.profile
        reaction = membership.on_event(
            self._context(), before, after, (), new=(event,), cause=event
        )
        self.profile = after
        self.behaviour.extend(membership.behaviour_of([event]))
        self._take(reaction)


def _next(profile: Profile, rng: random.Random, at: dt.datetime, i: int) -> tuple[Event, Profile]:
    kind = rng.choice(["view", "view", "view", "add", "coupon", "order", "move", "identify"])
    props: dict[str, object] = {}
    changes: dict[str, object] = {"last_seen": at}
    if profile.first_seen is None:
        changes["first_seen"] = at
    name = NAMES[kind]
    if kind == "view":
        props = {"category": rng.choice(CATEGORIES), "price": 49.0}
    elif kind == "order":
        oid = f"o{i}"
        changes.update(orders={**profile.orders, oid: Order(at, 80.0)},
                       revenue=profile.revenue + 80.0, last_order_id=oid)  # fmt: skip
    elif kind == "identify":
        changes["traits"] = {**profile.traits, "city": rng.choice(["Berlin", "Vienna"]),
                             "country": rng.choice(["DE", "AT", "FR"])}  # fmt: skip
    event = Event(source="test", message_id=f"m{i}", type="track", event=name, timestamp=at,
                  received_at=at, profile_id="p1", properties=props)  # fmt: skip
    return event, msgspec.structs.replace(profile, **changes)


@pytest.mark.parametrize("late", [False, True], ids=["timers-on-time", "scheduler-late"])
@pytest.mark.parametrize("seed", range(30))
def test_indexed_evaluation_keeps_the_memberships_of_full_evaluation(seed: int, late: bool) -> None:
    rng = random.Random(seed)
    full, indexed = Walker(indexed=False), Walker(indexed=True)
    at = START
    for i in range(60):
        at += rng.choice([dt.timedelta(minutes=rng.randrange(1, 90)),
                          dt.timedelta(days=rng.randrange(1, 12))])  # fmt: skip
        event, after = _next(full.profile, rng, at, i)
        tick = not late or rng.random() < 0.3
        full.step(event, after, tick=tick)
        indexed.step(event, after, tick=tick)
        assert indexed.member_of == full.member_of, (i, event.event)
    assert sorted(indexed.moves) == sorted(full.moves)
    assert full.moves, "the history moved no membership: the test would prove nothing"


def test_an_event_no_segment_reads_evaluates_nothing() -> None:
    walker = Walker(indexed=True)
    first, profile = _next(walker.profile, random.Random(1), START, 0)
    walker.step(first, profile)
    later = START + dt.timedelta(minutes=5)
    page = Event(source="test", message_id="p", type="track", event="Page Viewed",
                 timestamp=later, received_at=later, profile_id="p1")  # fmt: skip
    after = msgspec.structs.replace(profile, last_seen=later)
    ctx = walker._context()
    only = tuple(s for s in LIBRARY if not s.reads.always and "last_seen" not in s.reads.facts)
    ctx = msgspec.structs.replace(ctx, segments=only)
    assert membership.on_event(ctx, profile, after, (), new=(page,), cause=page) is None
    full = msgspec.structs.replace(ctx, active_since=None)
    assert membership.on_event(full, profile, after, (), new=(page,), cause=page) is not None


@pytest.mark.parametrize("seed", range(10))
def test_leaves_matched_incrementally_are_those_matched_at_once(seed: int) -> None:
    """Events in any time order, appended a few at a time, some only passed as new."""
    rng = random.Random(seed)
    memo, stored = HitMemo(LIBRARY), list[seg.BehaviourEvent]()
    for i in range(80):
        at = START + dt.timedelta(hours=rng.randrange(24 * 40))
        name = rng.choice(list(NAMES.values()))
        props = {"category": rng.choice(CATEGORIES), "price": 49.0} if i % 3 else {}
        new = [seg.BehaviourEvent(name, at, props)]
        if rng.random() < 0.2:
            stored = list(stored)  # a new list: matched again from the start
        found = memo.hits("p1", stored, new)
        for s in LIBRARY:
            want = seg.hits_of(s, [*stored, *new])
            assert {k: found[k] for k in want} == want, (i, s.id)
        if rng.random() < 0.8:
            stored.extend(new)


@pytest.mark.parametrize("seed", range(5))
def test_each_fact_alone_is_the_fact_among_all(seed: int) -> None:
    """The index compares single facts before and after an event (``fact_of``); each must
    be what the full evaluation reads (``facts_of``)."""
    rng = random.Random(seed)
    walker = Walker(indexed=False)
    at = START
    for i in range(30):
        at += dt.timedelta(hours=rng.randrange(1, 200))
        event, after = _next(walker.profile, rng, at, i)
        walker.step(event, after)
        later = at + dt.timedelta(days=rng.randrange(0, 120))
        facts = seg.facts_of(after, later)
        assert {k: seg.fact_of(after, k, later) for k in facts} == facts
