"""The touchpoints answered from the shoppers' own records and visits, from plain records:
the wish list, gifts, the cart reminder, strong interest, presence, store events, and where
associates need training."""

from __future__ import annotations

import dataclasses
import datetime as dt

import msgspec

from juncture.core import engagement, offers, retail, training
from juncture.core import touchpoints as tp

NOW = dt.datetime(2026, 12, 2, 10, tzinfo=dt.UTC)  # a Wednesday
KETTLE = retail.Product(
    "k1", "Kettle", brand="Acme", category="Home > Kitchen > Kettles", price=40.0,
    currency="EUR", related=(retail.Related("m1", "accessory"), retail.Related("x1")),
)  # fmt: skip
MUG = retail.Product("m1", "Mug", brand="Acme", category="Home > Kitchen > Mugs", price=5.0)
PAN = retail.Product("x1", "Pan", category="Home > Kitchen > Pans", price=20.0,
                     availability="out_of_stock")  # fmt: skip
TOASTER = retail.Product("t1", "Toaster", category="Home > Kitchen > Toasters", price=25.0)
PRODUCTS = {p.id: p for p in (KETTLE, MUG, PAN, TOASTER)}
BERLIN = retail.Location("berlin", "Berlin", latitude=52.52, longitude=13.405)
MUNICH = retail.Location("munich", "Munich", latitude=48.137, longitude=11.575)
PLACES = {"berlin": BERLIN, "munich": MUNICH}
STOCK = {"k1": [retail.Stock("k1", "berlin", 2), retail.Stock("k1", "munich", 9)]}


def wish(pid: str, price: float | None = None, owner: str = "user_id:u1") -> engagement.Wish:
    return engagement.Wish(owner, pid, NOW - dt.timedelta(days=3), price)


def test_the_wish_list_blends_price_stock_nearby_and_what_completes_it() -> None:
    facts = tp.Facts(products=PRODUCTS | {"k1": msgspec.structs.replace(KETTLE, price=30.0)},
                     stock=STOCK, locations=PLACES, wishes=[wish("k1", 40.0)])  # fmt: skip
    near_munich = tp.Ask("wishlist", point=(48.1, 11.6))
    found = tp.answer(near_munich, (), facts, NOW)
    assert isinstance(found, tp.Shown)
    (item,) = found.data["items"]
    assert (item["priceThen"], item["priceNow"], item["cheaper"]) == (40.0, 30.0, True)
    assert item["nearby"]["store"]["storeCode"] == "munich"  # the nearest that has it
    assert [s["id"] for s in found.data["suggestions"]] == ["m1"]  # the pan is sold out
    in_cart = [tp.Interest("m1", 5.0, in_cart=True)]
    found = tp.answer(near_munich, in_cart, facts, NOW)
    assert isinstance(found, tp.Shown) and found.data["suggestions"] == []
    assert tp.answer(tp.Ask("wishlist"), (), tp.Facts(), NOW) == "empty_wish_list"


def test_gifts_keep_the_budget_and_category_and_put_a_shared_wish_list_first() -> None:
    facts = tp.Facts(products=PRODUCTS, candidates=list(PRODUCTS.values()))
    ask = tp.Ask("gift", category="Home > Kitchen", budget=30.0)
    found = tp.answer(ask, (), facts, NOW)
    assert isinstance(found, tp.Shown) and found.reason == "gift_ideas"
    assert [g["id"] for g in found.data["gifts"]] == ["t1", "m1"]  # dearest first, in stock
    shared = tp.Facts(products=PRODUCTS, candidates=list(PRODUCTS.values()),
                      shared_wishes=[wish("m1")])  # fmt: skip
    found = tp.answer(tp.Ask("gift", budget=30.0, recipient="u1"), (), shared, NOW)
    assert isinstance(found, tp.Shown) and found.reason == "from_wish_list"
    first = found.data["gifts"][0]
    assert (first["id"], first["fromWishList"]) == ("m1", True)
    assert tp.answer(tp.Ask("gift", budget=1.0), (), facts, NOW) == "no_gift_found"


def test_the_cart_reminder_is_news_again_when_a_price_changes() -> None:
    cart = [tp.Interest("k1", 40.0, in_cart=True, quantity=2)]
    facts = tp.Facts(products=PRODUCTS, cart_link="/v1/carts/restore/x")
    first = tp.answer(tp.Ask("cart_reminder"), cart, facts, NOW)
    assert isinstance(first, tp.Shown) and first.data["total"] == 80.0
    cheaper = tp.Facts(products=PRODUCTS | {"k1": msgspec.structs.replace(KETTLE, price=35.0)})
    second = tp.answer(tp.Ask("cart_reminder"), cart, cheaper, NOW)
    assert isinstance(second, tp.Shown) and second.once != first.once
    assert tp.answer(tp.Ask("cart_reminder"), (), facts, NOW) == "empty_cart"


def test_strong_interest_prefers_an_offer_aimed_at_it() -> None:
    viewed = [tp.Interest("k1", 40.0, NOW, views=3)]
    kettles = offers.Targeting(categories=("Home > Kitchen > Kettles",))
    aimed = offers.Promotion("p1", "Kettles", offers.Discount(percent_off=10), kettles)
    everything = offers.Promotion("p0", "All", offers.Discount(percent_off=5))
    facts = tp.Facts(products=PRODUCTS, promotions=[everything, aimed], candidates=[MUG])
    found = tp.answer(tp.Ask("clickstream"), viewed, facts, NOW)
    assert isinstance(found, tp.Shown) and found.data["offer"]["id"] == "p1"
    by_brand = tp.Facts(products=PRODUCTS, candidates=[PAN, MUG], affinity={"brand:Acme": 4.0})
    found = tp.answer(tp.Ask("clickstream"), [tp.Interest("k1", views=1)], by_brand, NOW)
    assert isinstance(found, tp.Shown) and found.data["product"]["id"] == "m1"
    weak = tp.Facts(affinity={"brand:Acme": 2.0})
    assert tp.answer(tp.Ask("clickstream"), [], weak, NOW) == "no_strong_interest"


def test_presence_needs_the_opt_in_and_a_store_nearby() -> None:
    coupon = offers.Coupon("c1", "5% here", "Mall", "mall", offers.Discount(percent_off=5),
                           offers.Targeting(store_codes=("berlin",)))  # fmt: skip
    facts = tp.Facts(locations=PLACES, coupons=[coupon], location_opt_in=True)
    assert tp.answer(tp.Ask("presence", store_code="berlin"), (), tp.Facts(), NOW) == (
        "no_location_opt_in"
    )
    found = tp.answer(tp.Ask("presence", point=(52.5201, 13.4051)), (), facts, NOW)
    assert isinstance(found, tp.Shown) and found.data["coupon"]["id"] == "c1"
    assert tp.answer(tp.Ask("presence", point=(52.6, 13.4)), (), facts, NOW) == "not_in_store"


def test_a_store_event_missed_is_followed_up_as_missed() -> None:
    e = engagement.StoreEvent("e1", "Tasting", NOW - dt.timedelta(days=1), store_code="berlin",
                              product_ids=("k1",))  # fmt: skip
    mine = [engagement.Registration("e1", "u1", NOW - dt.timedelta(days=5))]
    facts = tp.Facts(products=PRODUCTS, events=[e], registrations=mine)
    found = tp.answer(tp.Ask("event", user_id="u1"), (), facts, NOW)
    assert isinstance(found, tp.Shown) and found.reason == "event_missed"
    later = tp.Facts(products=PRODUCTS, events=[e], registrations=[])
    assert tp.answer(tp.Ask("event"), [tp.Interest("k1")], later, NOW) == "no_event"  # over


def test_training_is_needed_where_demand_meets_no_one_who_knows_the_line() -> None:
    rows = [("Product Viewed", "k1", "berlin")] * 4 + [("Question Asked", "k1", "berlin")] * 2
    lines = training.demand(rows, PRODUCTS, [TOASTER], ["berlin", "munich"])
    garden = offers.Associate("a1", "Bo", "berlin", ("Garden",))
    found = training.report(lines, PRODUCTS, [garden], NOW)
    berlin = next(x for x in found if x["storeCode"] == "berlin")
    assert (berlin["demand"], berlin["trainingNeeded"]) == (4 + 10 + 10, True)
    kitchen = offers.Associate("a2", "Cy", "berlin", ("Home > Kitchen",))
    found = training.report(lines, PRODUCTS, [garden, kitchen], NOW)
    assert next(x for x in found if x["storeCode"] == "berlin")["trainingNeeded"] is False
    munich = next(x for x in found if x["storeCode"] == "munich")  # the launch counts there
    assert (munich["launches"], munich["trainingNeeded"]) == (1, True)


def test_an_associates_free_slots_leave_out_the_booked_and_the_past() -> None:
    day = NOW.date()
    booked = [dt.datetime.combine(day, dt.time(11), dt.UTC)]
    free = engagement.free_slots(("09:00", "12:00"), day, booked, NOW)
    assert [s.strftime("%H:%M") for s in free] == ["10:30", "11:30"]


def test_presence_reads_the_day_and_the_associates_hours_on_the_stores_clock() -> None:
    tokyo = dataclasses.replace(BERLIN, store_code="tokyo", time_zone="Asia/Tokyo")
    ann = offers.Associate("a1", "Ann", "tokyo", ("Home > Kitchen",),
                           schedule={"thursday": ("10:00", "18:00")})  # fmt: skip
    facts = tp.Facts(products=PRODUCTS, locations={"tokyo": tokyo}, associates=[ann],
                     location_opt_in=True)  # fmt: skip
    ask = tp.Ask("presence", store_code="tokyo")
    interest = [tp.Interest("k1")]
    late_wednesday_utc = dt.datetime(2026, 12, 2, 23, 0, tzinfo=dt.UTC)  # Thursday in Tokyo
    found = tp.answer(ask, interest, facts, late_wednesday_utc)
    assert isinstance(found, tp.Shown) and found.data["associate"]["today"] == "10:00-18:00"
    assert tp.answer(ask, interest, facts, NOW) == "nothing_here"  # Wednesday there too
