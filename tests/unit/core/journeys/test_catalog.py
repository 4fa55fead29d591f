"""The catalog's view of versions: the latest running one, and those taking entries."""

from __future__ import annotations

import dataclasses

from juncture.core.journeys.catalog import Catalog
from juncture.core.journeys.spec import EventMatch, JourneySpec
from juncture.definitions import journeys as journey_definitions


def test_latest_and_entering() -> None:
    cart, welcome = (
        j
        for j in journey_definitions.load_library()
        if j.id in {"cart_abandonment", "welcome_series"}
    )
    v2 = dataclasses.replace(cart, version=2)
    catalog = Catalog((cart, v2, welcome), frozenset({"cart_abandonment"}))
    assert catalog.latest("cart_abandonment") is v2
    assert catalog.latest("welcome_series") is welcome
    assert catalog.latest("nope") is None
    assert catalog.entering() == (v2,)  # welcome_series runs but takes no entries (paused)
    assert Catalog().entering() == ()


def _library(*ids: str) -> list[JourneySpec]:
    found = {j.id: j for j in journey_definitions.load_library()}
    return [found[i] for i in ids]


def test_starters_are_the_open_latest_versions_by_event_in_entry_order() -> None:
    cart, browse, welcome = _library("cart_abandonment", "browse_abandonment", "welcome_series")
    v2 = dataclasses.replace(cart, version=2, priority=1)
    rival = dataclasses.replace(cart, id="another_cart", priority=99)
    opened = frozenset({"cart_abandonment", "another_cart", "browse_abandonment"})
    catalog = Catalog((cart, v2, rival, browse, welcome), opened)
    assert catalog.starters["Product Added"] == (rival, v2)  # priority, then only the latest
    assert catalog.starters["Product Viewed"] == (browse,)
    assert "Signed Up" not in catalog.starters  # welcome_series is paused
    assert catalog.by_version[("cart_abandonment", 1)] is cart
    assert catalog.by_version[("cart_abandonment", 2)] is v2
    # An index belongs to its catalog: a new set of versions or of open journeys gets its own.
    reopened = Catalog(catalog.versions, frozenset({"welcome_series"}))
    assert set(reopened.starters) == {t.match.event for t in welcome.triggers}
    assert Catalog().starters == {} and Catalog().by_version == {}


def test_listens_to_every_running_version_but_triggers_only_of_open_ones() -> None:
    [cart] = _library("cart_abandonment")
    paused = Catalog((cart,), frozenset())
    assert paused.triggers == frozenset()
    assert paused.listens == {"Order Completed", "Product Added", "Unsubscribed"}  # waits, exits
    assert Catalog.of([cart]).triggers == {"Product Added"}


def test_derived_spec_fields_follow_a_replaced_spec() -> None:
    [cart] = _library("cart_abandonment")
    assert [t.id for t in cart.triggers] == ["added"]
    assert cart.entered_by == {"Product Added"}
    assert cart.moved_by == {"Order Completed", "Product Added", "Unsubscribed"}
    [trigger] = cart.triggers
    nodes = {**cart.nodes, "added": dataclasses.replace(trigger, match=EventMatch("Cart Viewed"))}
    changed = dataclasses.replace(cart, nodes=nodes, exits=(), goal=None)
    assert [t.match.event for t in changed.triggers] == ["Cart Viewed"]
    assert changed.entered_by == {"Cart Viewed"}
    assert changed.moved_by == {"Order Completed", "Product Added"}  # the wait's
    assert Catalog.of([changed]).starters.keys() == {"Cart Viewed"}
