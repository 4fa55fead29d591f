"""The profile as journeys see it: conditions (``profile.*``), templates and the cart a
message shows. :class:`ProfileView` builds the whole view only when a condition reads past
the id and the traits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any, Final

from juncture.core import stage
from juncture.core.journeys import machine
from juncture.core.profile import cart
from juncture.core.profile.affinity import top_affinity
from juncture.core.profile.model import Profile

NAME_TRAITS: Final = ("first_name", "last_name", "name", "email", "phone", "timezone")


def view(p: Profile, now: dt.datetime) -> dict[str, Any]:
    """The profile as journey conditions and templates see it (``profile.*``)."""
    traits = dict(p.traits)
    out: dict[str, Any] = {k: traits.get(k) for k in NAME_TRAITS}
    last = p.last_order_at
    out.update(
        id=p.profile_id,
        traits=traits,
        stage=stage.stage_of(p, now).value,
        first_seen=p.first_seen.isoformat() if p.first_seen else None,
        last_seen=p.last_seen.isoformat() if p.last_seen else None,
        last_channel=p.last_channel,
        orders={
            "count": p.order_count,
            "revenue": round(p.revenue, 2),
            "aov": round(p.aov, 2),
            "last_at": last.isoformat() if last else None,
        },
        cart=cart_view(p),
        nps=p.nps.score if p.nps else None,
        csat=p.csat.score if p.csat else None,
        top_category=top_affinity(p, "category"),
    )
    return out


class ProfileView(Mapping[str, Any]):
    """:func:`view` as the journey machine reads it, built on first use: most events that
    reach the machine read no more of the profile than its id (no condition, no local-time
    wait), and the whole view costs more than the rest of such a step. The id and the traits
    (what most conditions read) come straight from the profile. ``recommendations``: how many
    products of each kind the runtime counted for the shopper, when a condition asked
    (:class:`machine.RecommendationsNeeded`)."""

    __slots__ = ("_full", "now", "profile", "recommendations")

    def __init__(
        self, p: Profile, now: dt.datetime, recommendations: Mapping[str, int] | None = None
    ) -> None:
        self.profile = p
        self.now = now
        self.recommendations = recommendations
        self._full: dict[str, Any] | None = None

    def _view(self) -> dict[str, Any]:
        if self._full is None:
            self._full = view(self.profile, self.now)
        return self._full

    def __getitem__(self, key: str) -> Any:
        if key == "id":
            return self.profile.profile_id
        if key == "traits":  # read only: the machine keeps no part of the profile
            return self.profile.traits
        if key == machine.RECOMMENDATIONS:
            return self.recommendations
        return self._view()[key]

    def get(self, key: str, default: Any = None) -> Any:
        if key in ("id", "traits", machine.RECOMMENDATIONS):
            return self[key]
        return self._view().get(key, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._view())

    def __len__(self) -> int:
        return len(self._view())


def cart_view(p: Profile, bought_since: dt.datetime | None = None) -> dict[str, Any]:
    """The cart for conditions and templates; with ``bought_since``, less the products an
    order bought since then (a message reminds of nothing already bought)."""
    unbought = cart.unbought(p, bought_since)
    items = [
        {
            "product_id": i.product_id,
            "name": i.name or i.product_id,
            "quantity": i.quantity,
            "price": i.price,
            "category": i.category,
            "brand": i.brand,
        }
        for i in unbought.values()
    ]
    return {
        "items": items,
        "count": sum(i.quantity for i in unbought.values()),
        "value": round(sum(i.price * i.quantity for i in unbought.values()), 2),
        "currency": p.cart.currency,
    }
