"""Orders: ``Order Completed``, deduplicated by order id (the earliest report stands), its
revenue (:func:`order_revenue`), the last order, what each order settled (the carts and
checkouts it emptied, the products it bought: :func:`settlement`), and the RFM scores read
from them (:func:`rfm`)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

import msgspec

from juncture.core.events import Event
from juncture.core.profile import replenish
from juncture.core.profile.affinity import add_affinity, affinity_keys
from juncture.core.profile.cart import clear_cart, link_ids
from juncture.core.profile.model import DEFAULT_CONFIG, Order, Profile, ProfileConfig
from juncture.core.profile.properties import number, product_key
from juncture.core.profile.step import Step

ORDER_COMPLETED: Final = "Order Completed"


class RFM(msgspec.Struct, frozen=True, array_like=True):
    recency: int
    frequency: int
    monetary: int


def rfm(profile: Profile, now: dt.datetime, config: ProfileConfig = DEFAULT_CONFIG) -> RFM:
    """Recency, frequency and monetary scores, 1 (low) to 5 (high); 1s without orders."""
    last = profile.last_order_at
    if last is None:
        return RFM(1, 1, 1)
    days = (now - last).total_seconds() / 86400
    recency = 5 - sum(1 for limit in config.recency_days if days > limit)
    frequency = 1 + sum(1 for limit in config.frequency_orders if profile.order_count >= limit)
    monetary = 1 + sum(1 for limit in config.monetary_total if profile.revenue >= limit)
    return RFM(recency, frequency, monetary)


def order_revenue(props: dict[str, Any]) -> float:
    """``revenue``, else ``total``, else ``value``, else the sum of ``products``."""
    for key in ("revenue", "total", "value"):
        value = number(props.get(key))
        if value is not None:
            return value
    products = props.get("products")
    if not isinstance(products, list):
        return 0.0
    total = 0.0
    for entry in products:
        if isinstance(entry, dict):
            total += (number(entry.get("price")) or 0.0) * (number(entry.get("quantity")) or 1.0)
    return total


def order_key(props: dict[str, Any], message_id: str) -> str:
    """The key of an order in :attr:`Profile.orders`: its ``order_id``, else its message id."""
    raw_id = props.get("order_id")
    return str(raw_id) if isinstance(raw_id, str | int) and raw_id else "msg:" + message_id


def on_order(s: Step) -> None:
    profile, event, config, ch = s.profile, s.event, s.config, s.ch
    props = event.properties
    t = event.timestamp
    order_id = order_key(props, event.message_id)
    known = profile.orders.get(order_id)
    if known is not None and known.at <= t:
        return
    # The same order reported twice: the earliest report stands, whatever the arrival order.
    products = [p for p in props.get("products") or () if isinstance(p, dict)]
    bought = tuple(dict.fromkeys(k for p in products if (k := product_key(p)) is not None))
    own = link_ids(props)
    if known is not None:  # the cart it emptied was settled by the later report already
        carts = _links(order_id, own, known.carts)
        _record(s, order_id, Order(t, order_revenue(props), carts, bought), known)
        replenish.on_order(s, products)
        return
    cart, emptied = clear_cart(profile.cart, t, bought)
    carts = _links(order_id, own, emptied)
    _record(s, order_id, Order(t, order_revenue(props), carts, bought), None)
    weight = config.affinity_weights.get("Order Completed", 0.0)
    for entry in products if weight else ():
        keys = affinity_keys(
            entry.get("category"), entry.get("brand"), number(entry.get("price")), config
        )
        add_affinity(s, keys, weight)
    ch["cart"] = cart
    replenish.on_order(s, products)


def _record(s: Step, order_id: str, order: Order, known: Order | None) -> None:
    profile, ch = s.profile, s.ch
    orders = {**profile.orders, order_id: order}
    ch["orders"] = orders
    ch["revenue"] = profile.revenue - (known.revenue if known else 0.0) + order.revenue
    ch["last_order_id"] = last_order(orders) if known else profile.last_order_id
    last = profile.last_order_at
    if known is None and (last is None or order.at >= last):
        ch["last_order_id"] = order_id


def _links(order_id: str, *ids: tuple[str, ...]) -> tuple[str, ...]:
    """The cart and checkout ids of an order, without its own id (its key already)."""
    return tuple(i for i in dict.fromkeys(i for group in ids for i in group) if i != order_id)


class Settlement(msgspec.Struct, frozen=True):
    """What an order settled: the cart, checkout and order ids that name what it bought
    (its own, and those of the cart it emptied) and the products it bought."""

    ids: frozenset[str]
    products: frozenset[str]


def settlement(profile: Profile, event: Event) -> Settlement | None:
    """What the ``Order Completed`` event (already reduced into ``profile``) settled; None for
    any other event."""
    if event.event != ORDER_COMPLETED or event.type != "track":
        return None
    order_id = order_key(event.properties, event.message_id)
    order = profile.orders.get(order_id)
    if order is None:  # not reduced (a derived event): what the event itself says
        own = link_ids(event.properties)
        products = event.properties.get("products") or ()
        bought = [product_key(p) for p in products if isinstance(p, dict)]
        return Settlement(frozenset(own), frozenset(k for k in bought if k is not None))
    return Settlement(frozenset((order_id, *order.carts)), frozenset(order.products))


def last_order(orders: dict[str, Order]) -> str | None:
    last = max(orders.items(), key=lambda kv: (kv[1].at, kv[0]), default=None)
    return last[0] if last else None
