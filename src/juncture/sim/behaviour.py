"""How a simulated shopper behaves within one session: browse, cart, checkout, abandon.

The probabilities here carry the personas: interest leads browsing, price puts off the price
sensitive, a loved brand pulls, a cheap cart meets a shipping charge. Why a cart was left is
written to the ground truth only, never into events.
"""

from __future__ import annotations

import random
from typing import Any

from juncture.sim import errands, retail, wire
from juncture.sim.catalog import Catalog, Product
from juncture.sim.session import FREE_SHIPPING_USD, HOUR, Basket, Session, Shopper
from juncture.sim.truth import Abandonment, Purchase


def browse(session: Session, focus: tuple[str, ...] = (), boost: float = 0.0) -> None:
    """A whole online visit: land, look around, maybe add to cart, maybe check out."""
    shopper, rng = session.shopper, session.rng
    carried = len(shopper.cart)
    session.view("Home" if not focus else "Product", "https://shop.juncture.example/")
    if session.user_id is None and shopper.customer.known_at_start and rng.random() < 0.35:
        session.identify()
    for product_id in focus:
        show_product(session, session.world.catalog.product(product_id), clicked=False)
        if product_id not in shopper.cart:
            add(session, session.world.catalog.product(product_id))
    for _ in range(rng.choice((1, 1, 1, 1, 2, 2, 3)) if not focus else rng.choice((0, 0, 1))):
        browse_category(session)
        if rng.random() < 0.04:
            switch_device(session)
    # A cart left in an earlier visit is mostly forgotten unless something recalls it.
    added = len(shopper.cart) > carried or bool(focus)
    if shopper.cart and (added or rng.random() < 0.2):
        consider_cart(session, boost)


def browse_category(session: Session) -> None:
    shopper, rng, catalog = session.shopper, session.rng, session.world.catalog
    leaves, weights = zip(*shopper.customer.interests, strict=True)
    leaf = (
        rng.choices(leaves, weights)[0]
        if rng.random() > 0.1
        else rng.choice(catalog.leaves).category_id
    )
    products = catalog.in_leaf(leaf)
    if rng.random() < 0.3:
        session.wait(5, 30)
        session.track("Products Searched", {"query": _query(rng, products[0])})
    listed = rng.sample(products, k=min(len(products), rng.randint(4, 8)))
    session.wait(3, 40)
    session.track(
        "Product List Viewed",
        {
            "list_id": leaf,
            "category": products[0].category,
            "products": [
                wire.product_properties(p, session.currency, position=i + 1)
                for i, p in enumerate(listed)
            ],
        },
        url=f"https://shop.juncture.example/c/{leaf}",
    )
    for product in _pick_views(rng, shopper, listed, catalog):
        show_product(session, product, clicked=True)
        if product.product_id not in shopper.cart and rng.random() < add_chance(shopper, product):
            add(session, product)


def _pick_views(
    rng: random.Random, shopper: Shopper, listed: list[Product], catalog: Catalog
) -> list[Product]:
    picks = rng.sample(listed, k=rng.choice((0, 1, 1, 1, 2, 2, 3)))
    if shopper.viewed and rng.random() < 0.3:
        picks.append(catalog.product(rng.choice(shopper.viewed[-10:])))
    return picks


def show_product(session: Session, product: Product, *, clicked: bool) -> None:
    props = wire.product_properties(product, session.currency)
    if clicked:
        session.wait(2, 20)
        session.track("Product Clicked", props)
    session.wait(1, 5)
    session.track("Product Viewed", props, url=wire.product_url(product))
    session.wait(15, 120)
    session.shopper.viewed.append(product.product_id)
    retail.after_view(session, product)


def add_chance(shopper: Shopper, product: Product) -> float:
    """Interest wins, price puts off the price sensitive, loved brands pull."""
    customer = shopper.customer
    chance = 0.12 + 0.04 * min(shopper.viewed.count(product.product_id), 4)
    chance *= 1.0 - 0.6 * customer.price_sensitivity * min(product.price / 200.0, 1.0)
    if product.brand in customer.brands:
        chance += 0.15 * customer.brand_loyalty
    return chance


def add(session: Session, product: Product) -> None:
    session.wait(5, 40)
    session.track(
        "Product Added",
        {"cart_id": _cart_id(session), **wire.product_properties(product, session.currency)},
    )
    session.shopper.cart.append(product.product_id)


def consider_cart(session: Session, boost: float) -> None:
    """Look at the cart, maybe check out; otherwise the cart is abandoned, with a reason."""
    shopper, rng = session.shopper, session.rng
    if rng.random() > 0.65 + boost:
        abandon(session, _reason(session, stage="cart"), "cart")
        return
    session.wait(10, 60)
    session.track(
        "Cart Viewed", {"cart_id": _cart_id(session), "products": _lines(session, shopper.cart)}
    )
    if len(shopper.cart) > 1 and rng.random() < 0.12:
        remove(session, shopper.cart[-1])
    if rng.random() > 0.7 + boost:
        abandon(session, _reason(session, stage="cart"), "cart")
        return
    checkout(session, boost)


def risks(session: Session) -> tuple[float, float, float]:
    """Chances that price, shipping cost or distraction end a checkout, for this cart."""
    value = sum(session.world.catalog.product(p).price for p in session.shopper.cart)
    price = 0.45 * session.shopper.customer.price_sensitivity * min(value / 250.0, 1.0)
    shipping = 0.25 if value < FREE_SHIPPING_USD else 0.05
    return price, shipping, 0.15


def _reason(session: Session, *, stage: str) -> str:
    price, shipping, distraction = risks(session)
    if stage == "cart":
        distraction *= 3.0
    weights = (price, shipping, distraction)
    return session.rng.choices(("price", "shipping", "distraction"), weights)[0]


def remove(session: Session, product_id: str) -> None:
    product = session.world.catalog.product(product_id)
    session.wait(3, 20)
    session.track(
        "Product Removed",
        {"cart_id": _cart_id(session), **wire.product_properties(product, session.currency)},
    )
    session.shopper.cart.remove(product_id)


def checkout(session: Session, boost: float) -> None:
    shopper, rng = session.shopper, session.rng
    if session.user_id is None:
        session.wait(20, 90)
        session.identify()
    value = sum(session.world.catalog.product(p).price for p in shopper.cart)
    session.wait(10, 40)
    session.track("Checkout Started", _order_props(session, _order_id(session), value))
    risk = sum(risks(session)) * max(0.0, 1.0 - 2.0 * boost)
    if rng.random() >= risk:
        complete_order(session)
        return
    abandon(session, _reason(session, stage="checkout"), "checkout")


def complete_order(session: Session, channel_props: dict[str, Any] | None = None) -> None:
    """``Order Completed`` for the whole cart; empties it and schedules the aftermath."""
    shopper, world = session.shopper, session.world
    order_id = _order_id(session)
    value = sum(world.catalog.product(p).price for p in shopper.cart)
    session.wait(30, 150)
    props = _order_props(session, order_id, value) | (channel_props or {})
    props |= errands.coupon_at_checkout(session, order_id)
    session.track("Order Completed", props)
    world.truth.purchases.append(
        Purchase(
            user_id=shopper.customer.user_id,
            order_id=order_id,
            at=wire.from_ms(session.ms),
            channel=session.channel,
            total=props["total"],
            currency=session.currency,
            product_ids=tuple(shopper.cart),
            journey=session.journey,
        )
    )
    truth = world.truth.per_customer[shopper.customer.user_id]
    truth.orders += 1
    truth.revenue_usd += value
    world.schedule(session.ms + HOUR, "aftercare", shopper, (order_id, props))
    shopper.cart.clear()
    shopper.abandoned = None
    shopper.orders += 1


def abandon(session: Session, reason: str, stage: str) -> None:
    """Leave with a full cart. Leaving the same cart again is not a new abandonment."""
    shopper, rng = session.shopper, session.rng
    previous = shopper.abandoned
    if previous is not None and set(previous.product_ids) == set(shopper.cart):
        return
    basket = Basket(tuple(shopper.cart), reason, session.ms)
    shopper.abandoned = basket
    session.world.truth.abandonments.append(
        Abandonment(
            user_id=shopper.customer.user_id,
            at=wire.from_ms(session.ms),
            product_ids=basket.product_ids,
            reason=reason,
            stage=stage,
        )
    )
    session.world.truth.per_customer[shopper.customer.user_id].abandonments += 1
    comeback = {"price": 0.2, "shipping": 0.3, "distraction": 0.5}[reason]
    if rng.random() < comeback:
        later = session.ms + int(rng.uniform(1, 96) * HOUR)
        session.world.schedule(later, "return", shopper, basket)


def switch_device(session: Session) -> None:
    """Carry on on another of the shopper's own devices (not a shared kiosk)."""
    others = [
        d
        for d in session.shopper.customer.devices
        if d.kind != "kiosk" and d.device_id != session.device.device_id
    ]
    if others:
        session.device = session.rng.choice(others)
        session.wait(60, 900)
        session.view("Home", "https://shop.juncture.example/")


def _order_props(session: Session, order_id: str, value_usd: float) -> dict[str, Any]:
    currency = session.currency
    subtotal = round(
        sum(session.world.catalog.product(p).price_in(currency) for p in session.shopper.cart), 2
    )
    shipping = 0.0 if value_usd >= FREE_SHIPPING_USD or session.channel == "store" else 4.95
    tax = round(subtotal * 0.08, 2)
    return {
        "order_id": order_id,
        "total": round(subtotal + shipping + tax, 2),
        "revenue": subtotal,
        "shipping": shipping,
        "tax": tax,
        "currency": currency,
        "products": _lines(session, session.shopper.cart),
    }


def _lines(session: Session, product_ids: list[str]) -> list[dict[str, Any]]:
    catalog = session.world.catalog
    return [wire.product_properties(catalog.product(p), session.currency) for p in product_ids]


def _order_id(session: Session) -> str:
    return f"ord-{session.shopper.customer.index:05d}-{session.shopper.orders + 1:03d}"


def _cart_id(session: Session) -> str:
    return f"cart-{session.shopper.customer.index:05d}-{session.shopper.orders + 1:03d}"


def _query(rng: random.Random, product: Product) -> str:
    noun = product.name.split()[-1].lower()
    return rng.choice((noun, f"{product.brand.lower()} {noun}", product.category_path[2].lower()))
