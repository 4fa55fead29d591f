"""The touchpoints' pure decisions from plain records: news only after the shopper last saw
the product, the largest price drop, the nearest store, a question answered from the spec
sheet, and the app's first answer."""

from __future__ import annotations

import datetime as dt

from juncture.core import retail
from juncture.core import touchpoints as tp

T0 = dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
KETTLE = retail.Product(
    "k1", "Kettle", price=30.0, details=(retail.Detail("Power", "Watts", "2200"),)
)
MUG = retail.Product("m1", "Mug", price=4.0)
PLACES = {
    "berlin": retail.Location("berlin", "Berlin", latitude=52.52, longitude=13.405),
    "munich": retail.Location("munich", "Munich", latitude=48.137, longitude=11.575),
}


def facts(**more: object) -> tp.Facts:
    return tp.Facts(products={"k1": KETTLE, "m1": MUG}, locations=PLACES, **more)  # type: ignore[arg-type]


def test_back_in_stock_is_news_only_after_the_last_view() -> None:
    back = retail.Change("k1", retail.BACK_IN_STOCK, T0)
    seen_before = [tp.Interest("k1", last_at=T0 - HOUR)]
    seen_after = [tp.Interest("k1", last_at=T0 + HOUR)]
    found = tp.answer(tp.Ask("back_in_stock"), seen_before, facts(changes=[back]), T0)
    assert isinstance(found, tp.Shown)
    assert found.once == f"k1:{T0.isoformat()}"
    assert tp.answer(tp.Ask("back_in_stock"), seen_after, facts(changes=[back]), T0) == (
        "nothing_back_in_stock"
    )


def test_the_largest_drop_against_the_price_seen() -> None:
    seen = [tp.Interest("k1", price_seen=40.0), tp.Interest("m1", price_seen=8.0)]
    found = tp.answer(tp.Ask("price_drop"), seen, facts(), T0)
    assert isinstance(found, tp.Shown)
    assert (found.data["product"]["id"], found.data["percentOff"]) == ("m1", 50)
    assert tp.answer(tp.Ask("price_drop"), [tp.Interest("k1", price_seen=30.0)], facts(), T0) == (
        "no_price_drop"
    )


def test_low_stock_in_the_store_nearest_the_shopper() -> None:
    lines = {"k1": [retail.Stock("k1", "berlin", 2), retail.Stock("k1", "munich", 9)]}
    near_munich = tp.Ask("low_stock", point=(48.1, 11.6))
    near_berlin = tp.Ask("low_stock", point=(52.5, 13.4))
    cares = [tp.Interest("k1")]
    assert tp.answer(near_munich, cares, facts(stock=lines), T0) == "no_low_stock"
    found = tp.answer(near_berlin, cares, facts(stock=lines), T0)
    assert isinstance(found, tp.Shown)
    assert (found.data["store"]["storeCode"], found.data["quantity"]) == ("berlin", 2)


def test_a_question_is_answered_from_the_spec_sheet() -> None:
    asked = tp.answer(tp.Ask("specs", product_id="k1", question="How many watts?"), [], facts(), T0)
    assert isinstance(asked, tp.Shown)
    assert (asked.reason, asked.data["answers"][0]["value"]) == ("answered", "2200")
    assert tp.answer(tp.Ask("specs", product_id="m1"), [], facts(), T0) == "no_specs"


def test_the_app_answers_with_the_first_touchpoint_that_has_something() -> None:
    seen = [tp.Interest("k1", price_seen=40.0)]
    found = tp.answer(tp.Ask("app"), seen, facts(), T0)
    assert isinstance(found, tp.Shown)
    assert found.kind == "price_drop"
    assert tp.answer(tp.Ask("app"), [], facts(), T0) == "nothing_to_show"
