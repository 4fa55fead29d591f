from __future__ import annotations

import datetime as dt
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from juncture.core.events import Event
from juncture.core.profile import reducer
from juncture.core.profile.affinity import (
    AFFINITY_DIMENSIONS,
    affinity_at,
    price_band,
    top_affinities,
    top_affinity,
)
from juncture.core.profile.consent import consent_for
from juncture.core.profile.merge import merge_profiles
from juncture.core.profile.model import DEFAULT_CONFIG, Profile, ProfileConfig
from juncture.core.profile.orders import RFM, rfm

T0 = dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)


def ev(
    name: str | None = None,
    at: dt.datetime = T0,
    *,
    type: str = "track",
    mid: str = "m",
    props: dict[str, Any] | None = None,
    traits: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
    source: str = "web",
) -> Event:
    return Event(
        source=source,
        message_id=mid,
        type=type,
        event=name,
        timestamp=at,
        received_at=at,
        anonymous_id="a1",
        properties=props or {},
        traits=traits or {},
        context=context or {},
    )


def run(events: list[Event], config: ProfileConfig = DEFAULT_CONFIG) -> Profile:
    p = Profile(profile_id="p_1")
    for e in events:
        p = reducer.reduce(p, e, config)
    return p


def test_traits_latest_event_time_wins_even_when_late() -> None:
    p = run(
        [
            ev(type="identify", at=T0 + MIN, traits={"plan": "gold", "city": "Oslo"}),
            ev(type="identify", at=T0, traits={"plan": "silver", "age": 40}),
            ev("Page", at=T0 + 2 * MIN, context={"traits": {"city": "Bergen"}}),
        ]
    )
    assert p.traits == {"plan": "gold", "city": "Bergen", "age": 40}
    assert p.trait_at["plan"] == T0 + MIN


def test_traits_restated_as_they_were_keep_the_dict_and_move_their_time() -> None:
    first = run([ev(type="identify", traits={"plan": "gold", "n": 1, "tags": {"a": [1]}})])
    same = ev("Page", at=T0 + MIN, context={"traits": {"plan": "gold", "tags": {"a": [1]}}})
    p = reducer.reduce(first, same)
    assert p.traits is first.traits  # what reads the traits sees nothing changed
    assert p.trait_at == {"plan": T0 + MIN, "n": T0, "tags": T0 + MIN}
    # Equal in Python but not the same JSON: a value of another type or key order replaces.
    for other in ({"n": True}, {"n": 1.0}, {"tags": {"a": [True]}}, {"tags": {"a": [1], "b": 2}}):
        q = reducer.reduce(first, ev("Page", at=T0 + MIN, context={"traits": other}))
        assert q.traits is not first.traits
        assert q.traits == {**first.traits, **other}
        key = next(iter(other))
        assert type(q.traits[key]) is type(other[key])
        assert q.traits[key] is other[key]
    ab = reducer.reduce(first, ev("Page", context={"traits": {"tags": {"a": [1], "b": 2}}}))
    ba = reducer.reduce(
        ab, ev("Page", at=T0 + MIN, context={"traits": {"tags": {"b": 2, "a": [1]}}})
    )
    assert list(ba.traits["tags"]) == ["b", "a"]


def test_consent_shapes_and_latest_wins() -> None:
    p = run(
        [
            ev(type="identify", traits={"consent": {"email": {"marketing": True}, "sms": False}}),
            ev("Consent Updated", T0 + MIN, props={"channel": "push", "granted": True}),
            ev("Consent Updated", T0 + MIN, props={"consent": {"email": {"service": True}}}),
            ev("Unsubscribed", T0 + 2 * MIN),
        ]
    )
    assert consent_for(p, "email", "marketing") is False
    assert consent_for(p, "email", "service") is True
    assert consent_for(p, "sms", "marketing") is False
    assert consent_for(p, "push", "anything") is True
    assert consent_for(p, "whatsapp", "marketing") is None
    assert "consent" not in p.traits


def test_consent_denial_wins_a_tie() -> None:
    grant = ev("Consent Updated", props={"channel": "email", "granted": True})
    deny = ev("Unsubscribed", props={"channel": "email", "purpose": "*"})
    for order in ([grant, deny], [deny, grant]):
        assert consent_for(run(order), "email", "marketing") is False


def test_sessions_split_on_thirty_minutes_and_late_event_bridges() -> None:
    times = [T0, T0 + 10 * MIN, T0 + 50 * MIN]
    p = run([ev("X", t) for t in times])
    assert p.session_count == 2
    p = reducer.reduce(p, ev("X", T0 + 30 * MIN))
    assert p.session_count == 1
    assert p.first_seen == T0
    assert p.last_seen == T0 + 50 * MIN


def test_sessions_beyond_keep_are_archived() -> None:
    config = ProfileConfig(keep_sessions=2)
    p = run([ev("X", T0 + i * 60 * MIN) for i in range(5)], config)
    assert len(p.sessions) == 2
    assert p.session_count == 5


def test_the_first_session_and_the_first_visit_start_their_spans() -> None:
    p = run([ev("Product Viewed", T0, props={"product_id": "s1"})], ProfileConfig(keep_sessions=1))
    assert (p.sessions, p.sessions_archived) == (((T0, T0),), 0)
    assert p.products["s1"].visits == ((T0, T0),)
    p = reducer.reduce(p, ev("X", T0 + 90 * MIN), ProfileConfig(keep_sessions=1))
    assert (p.sessions, p.sessions_archived) == (((T0 + 90 * MIN, T0 + 90 * MIN),), 1)


def test_channels_inferred_and_last_channel() -> None:
    p = run(
        [
            ev("Page", T0, type="page"),
            ev("Screen", T0 + MIN, type="screen"),
            ev("Order Completed", T0 + 2 * MIN, source="pos-berlin"),
            ev("Email Opened", T0 + 3 * MIN),
            ev("X", T0 - MIN, context={"channel": "call_centre", "device": {"id": "d9"}}),
        ]
    )
    assert set(p.channels) == {"web", "app", "store", "email", "call_centre"}
    assert p.last_channel == "email"
    assert p.devices == {"d9": T0 - MIN}
    assert p.last_device == "d9"


def test_product_view_depth() -> None:
    view = {"product_id": "sku1", "category": "Shoes", "price": 80}
    p = run(
        [
            ev("Product Viewed", T0, props={**view, "duration": 20}),
            ev("Product Viewed", T0 + MIN, props={**view, "section": "reviews"}),
            ev("Product Specs Viewed", T0 + 2 * MIN, props={"product_id": "sku1"}),
            ev("Product Viewed", T0 + 3 * 60 * MIN, props={**view, "time_on_product": "15"}),
        ]
    )
    v = p.products["sku1"]
    assert (v.views, v.visit_count, v.seconds) == (3, 2, 35.0)
    assert (v.spec_views, v.review_views) == (1, 1)
    assert p.last_product == "sku1"
    assert v.category == "Shoes"


def test_affinity_decays_by_half_life() -> None:
    half = DEFAULT_CONFIG.affinity_half_life
    p = run(
        [
            ev("Product Viewed", T0, props={"category": "Shoes"}),
            ev("Product Viewed", T0 + half, props={"category": "Hats"}),
        ]
    )
    now = T0 + half
    assert math.isclose(affinity_at(p, "category:Shoes", now), 0.5)
    assert math.isclose(affinity_at(p, "category:Hats", now), 1.0)
    assert top_affinity(p, "category") == "Hats"
    assert affinity_at(p, "category:None", now) == 0.0


def test_affinity_rebases_far_in_time() -> None:
    config = ProfileConfig(affinity_half_life=dt.timedelta(hours=1))
    late = T0 + dt.timedelta(days=30)
    p = run(
        [
            ev("Product Viewed", T0, props={"category": "A"}),
            ev("Product Viewed", late, props={"category": "B"}),
        ],
        config,
    )
    assert p.affinity_ref == late
    assert math.isclose(affinity_at(p, "category:B", late, config), 1.0)


def test_cart_add_remove_snapshot_and_order() -> None:
    item = {"product_id": "a", "price": 10.0, "quantity": 2, "name": "A"}
    p = run(
        [
            ev("Product Added", T0, props=item),
            ev("Product Added", T0 + MIN, props={"product_id": "b", "price": 5}),
            ev("Product Removed", T0 + 2 * MIN, props={"product_id": "a", "quantity": 1}),
        ]
    )
    assert {k: i.quantity for k, i in p.cart.items.items()} == {"a": 1, "b": 1}
    assert p.cart.value == 15.0
    p = reducer.reduce(
        p,
        ev("Checkout Started", T0 + 3 * MIN, props={"products": [{"sku": "c", "price": 7}]}),
    )
    assert list(p.cart.items) == ["c"]
    assert p.cart.checkout_at == T0 + 3 * MIN
    p = reducer.reduce(p, ev("Order Completed", T0 + 4 * MIN, props={"order_id": "o1"}))
    assert p.cart.items == {}
    late = reducer.reduce(p, ev("Product Added", T0 + 3 * MIN, props=item))
    assert late.cart.items == {}


def test_orders_dedupe_revenue_aov_and_rfm() -> None:
    config = DEFAULT_CONFIG
    p = run(
        [
            ev("Order Completed", T0, mid="1", props={"order_id": "o1", "revenue": 100}),
            ev("Order Completed", T0 + MIN, mid="2", props={"order_id": "o1", "revenue": 100}),
            ev("Order Completed", T0 + 2 * MIN, mid="3", props={"total": "50.5"}),
            ev(
                "Order Completed",
                T0 + 3 * MIN,
                mid="4",
                props={"order_id": 7, "products": [{"price": 10, "quantity": 3}]},
            ),
        ]
    )
    assert p.order_count == 3
    assert p.revenue == 180.5
    assert math.isclose(p.aov, 180.5 / 3)
    assert p.last_order_id == "7"
    assert rfm(p, T0 + dt.timedelta(days=1), config) == RFM(5, 3, 3)
    assert rfm(p, T0 + dt.timedelta(days=365), config).recency == 1
    assert rfm(Profile(profile_id="x"), T0) == RFM(1, 1, 1)


def test_earlier_report_of_an_order_wins() -> None:
    early = ev("Order Completed", T0, mid="1", props={"order_id": "o", "revenue": 10})
    late = ev("Order Completed", T0 + MIN, mid="2", props={"order_id": "o", "revenue": 99})
    assert run([late, early]).revenue == run([early, late]).revenue == 10


def test_feedback_tickets_and_reviews() -> None:
    p = run(
        [
            ev("NPS Submitted", T0 + MIN, props={"score": 9}),
            ev("Survey Answered", T0, props={"survey": "NPS", "score": 3}),
            ev("Survey Answered", T0, props={"survey": "csat", "score": 4, "survey_id": "s"}),
            ev("Ticket Created"),
            ev("Product Reviewed", props={"rating": 4}),
            ev("Product Reviewed", props={"rating": 2}),
        ]
    )
    assert p.nps is not None
    assert p.nps.score == 9
    assert p.csat is not None
    assert (p.csat.score, p.csat.survey) == (4, "s")
    assert (p.support_tickets, p.reviews, p.mean_rating) == (1, 2, 3.0)


def test_derived_events_do_not_change_the_profile() -> None:
    p = Profile(profile_id="x")
    assert reducer.reduce(p, ev("Cart Abandoned", source="juncture")) is p


def test_json_round_trip() -> None:
    p = run(
        [
            ev("Product Added", props={"product_id": "a", "price": 3, "category": "C"}),
            ev("Order Completed", T0 + MIN, props={"order_id": "o"}),
            ev(type="identify", traits={"consent": {"email": {"m": True}}, "n": [1, 2]}),
        ]
    )
    assert Profile.from_json(p.to_json()) == p


def test_price_band() -> None:
    assert price_band(10) == "0-25"
    assert price_band(25) == "25-100"
    assert price_band(499.99) == "100-500"
    assert price_band(500) == "500+"
    assert price_band(None) is None


def test_price_band_names_follow_each_config() -> None:
    # Band names are built once per set of limits: another config must get its own.
    assert price_band(60.0) == "25-100"
    assert price_band(60.0, ProfileConfig(price_bands=(10.0, 50.5))) == "50.5+"
    assert price_band(20.0, ProfileConfig(price_bands=(10.0, 50.5))) == "10-50.5"
    assert price_band(3.0, ProfileConfig(price_bands=())) == "0+"
    assert price_band(60.0) == "25-100"


def test_top_affinities_agree_with_top_affinity() -> None:
    scores = {"category:A": 2.0, "category:B": 3.0, "brand:X": 1.0, "brand:Y": 1.0, "other": 9.0}
    p = Profile(profile_id="p_1", affinity=scores)
    tops = top_affinities(p)
    assert tops == {"category": "B", "brand": "Y", "price": None}  # a tie: the last key
    assert tops == {d: top_affinity(p, d) for d in AFFINITY_DIMENSIONS}


@given(
    st.dictionaries(
        st.sampled_from(["category", "brand", "price", "categoryx", ""]).flatmap(
            lambda d: st.sampled_from([f"{d}:a", f"{d}:b", f"{d}:c:d", d])
        ),
        st.sampled_from([0.5, 1.0, 2.0]),
    )
)
def test_top_affinities_match_each_dimension(scores: dict[str, float]) -> None:
    p = Profile(profile_id="p_1", affinity=scores)
    expected = {}
    for d in AFFINITY_DIMENSIONS:  # the plain definition: the highest (score, key)
        mine = [(s, k) for k, s in scores.items() if k.startswith(d + ":")]
        expected[d] = max(mine)[1][len(d) + 1 :] if mine else None
        assert top_affinity(p, d) == expected[d]
    assert top_affinities(p) == expected


# -- property tests ---------------------------------------------------------------------

PRODUCTS = ["p1", "p2", "p3"]
CATEGORIES = ["Shoes", "Hats", "Bags"]


@st.composite
def events(draw: st.DrawFn, max_size: int = 25) -> list[Event]:
    offsets = draw(
        st.lists(st.integers(0, 60 * 24 * 20), min_size=1, max_size=max_size, unique=True)
    )
    out = []
    for i, minutes in enumerate(sorted(offsets)):
        at = T0 + minutes * MIN
        kind = draw(st.integers(0, 9))
        pid = draw(st.sampled_from(PRODUCTS))
        cat = draw(st.sampled_from(CATEGORIES))
        mid = f"m{i}"
        product = {"product_id": pid, "category": cat, "price": 20 + 40 * PRODUCTS.index(pid)}
        contexts: list[dict[str, Any]] = [{}, {"page": {}}, {"app": {}, "device": {"id": "d1"}}]
        ctx = draw(st.sampled_from(contexts))
        if kind == 0:
            trait = draw(st.sampled_from(["plan", "city", "name"]))
            granted = draw(st.booleans())
            traits = {trait: draw(st.integers(0, 3)), "consent": {"email": {"mkt": granted}}}
            out.append(ev(type="identify", at=at, mid=mid, traits=traits, context=ctx))
        elif kind in (1, 2):
            props = {**product, "duration": draw(st.integers(0, 30))}
            out.append(ev("Product Viewed", at, mid=mid, props=props, context=ctx))
        elif kind == 3:
            out.append(ev("Product Clicked", at, mid=mid, props=product, context=ctx))
        elif kind == 4:
            out.append(ev("Product Added", at, mid=mid, props=product, context=ctx))
        elif kind == 5:
            props = {"order_id": mid, "revenue": draw(st.integers(1, 500)), "products": [product]}
            out.append(ev("Order Completed", at, mid=mid, props=props))
        elif kind == 6:
            out.append(ev("Unsubscribed", at, mid=mid, props={"purpose": "mkt"}))
        elif kind == 7:
            out.append(ev("NPS Submitted", at, mid=mid, props={"score": draw(st.integers(0, 10))}))
        elif kind == 8:
            out.append(
                ev("Product Reviewed", at, mid=mid, props={"rating": draw(st.integers(1, 5))})
            )
        else:
            out.append(ev("Page", at, mid=mid, type="page", context=ctx))
    return out


CONFIG = ProfileConfig(keep_sessions=10_000, keep_visits=10_000)
LATER = T0 + dt.timedelta(days=40)


def projection(p: Profile) -> dict[str, Any]:
    """Everything that must not depend on the order events arrive in."""
    products = {
        k: (v.views, v.visit_count, v.seconds, v.last_at, v.category, v.price)
        for k, v in p.products.items()
    }
    return {
        "seen": (p.first_seen, p.last_seen),
        "counts": p.event_counts,
        "traits": (p.traits, p.trait_at),
        "consent": p.consent,
        "sessions": p.sessions,
        "channels": (p.channels, p.last_channel, p.devices, p.last_device),
        "products": (products, p.last_product),
        "orders": (p.orders, p.last_order_id, round(p.revenue, 6)),
        "feedback": (p.nps, p.csat, p.support_tickets, p.reviews, p.rating_sum),
    }


def assert_same_affinity(a: Profile, b: Profile) -> None:
    assert set(a.affinity) == set(b.affinity)
    for key in a.affinity:
        x = affinity_at(a, key, LATER, CONFIG)
        y = affinity_at(b, key, LATER, CONFIG)
        assert math.isclose(x, y, rel_tol=1e-9), key


@settings(max_examples=150, deadline=None)
@given(evs=events(), data=st.data())
def test_order_of_arrival_does_not_change_the_profile(
    evs: list[Event], data: st.DataObject
) -> None:
    in_order = run(evs, CONFIG)
    shuffled = data.draw(st.permutations(evs))
    other = run(shuffled, CONFIG)
    assert projection(other) == projection(in_order)
    assert_same_affinity(other, in_order)
    replayed = run(sorted(shuffled, key=lambda e: e.timestamp), CONFIG)
    assert replayed.cart == in_order.cart


@settings(max_examples=150, deadline=None)
@given(evs=events(), data=st.data())
def test_merge_loses_nothing_and_counts_nothing_twice(
    evs: list[Event], data: st.DataObject
) -> None:
    side = data.draw(st.lists(st.booleans(), min_size=len(evs), max_size=len(evs)))
    a = run([e for e, s in zip(evs, side, strict=True) if s], CONFIG)
    b = run([e for e, s in zip(evs, side, strict=True) if not s], CONFIG)
    merged = merge_profiles(a, b, CONFIG)
    whole = run(evs, CONFIG)
    assert merged.profile_id == a.profile_id
    assert projection(merged) == projection(whole)
    assert_same_affinity(merged, whole)
