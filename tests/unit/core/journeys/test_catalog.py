"""The catalog's view of versions: the latest running one, and those taking entries."""

from __future__ import annotations

import dataclasses

from juncture import definitions
from juncture.core.journeys.catalog import Catalog


def test_latest_and_entering() -> None:
    cart, welcome = (
        j for j in definitions.load_library() if j.id in {"cart_abandonment", "welcome_series"}
    )
    v2 = dataclasses.replace(cart, version=2)
    catalog = Catalog((cart, v2, welcome), frozenset({"cart_abandonment"}))
    assert catalog.latest("cart_abandonment") is v2
    assert catalog.latest("welcome_series") is welcome
    assert catalog.latest("nope") is None
    assert catalog.entering() == (v2,)  # welcome_series runs but takes no entries (paused)
    assert Catalog().entering() == ()
