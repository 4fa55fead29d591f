"""Segment conditions compiled into closures decide as the definitions say.

- each specialised predicate answers what :func:`conditions.compare` answers, for every
  operator over a pool of values and operands of every kind;
- the facts an evaluation reads are those of all the facts;
- ``timing.changes_at`` (which looks only where a leaf's count can cross a bound) finds the
  moment that evaluating the whole condition at every instant an event enters or leaves a
  window, or a time fact crosses its threshold, finds.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from typing import Any

import msgspec
import pytest

from juncture.core.profile.model import Cart, CartItem, Order, Profile
from juncture.core.segments import conditions as seg
from juncture.core.segments import membership, timing
from juncture.definitions import segments as segment_definitions

START = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)
LIBRARY = tuple(segment_definitions.load(p) for p in segment_definitions.library())
VALUES: tuple[Any, ...] = (
    None, "", "Berlin", "DE", "a", True, False, 0, 1, 2.5, -3, 30, 29.99,
    ["yoga", "DE"], [1, 2], [], {"k": "v"}, ("DE",),
)  # fmt: skip
OPERANDS: tuple[Any, ...] = (
    "Berlin", "DE", "", True, False, 0, 1, 2.5, 30,
    ["DE", "AT"], ["DE", 1], [1, 2.5], [True], [], ("DE", "AT"), [None],
)  # fmt: skip


@pytest.mark.parametrize("op", sorted(seg.OPS))
def test_each_predicate_answers_what_compare_answers(op: str) -> None:
    listed = op in ("in", "not_in")  # the grammar gives these a list
    operands = [o for o in OPERANDS if isinstance(o, list | tuple) or not listed]
    for operand, value in itertools.product(operands, VALUES):
        holds = seg.predicate(op, operand)
        assert holds(value) == seg.compare(value, op, operand), (op, operand, value)


def test_property_filters_compiled_answer_each_filter() -> None:
    where = (
        seg.PropertyIs(("category",), "in", ["Shoes", "Bags"]),
        seg.PropertyIs(("price",), "lt", 30),
        seg.PropertyIs(("brand", "name"), "exists"),
    )
    match = seg.where_test(where)
    alone = [(p, seg.where_test((p,))) for p in where]  # one filter: compiled apart
    rng = random.Random(5)
    for _ in range(300):
        props: dict[str, Any] = {
            "category": rng.choice(["Shoes", "Bags", "Hats", None, 3]),
            "price": rng.choice([10, 29.99, 30, "cheap", None, True]),
        }
        if rng.random() < 0.5:
            props["brand"] = rng.choice([{"name": "X"}, {"name": None}, "X"])
        want = all(seg.compare(seg.lookup(props, p.path), p.op, p.value) for p in where)
        assert match(props) == want, props
        for p, one in alone:
            assert one(props) == seg.compare(seg.lookup(props, p.path), p.op, p.value), props


def _profile(rng: random.Random) -> Profile:
    orders = {
        f"o{i}": Order(START - dt.timedelta(days=rng.randrange(400)), rng.choice([20.0, 900.0]))
        for i in range(rng.choice([0, 1, 3, 8]))
    }
    last = max(orders, key=lambda o: orders[o].at) if orders else None
    traits = {"city": rng.choice(["Berlin", "Vienna"]), "country": rng.choice(["DE", "FR"]),
              "student": rng.random() < 0.5, "clv": {"p_alive": rng.random()}}  # fmt: skip
    return Profile(
        profile_id="p1", traits=traits, orders=orders, last_order_id=last,
        revenue=sum(o.revenue for o in orders.values()),
        first_seen=START - dt.timedelta(days=200),
        last_seen=START - dt.timedelta(days=rng.randrange(120)),
    )  # fmt: skip


@pytest.mark.parametrize("seed", range(5))
def test_the_facts_read_are_those_of_all_the_facts(seed: int) -> None:
    """Only the facts the evaluated segments read are computed; each as among all, and
    every segment decides on them as on all the facts."""
    rng = random.Random(seed)
    for _ in range(20):
        profile, now = _profile(rng), START + dt.timedelta(days=rng.randrange(100))
        chosen = rng.sample(LIBRARY, rng.randrange(1, len(LIBRARY)))
        read = membership.facts_read(chosen, profile, now, {})
        every = seg.facts_of(profile, now)
        assert read == {k: every[k] for k in set().union(*(s.watch.facts for s in chosen))}
        hits: dict[int, list[dt.datetime]] = {id(leaf): [] for s in chosen for leaf in s.leaves}
        for s in chosen:
            assert s.test(read, hits, now) == s.test(every, hits, now), s.id


def _every_moment(segment: seg.Segment, facts: Any, hits: seg.Hits, now: dt.datetime) -> Any:
    """The first instant after ``now`` at which the whole condition differs, searching every
    instant a matching event enters or leaves a window, a time fact crosses a threshold or
    an RFM recency score moves."""
    moments: set[dt.datetime] = set()
    for node in segment.nodes:
        if isinstance(node, seg.Performed | seg.NotPerformedSince):
            moments.update(t for h in hits[id(node)] for t in (h, h + node.within))
        elif isinstance(node, seg.FactIs) and isinstance(facts.get(node.fact), dt.datetime):
            if node.op in ("within", "before"):
                moments.add(facts[node.fact] + node.value)
        elif isinstance(node, seg.RfmIs) and facts.get("last_order_at") is not None:
            tick = dt.timedelta(microseconds=1)
            moments.update(facts["last_order_at"] + dt.timedelta(days=d) + tick
                           for d in segment.config.recency_days)  # fmt: skip
    current = segment.test(facts, hits, now)
    return next((t for t in sorted(moments) if t > now and segment.test(facts, hits, t)
                 != current), None)  # fmt: skip


def _histories(rng: random.Random, now: dt.datetime, days: int) -> list[seg.BehaviourEvent]:
    names = ("Product Viewed", "Product Added", "Order Completed", "Coupon Applied")
    future = rng.random() < 0.2  # now and then an event dated after now
    return [
        seg.BehaviourEvent(
            rng.choice(names[:: 2 if days < 7 else 1]),  # dense: views and orders
            now - dt.timedelta(hours=rng.randrange(-48 if future else 0, 24 * days)),
            {"category": rng.choice(["Women > Shoes > Running", "Home"]), "price": 20.0},
        )
        for _ in range(rng.randrange(12))
    ]


@pytest.mark.parametrize("seed", range(8))
def test_the_next_change_is_the_first_moment_the_condition_differs(seed: int) -> None:
    rng = random.Random(seed)
    at_most = seg.Segment("few", "At most 2 views", seg.All((
        seg.Performed("Product Viewed", dt.timedelta(days=3), at_least=1, at_most=2),
        seg.NotPerformedSince("Order Completed", dt.timedelta(days=1), "last_order_at"),
    )))  # fmt: skip
    for segment in (*LIBRARY, at_most):
        for _ in range(40):
            now = START + dt.timedelta(days=rng.randrange(30))
            profile = _profile(rng)
            facts = seg.facts_of(profile, now)
            days = 4 if segment is at_most else 40  # views close together: counts cross 2
            hits = seg.hits_of(segment, _histories(rng, now, days))
            want = _every_moment(segment, facts, hits, now)
            assert timing.changes_at(segment, facts, (), now, hits=hits) == want, segment.id


@pytest.mark.parametrize("seed", range(5))
def test_a_fact_kept_by_its_fields_is_the_same(seed: int) -> None:
    """The index skips a fact whose fields an event left as they were: changing any other
    field of the profile never changes it."""
    rng = random.Random(seed)
    fields = list(Profile.__struct_fields__)
    kept = 0
    for _ in range(200):
        before, other = _profile(rng), _profile(rng)
        other = msgspec.structs.replace(
            other, cart=Cart(items={"P1": CartItem(product_id="P1", quantity=2, price=9.5)}),
            sessions=((START, START),), last_channel="email", affinity={"category:Shoes": 1.0},
        )  # fmt: skip
        changed = rng.sample(fields, rng.randrange(1, 4))
        after = msgspec.structs.replace(before, **{f: getattr(other, f) for f in changed})
        now = START + dt.timedelta(days=rng.randrange(100))
        for key in seg.facts_of(before, now):
            if seg.fact_kept(before, after, key):
                kept += 1
                assert seg.fact_of(before, key, now) == seg.fact_of(after, key, now), (key, changed)
    assert kept, "no fact was ever kept: the test would prove nothing"
