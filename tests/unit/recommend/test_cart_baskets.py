"""Carts as baskets for purchased-together: weighted below orders, grown one add at a time
as events arrive between trainings, closed by an order or a long pause, and the same
whether learnt at training or incrementally."""

from __future__ import annotations

import datetime as dt

import pytest

from juncture.recommend.interactions import Interaction, Item, from_track
from juncture.recommend.models import train
from juncture.recommend.together import CART_WEIGHT

DAY = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
ITEMS = {k: Item(k) for k in ("tent", "pegs", "lamp", "mug", "cup")}


def cart(user: str, item: str, hours: float = 0, cart_id: str | None = None) -> Interaction:
    return Interaction(user, item, "cart", DAY + dt.timedelta(hours=hours), cart_id)


def order(user: str, basket: str, *items: str, hours: float = 0) -> list[Interaction]:
    at = DAY + dt.timedelta(hours=hours)
    return [Interaction(user, i, "order", at, basket) for i in items]


def test_carts_count_as_baskets_weighted_below_orders() -> None:
    log = [cart(f"u{n}", item, n) for n in range(4) for item in ("tent", "pegs")]
    log += [cart("u9", "mug", 9), cart("u9", "cup", 9)]
    models = train(log, ITEMS)
    assert models.together.pairs["tent"]["pegs"] == pytest.approx(4 * CART_WEIGHT)
    assert [p for p, _, _ in models.together.with_item("tent")] == ["pegs"]
    only_two = train(log[:4] + log[-2:], ITEMS)  # two carts: support 1, under two orders
    assert only_two.together.with_item("tent") == []


def test_a_cart_add_between_trainings_changes_the_answer_at_once() -> None:
    models = train([cart("u1", "tent"), cart("u1", "pegs"), cart("u9", "mug")], ITEMS)
    assert models.together.with_item("tent") == []
    for n in (2, 3, 4):
        models.learn([cart(f"u{n}", "tent", 1), cart(f"u{n}", "pegs", 1)])
    assert [p for p, _, _ in models.together.with_item("tent")] == ["pegs"]
    assert models.together.baskets == pytest.approx(5 * CART_WEIGHT)


def test_an_order_or_a_long_pause_closes_the_cart() -> None:
    log = [cart("u1", "tent"), *order("u1", "o1", "tent", hours=1), cart("u1", "pegs", 2)]
    log += [cart("u2", "tent"), cart("u2", "pegs", 24 * 4)]  # four days apart
    models = train(log, ITEMS)
    assert "pegs" not in models.together.pairs.get("tent", {})
    log = [cart("u3", "tent", cart_id="c1"), cart("u3", "pegs", 1, cart_id="c2")]
    assert "pegs" not in train(log, ITEMS).together.pairs.get("tent", {})


def test_a_cart_add_carries_its_cart_id() -> None:
    props = {"product_id": "tent", "cart_id": "c7"}
    (i,) = from_track("u1", "Product Added", props, DAY)
    assert (i.action, i.basket) == ("cart", "c7")
