"""How a simulated customer answers a message the engine sent: the measurable part.

A :class:`Delivery` is what a channel adapter (or a test) hands the simulation. Whether the
customer opens, clicks and buys depends on relevance (naming the product they left in the
cart beats a generic offer), timing (soon after abandoning, not at night) and fatigue
(several messages within a day annoy, and may end in an unsubscribe). Reactions draw from the
shopper's reaction generator, so they leave everyone's organic behaviour untouched.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from juncture.core import channels
from juncture.sim import onsite
from juncture.sim.behaviour import browse
from juncture.sim.calendar import local_hour
from juncture.sim.session import DAY, HOUR, MINUTE, Session, Shopper, World
from juncture.sim.visits import opened_from

# The chance a customer opens a message, per channel (a channel missing here: never opened).
OPEN_CHANCE = {"email": 0.45, "push": 0.35, "sms": 0.6, "onsite": 1.0, "webhook": 0.0}
OFFER_WORDS = {
    "price": ("discount", "offer", "coupon", "sale", "price"),
    "shipping": ("shipping", "delivery"),
    "distraction": ("reminder", "cart", "basket"),
}


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message as it reached the customer. ``template`` names the kind of message."""

    at: dt.datetime
    channel: str  # a name of juncture.core.channels
    template: str
    user_id: str | None = None
    anonymous_id: str | None = None
    email: str | None = None
    product_ids: tuple[str, ...] = ()
    journey: str | None = None
    purpose: str = "marketing"
    recommendation_id: str | None = None  # the products listed as recommendations, if any
    recommended: tuple[str, ...] = ()
    # what an on-site answer or confirmation names besides products (the touchpoint asked
    # for, a coupon, where to ship from, an associate, an appointment, a store event)
    detail: tuple[tuple[str, str], ...] = ()

    def named(self, key: str) -> str | None:
        return dict(self.detail).get(key)


@dataclass(frozen=True, slots=True)
class Reaction:
    """An open scheduled for later, with what the click would do."""

    delivery: Delivery
    relevance: float
    boost: float


def receive(world: World, shopper: Shopper, delivery: Delivery, ms: int) -> None:
    """The message arrives at ``ms``: count it, annoy, maybe schedule an open."""
    rng, customer = shopper.react_rng, shopper.customer
    truth = world.truth.per_customer[customer.user_id]
    truth.deliveries += 1
    world.truth.reactions["delivered"] += 1
    shopper.received = [t for t in shopper.received if t > ms - DAY]
    recent = len(shopper.received)
    shopper.received.append(ms)
    # An unsubscribe withdraws marketing (see :func:`_unsubscribe`); receipts may still come.
    # Messages that cross the customer's "Unsubscribed" on its way are not violations.
    told = shopper.told_unsubscribed.get(delivery.channel)
    violates = delivery.channel in channels.OPT_IN and (
        not customer.consents(delivery.channel, delivery.purpose)
        or (delivery.purpose == "marketing" and told is not None and ms > told)
    )
    if violates:
        world.truth.reactions["consent_violation"] += 1
    if (
        recent >= 2
        and delivery.channel not in shopper.unsubscribed
        and delivery.channel != "onsite"
        and rng.random() < min(0.6, 0.12 * (recent - 1) + (0.3 if violates else 0.0))
    ):
        _unsubscribe(world, shopper, delivery, ms)
        return
    relevance = _relevance(world, shopper, delivery)
    chance = OPEN_CHANCE.get(delivery.channel, 0.0) * 0.55**recent
    chance *= 0.6 if _night(ms, customer.city.timezone) else 1.0
    chance *= 0.4 if shopper.lapse_ms is not None and ms >= shopper.lapse_ms else 1.0
    chance *= 0.2 if violates else 1.0
    if delivery.channel == "onsite" and ms - shopper.last_seen > 30 * MINUTE:
        chance = 0.0
    if rng.random() < chance:
        delay = int(rng.lognormvariate(3.0, 1.2) * MINUTE) if delivery.channel != "onsite" else 0
        boost = _boost(shopper, delivery, relevance, ms)
        world.schedule(ms + delay, "reaction", shopper, Reaction(delivery, relevance, boost))


def react(world: World, shopper: Shopper, reaction: Reaction, ms: int) -> None:
    """Open (and perhaps click through and buy) at ``ms``."""
    delivery, rng = reaction.delivery, shopper.react_rng
    truth = world.truth.per_customer[shopper.customer.user_id]
    truth.opened += 1
    world.truth.reactions["opened"] += 1
    focus = _focus(world, shopper, delivery)
    click = 0.2 + 0.5 * reaction.relevance
    props = {
        "campaign_id": delivery.template,
        "campaign_name": delivery.journey or "",
        "email_id": f"{delivery.template}-{ms // MINUTE}",
    }
    if delivery.channel == "email":
        clicked = opened_from(
            world,
            shopper,
            ms,
            props,
            rng,
            click_chance=click,
            focus=focus,
            boost=reaction.boost,
            journey=delivery.journey,
        )
    else:
        clicked = rng.random() < click
        if clicked:
            _land(world, shopper, delivery, ms, props=props, focus=focus, boost=reaction.boost)
    if clicked:
        truth.clicked += 1
        world.truth.reactions["clicked"] += 1
    elif delivery.recommended:  # the message listed recommendations: one may catch the eye
        onsite.recommended(world, shopper, delivery, ms, page=False)


def _land(
    world: World,
    shopper: Shopper,
    delivery: Delivery,
    ms: int,
    *,
    props: dict[str, Any],
    focus: tuple[str, ...],
    boost: float,
) -> None:
    app = delivery.channel == "push" and any(d.app for d in shopper.customer.devices)
    own = [d for d in shopper.customer.devices if d.kind != "kiosk" and (d.app or not app)]
    device = shopper.react_rng.choice(own)
    channel = "app" if app else "web"
    session = Session(
        world,
        shopper,
        channel,
        device,
        ms,
        shopper.react_rng,
        journey=delivery.journey,
        screen_app=app,
    )
    if delivery.channel == "push":
        session.track("Push Notification Opened", props)
    browse(session, focus, boost)


def _unsubscribe(world: World, shopper: Shopper, delivery: Delivery, ms: int) -> None:
    """Annoyed: ``Unsubscribed`` then an identify whose consent says no more marketing."""
    customer = shopper.customer
    shopper.unsubscribed.add(delivery.channel)
    world.truth.per_customer[customer.user_id].unsubscribed = True
    world.truth.reactions["unsubscribed"] += 1
    device = next((d for d in customer.devices if d.kind != "kiosk"), customer.devices[0])
    session = Session(world, shopper, "web", device, ms + 10 * MINUTE, shopper.react_rng)
    shopper.logged_in.add(device.device_id)
    shopper.told_unsubscribed.setdefault(delivery.channel, ms + 10 * MINUTE)
    session.track(
        "Unsubscribed",
        {"channel": delivery.channel, "purpose": "marketing", "campaign_id": delivery.template},
    )
    session.wait(1, 5)
    session.send("identify", traits={"consent": shopper.consent_traits()})


def _relevance(world: World, shopper: Shopper, delivery: Delivery) -> float:
    """1.0 names what they left in the cart, 0.5 their kind of thing, 0.2 anything else."""
    basket = set(shopper.abandoned.product_ids if shopper.abandoned else ()) | set(shopper.cart)
    named = set(delivery.product_ids)
    if named & basket:
        return 1.0
    interests = {leaf for leaf, _ in shopper.customer.interests}
    if any(
        world.catalog.product(p).category_id in interests
        for p in named
        if world.catalog.has_product(p)
    ):
        return 0.5
    return 0.45 if basket and _is_cart_template(delivery.template) else 0.2


def _boost(shopper: Shopper, delivery: Delivery, relevance: float, ms: int) -> float:
    """How much more likely a purchase is after the click: fit to the real reason helps."""
    basket = shopper.abandoned
    if basket is None:
        return 0.1 * relevance
    hours = (ms - basket.ms) / HOUR
    timing = 1.0 if hours <= 24 else max(0.3, math.exp(-(hours - 24) / 72))
    template = delivery.template.lower()
    fits = any(word in template for word in OFFER_WORDS[basket.reason])
    return (0.15 * relevance + (0.2 if fits else 0.0)) * timing


def _focus(world: World, shopper: Shopper, delivery: Delivery) -> tuple[str, ...]:
    named = tuple(p for p in delivery.product_ids if world.catalog.has_product(p))
    if named:
        return named[:3]
    if shopper.abandoned and _is_cart_template(delivery.template):
        return shopper.abandoned.product_ids[:3]
    return ()


def _is_cart_template(template: str) -> bool:
    return any(word in template.lower() for word in ("cart", "basket", "abandon"))


def _night(ms: int, timezone: str) -> bool:
    hour = local_hour(ms, timezone)
    return hour >= 22 or hour < 8
