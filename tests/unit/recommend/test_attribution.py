"""What recommendations led to: a click converts only by its own shopper's first order of
the product within the window, and the figures take time in proportion to the events, not
to clicks times orders (the Catalogue page and the recommendations' report read every
click and order of the store)."""

from __future__ import annotations

import datetime as dt
import time

from juncture.recommend import attribution

AT = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


def _click(shopper: str, rid: str, at: dt.datetime = AT) -> attribution.Seen:
    return (shopper, "Product Clicked", at, {"recommendation_id": rid, "product_id": "a"})


def _order(shopper: str, at: dt.datetime, price: float) -> attribution.Seen:
    return (shopper, "Order Completed", at, {"products": [{"product_id": "a", "price": price}]})


def test_a_click_converts_by_its_own_shoppers_first_order_in_the_window() -> None:
    seen = [
        _click("u", "rec_similar_1"),
        _order("u", AT + 2 * HOUR, 30.0),  # told first, placed after the next one
        _order("u", AT + HOUR, 20.0),
        _click("v", "rec_similar_2"),
        _order("w", AT + HOUR, 50.0),  # someone else's order of the same product
        _order("v", AT + attribution.WINDOW + HOUR, 40.0),  # too late
    ]
    figures = attribution.report(seen)["similar"]
    assert (figures["clicks"], figures["conversions"], figures["revenue"]) == (2, 1, 20.0)


def test_many_shoppers_take_time_in_proportion() -> None:
    shoppers = 20_000  # every click against every order: 2 x 10^8 steps, a minute or more
    seen = [
        event
        for n in range(shoppers)
        for event in (_click(f"u{n}", f"rec_similar_{n}"), _order(f"u{n}", AT + HOUR, 2.0))
    ]
    started = time.perf_counter()
    figures = attribution.report(seen)["similar"]
    took = time.perf_counter() - started
    assert (figures["clicks"], figures["conversions"]) == (shoppers, shoppers)
    assert took < 5.0, f"{took:.1f} s for {shoppers:,} shoppers"  # 0.2 s on a busy machine
