"""Loyalty standing, offers that apply to a cart, the best coupon and review summaries,
from plain records."""

from __future__ import annotations

import datetime as dt

from juncture.core import offers
from juncture.core.offers import Account, Coupon, Discount, Line, Targeting, Tier

T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
TIERS = (
    Tier("gold", "Gold", 1000, ("free delivery",)),
    Tier("silver", "Silver", 0),
    Tier("plat", "Platinum", 5000),
)
CART = [
    Line("k1", 40.0, 1, brand="Acme", category="Home > Kitchen > Kettles"),
    Line("m1", 5.0, 2, brand="Other", category="Home > Kitchen > Mugs"),
]


def test_standing_counts_lifetime_points_and_keeps_a_stated_higher_tier() -> None:
    member = offers.progress(Account("c1", points=300, lifetime=1200), TIERS)
    assert (member.tier and member.tier.tier, member.next and member.next.tier, member.to_next) == (
        "gold",
        "plat",
        3800,
    )
    granted = offers.progress(Account("c2", points=10, tier="plat"), TIERS)
    assert (granted.tier and granted.tier.tier, granted.next, granted.to_next) == (
        "plat",
        None,
        None,
    )
    newcomer = offers.progress(Account("c3"), TIERS)
    assert (newcomer.tier and newcomer.tier.tier, newcomer.to_next) == ("silver", 1000)


def test_a_saving_needs_the_targeted_lines_to_reach_the_minimum_in_an_allowed_store() -> None:
    acme = Targeting(brands=("acme",))
    assert offers.saving(Discount(percent_off=10), acme, CART) == 4.0
    assert offers.saving(Discount(money_off=5, minimum=50), acme, CART) == 0.0
    assert offers.saving(Discount(money_off=5, minimum=50), Targeting(), CART) == 5.0
    kitchen = Targeting(categories=("Home > Kitchen",), store_codes=("berlin",))
    assert offers.saving(Discount(percent_off=50), kitchen, CART, "berlin") == 25.0
    assert offers.saving(Discount(percent_off=50), kitchen, CART, "munich") == 0.0
    assert offers.saving(Discount(money_off=500), Targeting(product_ids=("m1",)), CART) == 10.0


def test_the_best_coupon_is_active_under_its_limit_and_saves_most() -> None:
    mall = Coupon("mall5", "5 off", "Mall", "mall", Discount(money_off=5))
    acme = Coupon(
        "acme20",
        "20% Acme",
        "Acme",
        "supplier",
        Discount(percent_off=20),
        Targeting(brands=("Acme",)),
        limit=1,
    )
    late = Coupon(
        "late", "50%", "Us", "retailer", Discount(percent_off=50), starts=T0 + dt.timedelta(days=1)
    )
    assert offers.best_coupon([mall, acme, late], {}, CART, T0) == (acme, 8.0)
    assert offers.best_coupon([mall, acme, late], {"acme20": 1}, CART, T0) == (mall, 5.0)
    assert offers.best_coupon([acme], {"acme20": 1}, CART, T0) is None


def test_review_summary_by_author_kind() -> None:
    found = [
        offers.Review("r1", "k1", 5),
        offers.Review("r2", "k1", 3, author_kind="media"),
        offers.Review("r3", "k1", 4),
    ]
    assert offers.summary(found) == {
        "count": 3,
        "average": 4.0,
        "byAuthorKind": {
            "customer": {"count": 2, "average": 4.5},
            "media": {"count": 1, "average": 3.0},
        },
        "histogram": {"1": 0, "2": 0, "3": 1, "4": 1, "5": 1},
    }
    assert offers.summary([])["average"] is None
