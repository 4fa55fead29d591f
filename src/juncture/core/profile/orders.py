"""Orders: ``Order Completed``, deduplicated by order id (the earliest report stands), its
revenue (:func:`order_revenue`), the last order, and the RFM scores read from them
(:func:`rfm`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from juncture.core.profile.affinity import add_affinity, affinity_keys
from juncture.core.profile.cart import clear_cart
from juncture.core.profile.model import DEFAULT_CONFIG, Order, Profile, ProfileConfig
from juncture.core.profile.properties import number, product_key
from juncture.core.profile.step import Step


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


def on_order(s: Step) -> None:
    profile, event, config, ch = s.profile, s.event, s.config, s.ch
    props = event.properties
    t = event.timestamp
    raw_id = props.get("order_id")
    order_id = (
        str(raw_id) if isinstance(raw_id, str | int) and raw_id else "msg:" + event.message_id
    )
    known = profile.orders.get(order_id)
    if known is not None and known.at <= t:
        return
    # The same order reported twice: the earliest report stands, whatever the arrival order.
    revenue = order_revenue(props)
    orders = {**profile.orders, order_id: Order(t, revenue)}
    ch["orders"] = orders
    ch["revenue"] = profile.revenue - (known.revenue if known else 0.0) + revenue
    ch["last_order_id"] = last_order(orders) if known else profile.last_order_id
    last = profile.last_order_at
    if known is None and (last is None or t >= last):
        ch["last_order_id"] = order_id
    if known is not None:
        return
    products = [p for p in props.get("products") or () if isinstance(p, dict)]
    weight = config.affinity_weights.get("Order Completed", 0.0)
    for entry in products if weight else ():
        keys = affinity_keys(
            entry.get("category"), entry.get("brand"), number(entry.get("price")), config
        )
        add_affinity(s, keys, weight)
    ch["cart"] = clear_cart(profile.cart, t, {product_key(p) for p in products})


def last_order(orders: dict[str, Order]) -> str | None:
    last = max(orders.items(), key=lambda kv: (kv[1].at, kv[0]), default=None)
    return last[0] if last else None
