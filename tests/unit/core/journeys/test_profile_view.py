"""The machine's view of the profile is built on first use, and is then exactly ``view``."""

from __future__ import annotations

import datetime as dt

from juncture.core.journeys import profile_view
from juncture.core.profile.model import Cart, CartItem, Profile

NOW = dt.datetime(2026, 5, 4, 10, 0, tzinfo=dt.UTC)


def _profile() -> Profile:
    cart = Cart(items={"sku1": CartItem(product_id="sku1", quantity=2, price=9.5)})
    return Profile(profile_id="p1", traits={"email": "a@b.c", "city": "Lyon"}, cart=cart)


def test_lazy_view_is_the_view() -> None:
    p = _profile()
    lazy = profile_view.ProfileView(p, NOW)
    assert lazy["id"] == "p1"
    assert dict(lazy) == profile_view.view(p, NOW)
    assert list(lazy) == list(profile_view.view(p, NOW))  # the same keys, in the same order
    assert lazy["traits"] == {"email": "a@b.c", "city": "Lyon"}
    assert lazy.get("cart")["count"] == 2
    assert lazy.get("nope", 7) == 7 and len(lazy) == len(profile_view.view(p, NOW))


def test_reading_only_the_id_and_traits_builds_nothing() -> None:
    lazy = profile_view.ProfileView(_profile(), NOW)
    assert lazy["id"] == lazy.get("id") == "p1"
    assert lazy.get("traits") == lazy["traits"] == {"email": "a@b.c", "city": "Lyon"}
    assert lazy._full is None
    assert lazy["email"] == "a@b.c"
    assert lazy._full is not None
