"""The cart: ``Product Added``/``Product Removed`` edit it, ``Cart Viewed`` and
``Checkout Started`` with a ``products`` list replace it when newer, and a completed order
empties it (:func:`clear_cart`). Edits older than the last completed order are ignored.

The cart also remembers the ids its activity named (:func:`link_ids`: ``cart_id`` of the
cart events, ``checkout_id`` and the ``order_id`` that Segment's ``Checkout Started``
carries), so that an order that names none of them (Segment's ``Order Completed`` has no
``cart_id``) is still known to settle the carts it emptied."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any, Final

import msgspec

from juncture.core.profile.affinity import add_affinity, affinity_keys
from juncture.core.profile.model import MAX_CART_IDS, Cart, CartItem, Profile
from juncture.core.profile.properties import id_text, number, product_key, str_or
from juncture.core.profile.step import Step

LINKS: Final = ("cart_id", "checkout_id", "order_id")  # what names a cart, checkout or order


def link_ids(props: dict[str, Any]) -> tuple[str, ...]:
    """The cart, checkout and order ids that event properties name, in :data:`LINKS` order.

    >>> link_ids({"cart_id": "c1", "order_id": 7, "checkout_id": None})
    ('c1', '7')
    """
    found = (id_text(props.get(name)) for name in LINKS)
    return tuple(value for value in found if value)


def product_ids(props: dict[str, Any]) -> frozenset[str]:
    """The products that event properties name: the product itself (``product_id``, else
    ``sku``) and each of its ``products``.

    >>> sorted(product_ids({"product_id": "p1", "products": [{"sku": "s2"}, "junk"]}))
    ['p1', 's2']
    """
    found = {product_key(props)}
    lines = props.get("products")
    if isinstance(lines, list):
        found.update(product_key(line) for line in lines if isinstance(line, dict))
    return frozenset(k for k in found if k is not None)


def unbought(profile: Profile, since: dt.datetime | None) -> dict[str, CartItem]:
    """The cart's items less the products an order bought at or after ``since`` (a cart
    seen on another device after the order may still list them)."""
    items = profile.cart.items
    if since is None or not items:
        return items
    bought = {p for o in profile.orders.values() if o.at >= since for p in o.products}
    return {k: v for k, v in items.items() if k not in bought} if bought else items


def _with_ids(cart: Cart, props: dict[str, Any]) -> Cart:
    new = [i for i in link_ids(props) if i not in cart.ids]
    if not new:
        return cart
    return msgspec.structs.replace(cart, ids=(*cart.ids, *new)[-MAX_CART_IDS:])


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
    cart = _with_ids(cart, props)
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
    cart = _with_ids(cart, event.properties)
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
    cart = _with_ids(cart, event.properties)
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


def clear_cart(
    cart: Cart, t: dt.datetime, ordered: Collection[str | None]
) -> tuple[Cart, tuple[str, ...]]:
    """The cart after an order at ``t`` that bought ``ordered``, and the ids of the cart it
    emptied (none when the order is older than the cart's activity: then only the products
    it bought leave the cart)."""
    cleared = t if cart.cleared_at is None else max(cart.cleared_at, t)
    if cart.updated_at is None or cart.updated_at <= t:
        emptied = Cart(updated_at=cart.updated_at, cleared_at=cleared, currency=cart.currency)
        return emptied, cart.ids
    # A late order: activity after it stays, except the products it bought.
    items = {k: v for k, v in cart.items.items() if k not in ordered}
    return msgspec.structs.replace(cart, items=items, cleared_at=cleared), ()
