"""The cart: ``Product Added``/``Product Removed`` edit it, ``Cart Viewed`` and
``Checkout Started`` with a ``products`` list replace it when newer, and a completed order
empties it (:func:`clear_cart`). Edits older than the last completed order are ignored."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from juncture.core.profile.affinity import add_affinity, affinity_keys
from juncture.core.profile.model import Cart, CartItem
from juncture.core.profile.properties import number, product_key, str_or
from juncture.core.profile.step import Step


def _cart_item(props: dict[str, Any], pid: str, previous: CartItem | None) -> CartItem:
    quantity = number(props.get("quantity"))
    price = number(props.get("price"))
    return CartItem(
        product_id=pid,
        quantity=max(1, int(quantity)) if quantity is not None else 1,
        price=price if price is not None else (previous.price if previous else 0.0),
        name=str_or(props.get("name"), previous.name if previous else None),
        category=str_or(props.get("category"), previous.category if previous else None),
        brand=str_or(props.get("brand"), previous.brand if previous else None),
    )


def _cart_touch(cart: Cart, t: dt.datetime) -> Cart | None:
    """The cart with ``t`` as activity; None when ``t`` predates the last order."""
    if cart.cleared_at is not None and t <= cart.cleared_at:
        return None
    if cart.updated_at is None or t > cart.updated_at:
        return msgspec.structs.replace(cart, updated_at=t)
    return cart


def on_product_added(s: Step) -> None:
    profile, event, config, ch = s.profile, s.event, s.config, s.ch
    props = event.properties
    price = number(props.get("price"))
    keys = affinity_keys(props.get("category"), props.get("brand"), price, config)
    weight = config.affinity_weights.get("Product Added", 0.0)
    if weight and keys:
        add_affinity(s, keys, weight)
    pid = product_key(props)
    cart = _cart_touch(profile.cart, event.timestamp)
    if pid is None or cart is None:
        return
    old = cart.items.get(pid)
    item = _cart_item(props, pid, old)
    if old is not None:
        item = msgspec.structs.replace(item, quantity=old.quantity + item.quantity)
    currency = str_or(props.get("currency"), cart.currency)
    ch["cart"] = msgspec.structs.replace(cart, items={**cart.items, pid: item}, currency=currency)


def on_product_removed(s: Step) -> None:
    profile, event, ch = s.profile, s.event, s.ch
    pid = product_key(event.properties)
    cart = _cart_touch(profile.cart, event.timestamp)
    if cart is None:
        return
    old = cart.items.get(pid) if pid is not None else None
    if pid is not None and old is not None:
        items = dict(cart.items)
        quantity = number(event.properties.get("quantity"))
        left = old.quantity - int(quantity) if quantity is not None else 0
        if left > 0:
            items[pid] = msgspec.structs.replace(old, quantity=left)
        else:
            del items[pid]
        cart = msgspec.structs.replace(cart, items=items)
    ch["cart"] = cart


def on_cart_snapshot(s: Step) -> None:
    profile, event, ch = s.profile, s.event, s.ch
    t = event.timestamp
    before = profile.cart
    cart = _cart_touch(before, t)
    if cart is None:
        return
    products = event.properties.get("products")
    if isinstance(products, list) and products and cart.updated_at == t:
        items: dict[str, CartItem] = {}
        for entry in products:
            if isinstance(entry, dict) and (pid := product_key(entry)) is not None:
                items[pid] = _cart_item(entry, pid, before.items.get(pid))
        cart = msgspec.structs.replace(cart, items=items)
    if event.event == "Checkout Started" and (cart.checkout_at is None or t > cart.checkout_at):
        cart = msgspec.structs.replace(cart, checkout_at=t)
    ch["cart"] = cart


def clear_cart(cart: Cart, t: dt.datetime, ordered: set[str | None]) -> Cart:
    cleared = t if cart.cleared_at is None else max(cart.cleared_at, t)
    if cart.updated_at is None or cart.updated_at <= t:
        return Cart(updated_at=cart.updated_at, cleared_at=cleared, currency=cart.currency)
    # A late order: activity after it stays, except the products it bought.
    items = {k: v for k, v in cart.items.items() if k not in ordered}
    return msgspec.structs.replace(cart, items=items, cleared_at=cleared)
