"""How a simulated shopper answers what Juncture shows on the page, and recommendations.

An on-site answer (a :class:`~juncture.sim.response.Delivery` on channel ``onsite``) is
seen only by a shopper still on the site (seen within :data:`ON_SITE`). A touchpoint
(wish list, presence, comparison...) is clicked at its kind's rate (an event invitation
more often when the event is at the shopper's own store), as Segment's
``Promotion Clicked`` (``promotion_id`` names the touchpoint), and a click on one that
names products opens the first. A list of recommendations is shown (``Product List
Viewed`` with the recommendation's id as ``list_id``, as a storefront reports it) and each
product in it catches the eye by the shopper's tastes (:func:`taste`: their favourite
categories, their brands, what its price means to them), so a list that fits the person
earns more clicks than a list of best-sellers. The truth records the chance of a click each
list had (``expected_clicks``), the clicks and what they led to.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from juncture.sim import errands, wire
from juncture.sim.behaviour import add, consider_cart, show_product
from juncture.sim.catalog import Product
from juncture.sim.personas import Customer
from juncture.sim.session import MINUTE, Session, Shopper, World

if TYPE_CHECKING:
    from juncture.sim.response import Delivery

ON_SITE: Final = 30 * MINUTE
# The chance a shown touchpoint is clicked, by its kind (others: CLICK).
CLICKS: Final = {"wishlist": 0.3, "presence": 0.25, "compare": 0.35, "specs": 0.4,
                 "expert": 0.35, "price_drop": 0.3, "back_in_stock": 0.3, "endless_aisle": 0.5,
                 "product_location": 0.3, "gift": 0.35, "event": 0.3, "coupon": 0.3,
                 "promo": 0.25, "loyalty": 0.3, "clickstream": 0.3}  # fmt: skip
CLICK: Final = 0.15
LOCAL_EVENT: Final = 0.5  # an invitation to an event at the shopper's own store
# How much a touchpoint's product appeals once clicked (others: 0, a look only).
LIKING: Final = {"gift": 0.45, "cart_reminder": 0.35, "wishlist": 0.2, "clickstream": 0.15}
EMAIL_EYE: Final = 0.5  # a list in an email catches the eye half as often as on the page


def taste(customer: Customer, product: Product) -> float:
    """The chance this customer clicks this product when it is recommended to them."""
    interest = dict(customer.interests).get(product.category_id, 0.0)
    chance = 0.01 + 0.4 * min(1.0, 2 * interest)
    if product.brand in customer.brands:
        chance += 0.03 + 0.12 * customer.brand_loyalty
    chance *= 1.0 - 0.5 * customer.price_sensitivity * min(product.price / 300.0, 1.0)
    return min(chance, 0.6)


def receive(world: World, shopper: Shopper, delivery: Delivery, ms: int) -> None:
    """An on-site answer at ``ms``: a recommendation list or a touchpoint."""
    kind = _kind(delivery)
    if ms - shopper.last_seen > ON_SITE:
        world.truth.seen(kind, "missed")
        return
    world.truth.seen(kind, "shown")
    if delivery.recommended:
        recommended(world, shopper, delivery, ms, page=True)
        return
    rng = shopper.react_rng
    if rng.random() >= _click_chance(shopper, delivery, kind):
        return
    world.truth.seen(kind, "clicked")
    session = _session(world, shopper, ms, f"onsite:{kind}", delivery, page=True)
    named = [p for p in delivery.product_ids if world.catalog.has_product(p)]
    props = {"promotion_id": f"touchpoint_{kind}", "creative": kind, "name": delivery.template,
             "placement": delivery.named("placement") or kind,
             "product_id": next(iter(named), None),
             "coupon_id": delivery.named("coupon_id")}  # fmt: skip
    session.track("Promotion Clicked", {k: v for k, v in props.items() if v is not None})
    errands.clicked(session, delivery)
    if named:
        _look(session, world.catalog.product(named[0]), LIKING.get(kind, 0.0))


def _click_chance(shopper: Shopper, delivery: Delivery, kind: str) -> float:
    """The kind's rate; an event at the shopper's own store draws more than one elsewhere."""
    if kind == "event" and delivery.named("store_code") == shopper.customer.city.store_id:
        return LOCAL_EVENT
    return CLICKS.get(kind, CLICK)


def recommended(world: World, shopper: Shopper, delivery: Delivery, ms: int, *, page: bool) -> None:
    """A list of recommendations seen (on the page, or in a message opened): perhaps one of
    its products clicked, by taste, and perhaps bought."""
    kind = _recommended_kind(delivery)
    products = [world.catalog.product(p) for p in delivery.recommended
                if world.catalog.has_product(p)]  # fmt: skip
    if not products or delivery.recommendation_id is None:
        return
    rng, customer = shopper.react_rng, shopper.customer
    scale = 1.0 if page else EMAIL_EYE
    chances = [taste(customer, p) * scale for p in products]
    miss = 1.0
    for chance in chances:
        miss *= 1.0 - chance
    world.truth.recommendation(kind, lists=1, expected_clicks=1.0 - miss)
    session = _session(world, shopper, ms, f"rec:{kind}", delivery, page=page)
    rid = delivery.recommendation_id
    if page:
        props = [wire.product_properties(p, session.currency, position=i + 1)
                 for i, p in enumerate(products)]  # fmt: skip
        session.track("Product List Viewed", {"list_id": rid, "category": kind, "products": props})
    for product, chance in zip(products, chances, strict=True):
        if rng.random() < chance:
            world.truth.recommendation(kind, clicks=1)
            clicked = wire.product_properties(product, session.currency)
            clicked["recommendation_id"] = rid
            session.wait(2, 20)
            session.track("Product Clicked", clicked)
            orders = shopper.orders
            _look(session, product, taste(customer, product))
            if shopper.orders > orders:
                world.truth.recommendation(kind, orders=1, revenue_usd=product.price)
            return


def _look(session: Session, product: Product, liking: float) -> None:
    """Look at the product; add it as its appeal says, and consider the cart."""
    show_product(session, product, clicked=False)
    shopper = session.shopper
    if product.product_id not in shopper.cart and session.rng.random() < 0.2 + liking:
        add(session, product)
        consider_cart(session, 0.1 * liking)


def _session(
    world: World, shopper: Shopper, ms: int, journey: str, delivery: Delivery, *, page: bool
) -> Session:
    """On the page: the device the answer was shown on; from a message: a device of theirs,
    logged in by the message's link."""
    devices = shopper.customer.devices
    device = next((d for d in devices if d.anonymous_id == delivery.anonymous_id), None)
    if device is None:
        own = [d for d in devices if d.kind != "kiosk"]
        device = shopper.react_rng.choice(own or list(devices))
    session = Session(world, shopper, "web", device, ms, shopper.react_rng, journey=journey)
    if not page and session.user_id is None:
        session.identify()
    return session


def _recommended_kind(delivery: Delivery) -> str:
    """The kind a recommendation id names (``rec_<kind>_<token>``, as Juncture writes it)."""
    rid = delivery.recommendation_id or ""
    return rid.removeprefix("rec_").rsplit("_", 1)[0] if rid.startswith("rec_") else _kind(delivery)


def _kind(delivery: Delivery) -> str:
    """The touchpoint or recommendation kind (``onsite_wishlist``: ``wishlist``)."""
    return delivery.template.removeprefix("onsite_")
