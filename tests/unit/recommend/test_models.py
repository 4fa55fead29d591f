"""The kinds' models from plain interactions: decay, trend, baskets, fold-in, filters."""

from __future__ import annotations

import datetime as dt

import pytest

from juncture.recommend import base, filters
from juncture.recommend.answer import answer
from juncture.recommend.base import Ask, Pick
from juncture.recommend.collaborative import PeopleLikeYou
from juncture.recommend.evaluate import evaluate, split
from juncture.recommend.interactions import Interaction, Item
from juncture.recommend.models import train
from juncture.recommend.popularity import LONG, Popularity
from juncture.recommend.together import Together

DAY = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def test_a_score_halves_every_half_life() -> None:
    pop = Popularity()
    pop.learn(Interaction("u", "a", "order", DAY))  # weight 5
    for n in range(4):
        assert pop.best(DAY + n * LONG, 1)[0][1] == pytest.approx(5 / 2**n)


def test_the_anchor_moves_before_a_float_overflows() -> None:
    pop = Popularity()
    pop.learn(Interaction("u", "old", "view", DAY))
    later = DAY + 600 * LONG  # 2**600 would overflow nothing yet, 2**1100 would
    pop.learn(Interaction("u", "new", "view", later))
    pop.learn(Interaction("u", "new", "view", DAY + 1100 * LONG))
    assert [i for i, _ in pop.best(DAY + 1100 * LONG, 2)] == ["new"]


def test_trending_is_growth_against_the_items_own_baseline() -> None:
    pop = Popularity()
    for day in range(28):  # a steady seller: 10 views a day
        for _ in range(10):
            pop.learn(Interaction("u", "steady", "view", DAY + dt.timedelta(days=day)))
    for day in range(26, 28):  # a small product, 1 then 4 a day lately
        for _ in range(1 if day == 26 else 4):
            pop.learn(Interaction("u", "rising", "view", DAY + dt.timedelta(days=day)))
    now = DAY + dt.timedelta(days=28)
    assert [i for i, _ in pop.best(now, 1)] == ["steady"]
    assert [i for i, _ in pop.trending(now, 2)] == ["rising"]


def test_scopes_by_category_level_and_store() -> None:
    pop = Popularity()
    pop.learn(Interaction("u", "a", "view", DAY, store="nyc", category="Sports > Running"))
    pop.learn(Interaction("u", "b", "view", DAY, category="Home"))
    assert [i for i, _ in pop.best(DAY, 5, "category:Sports")] == ["a"]
    assert [i for i, _ in pop.best(DAY, 5, "category:Sports > Running")] == ["a"]
    assert [i for i, _ in pop.best(DAY, 5, "store:nyc")] == ["a"]
    assert {i for i, _ in pop.best(DAY, 5)} == {"a", "b"}


def test_baskets_learnt_one_at_a_time_equal_lift_by_hand() -> None:
    t = Together(min_support=1)
    baskets = [["a", "b"], ["a", "b", "c"], ["a", "c"], ["c"], ["d"]]
    for basket in baskets:
        t.learn(basket)
    found = {other: (conf, lift) for other, conf, lift in t.with_item("a")}
    # P(b|a) = 2/3, P(b) = 2/5: lift 5/3; P(c|a) = 2/3, P(c) = 3/5: lift 10/9
    assert found["b"] == pytest.approx((2 / 3, 5 / 3))
    assert found["c"] == pytest.approx((2 / 3, 10 / 9))
    assert [o for o, _, _ in t.with_item("a")] == ["b", "c"]
    assert [(o, why) for o, _, why in t.with_items(["a", "d"])] == [("b", "a"), ("c", "a")]


def two_tribes() -> list[Interaction]:
    log = []
    for n in range(6):
        for item in ("tent", "pegs", "lamp"):
            log.append(Interaction(f"camper{n}", item, "order", DAY, basket=f"c{n}"))
        for item in ("mug", "kettle", "tea"):
            log.append(Interaction(f"cook{n}", item, "order", DAY, basket=f"k{n}"))
    return log


def test_people_like_you_folds_the_latest_history_in() -> None:
    model = PeopleLikeYou(two_tribes())
    assert {p for p, _, _ in model.recommend({"mug": 1.0}, 2)} == {"kettle", "tea"}
    assert {p for p, _, _ in model.recommend({"tent": 1.0}, 2)} == {"pegs", "lamp"}
    assert model.recommend({"unknown": 1.0}, 2) == []  # nothing it can use


def test_filters_stock_price_brand_rules() -> None:
    items = {
        "a": Item("a", brand="X", price=10.0),
        "b": Item("b", brand="X", price=20.0),
        "c": Item("c", brand="Y", price=30.0, sellable=False),
        "d": Item("d", brand="Z", price=40.0),
        "e": Item("e", brand="X", price=50.0),
    }
    picks = [Pick(p, "k", 1.0, "") for p in "abcde"]
    apply = filters.apply
    every = filters.Filters()
    assert [p.product_id for p in apply(picks, items, every, 10)] == ["a", "b", "d", "e"]
    brand = filters.Filters(max_per_brand=1)
    assert [p.product_id for p in apply(picks, items, brand, 10)] == ["a", "d"]
    band = filters.Filters(min_price=15, max_price=45)
    assert [p.product_id for p in apply(picks, items, band, 10)] == ["b", "d"]
    here = filters.Filters(stocked=lambda ids: {"c", "e"})
    assert [p.product_id for p in apply(picks, items, here, 10)] == ["c", "e"]
    ruled = filters.Filters(rules=filters.parse_rules("brand:Z=10,product:a=0"))
    assert [p.product_id for p in apply(picks, items, ruled, 10)] == ["d", "b", "e"]
    with pytest.raises(ValueError, match="rule 2"):
        filters.parse_rules("brand:X=2,colour:red=1")


def test_answers_name_kind_and_reason_and_leave_out_what_is_asked_about() -> None:
    items = {
        "tent": Item("tent", "Trail Tent", category="Outdoor > Tents"),
        "pegs": Item("pegs", "Pegs", category="Outdoor > Pegs"),
    }
    models = train(two_tribes(), items)
    together = answer(models, Ask(base.BOUGHT_TOGETHER, product="tent"), filters.Filters(), DAY)
    assert together[0].reason == "bought with Trail Tent"
    asked = Ask(base.PEOPLE_LIKE_YOU, history={"tent": 1.0}, personal=False)
    assert {p.kind for p in answer(models, asked, filters.Filters(), DAY)} == {base.BEST_SELLERS}


def test_a_temporal_split_trains_on_the_past_only() -> None:
    log = [Interaction("u", str(n), "view", DAY + dt.timedelta(hours=n)) for n in range(10)]
    parts = split(log, 0.2)
    assert max(i.at for i in parts.train) < parts.cut <= min(i.at for i in parts.test)
    assert len(parts.test) == 2
    with pytest.raises(ValueError, match="empty"):
        split([])


def test_people_like_you_beats_popularity_on_two_tribes() -> None:
    log = two_tribes()
    later = DAY + dt.timedelta(days=1)
    # one more camper and cook each, seen once before the cut and again after
    log += [Interaction("camper9", "tent", "view", DAY), Interaction("cook9", "mug", "view", DAY)]
    log += [Interaction("camper9", "pegs", "order", later)]
    log += [Interaction("cook9", "kettle", "order", later)]
    scores = {s.kind: s for s in evaluate(log, {}, kinds=(base.PEOPLE_LIKE_YOU,), test=0.05)}
    assert scores[base.PEOPLE_LIKE_YOU].hit_rate == 1.0
    assert scores[base.PEOPLE_LIKE_YOU].ndcg > scores["popularity"].ndcg


def test_learning_many_at_once_equals_learning_one_by_one() -> None:
    log = [
        Interaction(f"u{n % 7}", f"p{n % 13}", ("view", "cart", "order")[n % 3],
                    DAY + dt.timedelta(hours=n), store="nyc" if n % 2 else None,
                    category=("Sports > Running", "Home", None)[n % 3])
        for n in range(3000)
    ]  # fmt: skip
    one, many = Popularity(), Popularity()
    for i in log:
        one.learn(i)
    many.learn_all(log)
    now = DAY + dt.timedelta(hours=3001)
    assert one.scopes() == many.scopes()
    for scope in one.scopes():
        for read in ("best", "trending"):
            a, b = getattr(one, read)(now, 20, scope), getattr(many, read)(now, 20, scope)
            assert [i for i, _ in a] == [i for i, _ in b], (scope, read)
            assert [s for _, s in a] == pytest.approx([s for _, s in b], rel=1e-9)


def test_a_product_first_seen_after_training_is_answered() -> None:
    models = train(two_tribes(), {})
    later = DAY + dt.timedelta(days=1)
    models.learn([Interaction("u", "new", "order", later, category="Garden") for _ in range(9)])
    picks = answer(models, Ask(base.BEST_SELLERS), filters.Filters(), later)
    assert picks[0].product_id == "new"
    assert models.items["new"].category == "Garden"
