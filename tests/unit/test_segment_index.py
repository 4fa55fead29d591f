"""Evaluating only the segments an event can move gives the memberships, derived events and
timers' effect that evaluating every segment gives, and both are what evaluating every
shipped segment from scratch answers at that moment.

A shopper walks a random history through the pure engine (``pipeline.step`` and
``pipeline.fire``: the real reducer, stage moves and timers) once with the index
(``active_since`` and the stored timer known) and once without: views of running shoes and
other products, cart adds, coupons, orders of every size, identifies that move the city,
the country, the student trait, the lifetime-value trait and the email consent, and gaps
of minutes, days or months. The segment and stage timers fire when the next event comes
after them, as the scheduler does (or late, then with the events that came meanwhile).
After every event, and at moments of a long quiet spell with no event at all (windows
slide, a customer lapses, a VIP lapses), both hold the memberships that a full evaluation
at that moment gives.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import msgspec
import pytest

from juncture.core import pipeline
from juncture.core.events import Event
from juncture.core.identity import IdentityGraph
from juncture.core.profile import reducer
from juncture.core.profile.model import Cart, CartItem, Profile
from juncture.core.segments import conditions as seg
from juncture.core.segments import index, membership
from juncture.core.segments.hits import HitMemo
from juncture.core.timers import CancelTimer, ScheduleTimer
from juncture.definitions import segments as segment_definitions

START = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)
CONFIG = pipeline.EngineConfig()
LIBRARY = tuple(segment_definitions.load(p) for p in segment_definitions.library())
KINDS = (membership.SEGMENT_TIMER, pipeline.STAGE_TIMER)
CATEGORIES = ("Women > Shoes > Running", "Men > Shoes > Sneakers", "Home > Kitchen > Coffee")
ACTIONS = ("view", "view", "view", "add", "coupon", "order", "checkout", "page", "identify")


class Walker:
    """One shopper through the engine's pure path, indexed or not."""

    def __init__(self, indexed: bool) -> None:
        self.indexed = indexed
        self.graph, self.known = IdentityGraph(), dict[str, Profile]()
        self.member_of: frozenset[str] = frozenset()
        self.behaviour: list[seg.BehaviourEvent] = []
        self.timers: dict[str, ScheduleTimer] = {}  # segment and stage timers, by key
        self.moves: list[tuple[str, str, dt.datetime]] = []
        # indexed, as the engine runs it: leaves matched incrementally over one growing list,
        # and one index over the walk, which remembers the guards found false
        self.memo = HitMemo(LIBRARY) if indexed else None
        self.index = membership.index_of(LIBRARY) if indexed else None

    @property
    def profile(self) -> Profile:
        (current,) = self.known.values()
        return current

    def _context(self) -> membership.Context:
        pid = next(iter(self.known), "")
        segment = self.timers.get(membership.timer_key(pid))
        return membership.Context(
            LIBRARY, {pid: self.member_of},
            {pid: self.behaviour if self.indexed else list(self.behaviour)}, {},
            scheduled={pid: segment.due_at} if segment is not None else {},
            active_since=START - dt.timedelta(days=1) if self.indexed else None,
            memo=self.memo, index=self.index,
        )  # fmt: skip

    def _take(self, step: pipeline.Step) -> None:
        self.graph = step.graph or self.graph
        self.known.update(step.profiles)
        self.behaviour.extend(membership.behaviour_of(step.events))
        for timer in step.timers:
            if isinstance(timer, ScheduleTimer) and timer.kind in KINDS:
                self.timers[timer.key] = timer
            elif isinstance(timer, CancelTimer):
                self.timers.pop(timer.key, None)
        if step.segments is not None:
            self.member_of = step.segments.member_of
        self.moves += [
            (str(e.event), str(e.properties["segment_id"]), e.timestamp)
            for e in step.events
            if e.event in ("Segment Entered", "Segment Exited")
        ]

    def tick(self, until: dt.datetime) -> None:
        """Fire the timers due by ``until``, each at its moment, in order."""
        while due := [t for t in self.timers.values() if t.due_at <= until]:
            timer = min(due, key=lambda t: t.due_at)
            del self.timers[timer.key]
            fired = pipeline.fire(timer, self.profile, timer.due_at, CONFIG,
                                  graph=self.graph, segments=self._context())  # fmt: skip
            self._take(fired)

    def step(self, event: Event, *, tick: bool = True) -> None:
        """``tick``: the scheduler fired due timers before the event came (live, it may not
        have yet)."""
        if tick:
            self.tick(event.timestamp)
        self._take(pipeline.step(self.graph, self.known, event, CONFIG, segments=self._context()))

    def truth(self, at: dt.datetime) -> frozenset[str]:
        """Every shipped segment evaluated from scratch at ``at``."""
        facts = seg.facts_of(self.profile, at)
        return frozenset(s.id for s in LIBRARY if seg.evaluate(s, facts, self.behaviour, at))


def _event(rng: random.Random, at: dt.datetime, i: int) -> Event:
    action = rng.choice(ACTIONS)
    common: dict[str, Any] = {"source": "test", "message_id": f"m{i}", "timestamp": at,
                              "received_at": at, "user_id": "u1"}  # fmt: skip
    if action == "identify":
        traits = {"city": rng.choice(["Berlin", "Vienna", "Paris"]),
                  "country": rng.choice(["DE", "AT", "FR"]), "student": rng.random() < 0.5,
                  "clv": {"p_alive": rng.random()},
                  "consent": {"email": {"marketing": rng.random() < 0.7}}}  # fmt: skip
        chosen = rng.sample(sorted(traits), rng.randrange(1, 4))
        return Event(type="identify", traits={k: traits[k] for k in chosen}, **common)
    tracks: dict[str, tuple[str, dict[str, Any]]] = {
        "view": ("Product Viewed", {"product_id": f"P{i % 7}", "price": 49.0,
                                    "category": rng.choice(CATEGORIES)}),
        "add": ("Product Added", {"product_id": f"P{i % 7}", "quantity": 1,
                                  "price": rng.choice([9.0, 25.0, 60.0])}),
        "coupon": ("Coupon Applied", {"coupon": "SAVE"}),
        "order": ("Order Completed", {"order_id": f"o{i}",
                                      "revenue": rng.choice([15.0, 80.0, 300.0, 900.0])}),
        "checkout": ("Checkout Started", {}),
        "page": ("Page Viewed", {}),
    }  # fmt: skip
    name, props = tracks[action]
    return Event(type="track", event=name, properties=props, **common)


def _gap(rng: random.Random) -> dt.timedelta:
    return rng.choice([
        dt.timedelta(minutes=rng.randrange(1, 90)), dt.timedelta(minutes=rng.randrange(1, 90)),
        dt.timedelta(days=rng.randrange(1, 12)), dt.timedelta(days=rng.randrange(20, 130)),
    ])  # fmt: skip


@pytest.mark.parametrize("late", [False, True], ids=["timers-on-time", "scheduler-late"])
@pytest.mark.parametrize("seed", range(30))
def test_indexed_evaluation_keeps_the_memberships_of_full_evaluation(seed: int, late: bool) -> None:
    rng = random.Random(seed)
    full, indexed = Walker(indexed=False), Walker(indexed=True)
    at = START
    for i in range(60):
        at += _gap(rng)
        event = _event(rng, at, i)
        tick = not late or rng.random() < 0.3
        full.step(event, tick=tick)
        indexed.step(event, tick=tick)
        assert indexed.member_of == full.member_of == full.truth(at), (i, event.event)
    # then no event at all for a year: windows slide, customers lapse, by timers alone
    for _ in range(24):
        at += dt.timedelta(days=rng.randrange(1, 30), hours=rng.randrange(24))
        full.tick(at)
        indexed.tick(at)
        assert indexed.member_of == full.member_of == full.truth(at), at
    assert sorted(indexed.moves) == sorted(full.moves)
    assert full.moves, "the history moved no membership: the test would prove nothing"


def test_the_walks_move_every_shipped_segment_and_some_by_time_alone() -> None:
    """The walks above mean something for each segment: each is entered and left, and some
    moves happen in the quiet spells, with no event."""
    moved: set[tuple[str, str]] = set()
    by_time: set[str] = set()
    for seed in range(30):
        rng, walker, at = random.Random(seed), Walker(indexed=True), START
        for i in range(60):
            at += _gap(rng)
            walker.step(_event(rng, at, i))
        events = len(walker.moves)
        for _ in range(24):
            at += dt.timedelta(days=rng.randrange(1, 30), hours=rng.randrange(24))
            walker.tick(at)
        moved.update((name, sid) for name, sid, _ in walker.moves)
        by_time.update(sid for _, sid, _ in walker.moves[events:])
    ids = {s.id for s in LIBRARY}
    assert {sid for name, sid in moved if name == "Segment Entered"} == ids
    assert {sid for name, sid in moved if name == "Segment Exited"} == ids
    # a stage timer (lapsed), a window timer leaving (DACH) and one entering (lapsed VIPs)
    assert {"lapsed_90d", "dach-active", "lapsed-vips"} <= by_time, by_time


def _watched(profile: Profile, after: Profile, event: Event, member_of: frozenset[str]) -> set[str]:
    change = index.Change(profile, after, event.timestamp, {})
    new = [(str(event.event), event.properties)] if event.type == "track" else []
    found = membership.index_of(LIBRARY)
    return {LIBRARY[i].id for i in found.moving(member_of, change, new)}


def _view(at: dt.datetime, category: str) -> Event:
    return Event(source="test", message_id=f"v{at}", type="track", event="Product Viewed",
                 timestamp=at, received_at=at, profile_id="p1",
                 properties={"category": category, "price": 49.0})  # fmt: skip


def test_an_event_moves_only_the_segments_whose_answer_it_can_change() -> None:
    at = START + dt.timedelta(days=3)
    paris = Profile(profile_id="p1", traits={"city": "Paris", "country": "FR"},
                    first_seen=START, last_seen=START)  # fmt: skip
    after = msgspec.structs.replace(paris, last_seen=at)
    # a view of coffee in Paris: no filter matches, no answer a fact decides can move
    assert _watched(paris, after, _view(at, CATEGORIES[2]), frozenset()) == set()
    # of running shoes: only the segment that counts them
    assert _watched(paris, after, _view(at, CATEGORIES[0]), frozenset()) == {
        "running-shoes-browsers"
    }
    # in Berlin with a cart, "high intent" counts every view (without a cart, nor in
    # decision, it cannot hold); in Vienna, "active in DACH" reads the time of the visit,
    # whose window now ends later
    cart = Cart(items={"P1": CartItem(product_id="P1", quantity=1, price=9.0)})
    berlin = msgspec.structs.replace(paris, traits={"city": "Berlin", "country": "FR"})
    seen = msgspec.structs.replace(berlin, last_seen=at)
    assert _watched(berlin, seen, _view(at, CATEGORIES[2]), frozenset()) == set()
    berlin, seen = (msgspec.structs.replace(p, cart=cart) for p in (berlin, seen))
    assert _watched(berlin, seen, _view(at, CATEGORIES[2]), frozenset()) == {"high-intent-berlin"}
    vienna = msgspec.structs.replace(paris, traits={"city": "Vienna", "country": "AT"})
    seen = msgspec.structs.replace(vienna, last_seen=at)
    assert _watched(vienna, seen, _view(at, CATEGORIES[2]), frozenset({"dach-active"})) == {
        "dach-active"
    }
    # a new trait moves only the leaves that read it, and only when their answer moves
    student = msgspec.structs.replace(after, traits={**paris.traits, "student": True})
    assert _watched(after, student, _view(at, CATEGORIES[2]), frozenset()) == set()
    granted = Event(source="test", message_id="i", type="identify", timestamp=at,
                    received_at=at, profile_id="p1",
                    traits={"consent": {"email": {"marketing": True}}})  # fmt: skip
    reachable = reducer.reduce(student, granted)
    assert _watched(student, reachable, granted, frozenset()) == {"students-reachable-by-email"}


def test_a_guard_remembered_false_holds_only_for_the_version_of_the_profile_it_saw() -> None:
    """The index remembers that "active in DACH" cannot take a shopper in Paris; a view
    does not read the country again, but another version of the profile (an import or a
    merge moved it to Vienna, not the event) is tested again."""
    found = membership.index_of(LIBRARY)
    paris = Profile(profile_id="p1", traits={"city": "Paris", "country": "FR"},
                    first_seen=START, last_seen=START)  # fmt: skip

    def moved(before: Profile, at: dt.datetime) -> set[str]:
        after = msgspec.structs.replace(before, last_seen=at)
        change = index.Change(before, after, at, {}, found.fields)
        new = [("Product Viewed", _view(at, CATEGORIES[2]).properties)]
        return {LIBRARY[i].id for i in found.moving(frozenset(), change, new)}

    at = START + dt.timedelta(hours=1)
    assert moved(paris, at) == set()
    (remembered, ruled) = found.ruled["p1"]
    assert ruled and remembered.last_seen == at  # DACH and Berlin ruled out of Paris
    assert moved(remembered, at + dt.timedelta(hours=1)) == set()
    vienna = msgspec.structs.replace(
        found.ruled["p1"][0], traits={"city": "Vienna", "country": "AT"}
    )
    assert moved(vienna, at + dt.timedelta(hours=2)) == {"dach-active"}


def test_a_profile_no_segment_can_take_evaluates_nothing_at_all() -> None:
    walker = Walker(indexed=True)
    first = Event(source="test", message_id="m0", type="track", event="Page Viewed",
                  timestamp=START, received_at=START, user_id="u1")  # fmt: skip
    walker.step(first)
    profile = walker.profile
    later = START + dt.timedelta(minutes=5)
    page = msgspec.structs.replace(first, message_id="m1", timestamp=later, received_at=later,
                                   profile_id=profile.profile_id)  # fmt: skip
    after = msgspec.structs.replace(profile, last_seen=later)
    ctx = walker._context()
    assert membership.on_event(ctx, profile, after, (), new=(page,), cause=page) is None
    full = msgspec.structs.replace(ctx, active_since=None)
    assert membership.on_event(full, profile, after, (), new=(page,), cause=page) is not None


@pytest.mark.parametrize("seed", range(10))
def test_leaves_matched_incrementally_are_those_matched_at_once(seed: int) -> None:
    """Events in any time order, appended a few at a time, some only passed as new."""
    rng = random.Random(seed)
    names = ("Product Viewed", "Product Added", "Coupon Applied", "Order Completed", "Signed In")
    memo, stored = HitMemo(LIBRARY), list[seg.BehaviourEvent]()
    for i in range(80):
        at = START + dt.timedelta(hours=rng.randrange(24 * 40))
        props = {"category": rng.choice(CATEGORIES), "price": 49.0} if i % 3 else {}
        new = [seg.BehaviourEvent(rng.choice(names), at, props)]
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
        at += _gap(rng)
        walker.step(_event(rng, at, i))
        later = at + dt.timedelta(days=rng.randrange(0, 120))
        facts = seg.facts_of(walker.profile, later)
        assert {k: seg.fact_of(walker.profile, k, later) for k in facts} == facts


@pytest.mark.parametrize(
    "fields", [(), ("traits",), ("cart",), ("traits", "cart", "orders"), ["cart", "traits"]]
)
def test_a_change_names_the_fields_the_event_replaced(fields: Any) -> None:
    """``Change.moved``: those of ``fields`` that are other objects after the event."""
    before = Profile(profile_id="p1", traits={"city": "Berlin"})
    after = msgspec.structs.replace(before, cart=Cart(items={"x": CartItem(product_id="x")}))
    change = index.Change(before, after, START, {}, fields)
    assert change.moved == {"cart"}.intersection(fields)
    assert index.Change(before, before, START, {}, fields).moved == frozenset()
