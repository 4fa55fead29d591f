"""Where a session starts: web, app, social, a newsletter, a push, a store; and aftercare.

Each entry point picks the device and the first messages a real tracker would send for that
channel, then hands over to :func:`juncture.sim.behaviour.browse`. Aftercare is what follows
an order days later: support tickets, refunds, reviews, NPS and CSAT answers.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

from juncture.sim import retail
from juncture.sim.behaviour import browse, browse_category, complete_order
from juncture.sim.calendar import local_hour
from juncture.sim.personas import Device, kiosk
from juncture.sim.session import DAY, HOUR, MINUTE, Session, Shopper, World

SOCIAL_SOURCES = ("instagram", "tiktok", "facebook", "pinterest")
STORE_NAMES = {
    "store-nyc": "Juncture SoHo",
    "store-chi": "Juncture Michigan Ave",
    "store-lon": "Juncture Covent Garden",
    "store-ber": "Juncture Mitte",
}


def visit(world: World, shopper: Shopper, channel: str, ms: int) -> None:
    """An organic session on ``channel`` starting at ``ms``."""
    world.truth.sessions_by_channel[channel] += 1
    world.truth.per_customer[shopper.customer.user_id].sessions += 1
    starts = {"web": web, "app": app, "social": social, "email": newsletter, "store": store}
    starts[channel](world, shopper, ms)


def web(world: World, shopper: Shopper, ms: int) -> None:
    device = _own_device(shopper, shopper.rng, app=False)
    session = Session(world, shopper, "web", device, ms, shopper.rng)
    retail.gift_search(session)
    browse(session)


def app(world: World, shopper: Shopper, ms: int) -> None:
    device = _own_device(shopper, shopper.rng, app=True)
    session = Session(world, shopper, "app", device, ms, shopper.rng, screen_app=True)
    retail.app_opened(session)
    retail.gift_search(session)
    customer = shopper.customer
    if (
        customer.consents("push")
        and "push" not in shopper.unsubscribed
        and (shopper.rng.random() < 0.3)
    ):
        session.track(
            "Push Notification Opened",
            {"campaign_id": "push-weekly", "campaign_name": "Weekly picks"},
        )
    browse(session)


def social(world: World, shopper: Shopper, ms: int) -> None:
    """Social in-app browsers keep their own cookies: a new anonymous id on a known phone."""
    if shopper.social_device is None:
        phone = _own_device(shopper, shopper.rng, app=False)
        anonymous_id = str(uuid.UUID(int=shopper.rng.getrandbits(128), version=4))
        shopper.social_device = Device(phone.device_id, phone.kind, anonymous_id, app=False)
    source = shopper.rng.choice(SOCIAL_SOURCES)
    campaign = {"source": source, "medium": "social", "name": "spring-drop"}
    browse(
        Session(world, shopper, "social", shopper.social_device, ms, shopper.rng, campaign=campaign)
    )


def newsletter(world: World, shopper: Shopper, ms: int) -> None:
    """The retailer's own weekly email: opened (ESP webhook), perhaps clicked through."""
    customer = shopper.customer
    if (
        customer.email is None
        or not customer.consents("email")
        or ("email" in shopper.unsubscribed)
    ):
        web(world, shopper, ms)
        return
    email_id = f"nl-{ms // DAY}"
    props = {
        "email_id": email_id,
        "campaign_id": "newsletter",
        "campaign_name": "Weekly picks",
        "email_subject": "New in this week",
    }
    opened_from(world, shopper, ms, props, shopper.rng, click_chance=0.45)


def opened_from(
    world: World,
    shopper: Shopper,
    ms: int,
    props: dict[str, Any],
    rng: random.Random,
    *,
    click_chance: float,
    focus: tuple[str, ...] = (),
    boost: float = 0.0,
    journey: str | None = None,
) -> bool:
    """Email opened, maybe clicked; a click lands on the web, identified by the link."""
    esp = Device("esp", "server", f"esp-{shopper.customer.user_id}", app=False)
    session = Session(world, shopper, "email", esp, ms, rng, journey=journey)
    session.shopper.logged_in.add("esp")
    session.track("Email Opened", props)
    if rng.random() >= click_chance:
        return False
    session.wait(5, 120)
    link = "https://shop.juncture.example/" + (f"p/{focus[0]}" if focus else "")
    session.track("Email Link Clicked", {**props, "link_url": link})
    campaign = {"source": "newsletter", "medium": "email", "name": str(props["campaign_name"])}
    device = _own_device(shopper, rng, app=False)
    start = session.ms + 2000
    landing = Session(world, shopper, "web", device, start, rng, campaign, journey)
    if landing.user_id is None:
        landing.identify()
    browse(landing, focus, boost)
    return True


def store(world: World, shopper: Shopper, ms: int) -> None:
    """A store visit: app geofence (perhaps a question), perhaps the shared kiosk, perhaps a
    till purchase."""
    customer, rng = shopper.customer, shopper.rng
    store_id = customer.city.store_id
    if store_id is None:
        web(world, shopper, ms)
        return
    ms = _opening_hours(ms, customer.city.timezone, rng)
    arrive(world, shopper, ms, store_id, rng)
    if any(d.kind == "kiosk" for d in customer.devices) and rng.random() < 0.5:
        _kiosk(world, shopper, store_id, ms + 5 * MINUTE)
    if rng.random() < 0.55:
        _till(world, shopper, store_id, ms + int(rng.uniform(10, 50) * MINUTE))


def arrive(
    world: World, shopper: Shopper, ms: int, store_id: str, rng: random.Random | None = None
) -> None:
    """Into the store: the app's geofence tells it (and the location opt-in, once), and the
    shopper may ask about a product there (see :func:`juncture.sim.retail.in_store`)."""
    phone = next((d for d in shopper.customer.devices if d.app), None)
    if phone is None:
        return
    geo = Session(world, shopper, "app", phone, ms, rng or shopper.react_rng, screen_app=True)
    retail.allow_location(geo)
    geo.track("Store Visited", {"store_id": store_id, "store_name": STORE_NAMES[store_id]})
    retail.in_store(geo, store_id)


def _kiosk(world: World, shopper: Shopper, store_id: str, ms: int) -> None:
    """Shoppers share the kiosk: its anonymous id is everyone's; a loyalty scan logs in."""
    session = Session(world, shopper, "store", kiosk(store_id), ms, shopper.rng)
    shopper.logged_in.discard(session.device.device_id)
    session.view("Kiosk Home", f"https://kiosk.juncture.example/{store_id}")
    if shopper.customer.loyalty_id is not None and shopper.rng.random() < 0.6:
        session.identify()
    browse_category(session)
    shopper.logged_in.discard(session.device.device_id)


def _till(world: World, shopper: Shopper, store_id: str, ms: int) -> None:
    """A POS sale: a receipt-level anonymous id, the loyalty id when a card is shown."""
    customer, rng = shopper.customer, shopper.rng
    catalog = world.catalog
    leaves, weights = zip(*customer.interests, strict=True)
    picks = [
        rng.choice(catalog.in_leaf(rng.choices(leaves, weights)[0]))
        for _ in range(rng.choice((1, 1, 2, 3)))
    ]
    saved_cart = list(shopper.cart)
    shopper.cart[:] = [p.product_id for p in picks]
    receipt = f"pos-{store_id}-{customer.index:05d}-{shopper.orders + 1:03d}"
    till = Device(f"till-{store_id}-{rng.randint(1, 4)}", "pos", receipt, app=False)
    session = Session(world, shopper, "store", till, ms, rng)
    extra: dict[str, Any] = {"store_id": store_id}
    if customer.loyalty_id is not None:
        extra["loyalty_id"] = customer.loyalty_id
    complete_order(session, extra)
    shopper.cart[:] = [p for p in saved_cart if p not in {x.product_id for x in picks}]


def aftercare(world: World, shopper: Shopper, ms: int, order: tuple[str, dict[str, Any]]) -> None:
    """Plan what follows an order; each step is scheduled as its own happening."""
    rng = shopper.rng
    satisfaction = rng.betavariate(5, 1.6)
    order_id, props = order
    plan: list[tuple[float, str]] = []
    if rng.random() < 0.35 * (1.0 - satisfaction) + 0.03:
        plan.append((rng.uniform(1, 5), "ticket"))
        if rng.random() < 0.5:
            plan.append((rng.uniform(3, 9), "refund"))
    elif rng.random() < 0.04:
        plan.append((rng.uniform(2, 9), "refund"))
    if rng.random() < 0.25:
        plan.append((rng.uniform(2, 7), "nps"))
    if rng.random() < 0.15:
        plan.append((rng.uniform(5, 12), "review"))
    for days, step in plan:
        world.schedule(ms + int(days * DAY), step, shopper, (order_id, props, satisfaction))


def follow_up(
    world: World, shopper: Shopper, ms: int, step: str, order: tuple[str, dict[str, Any], float]
) -> None:
    """One aftercare step: ticket (then CSAT), refund, NPS answer or review."""
    order_id, props, satisfaction = order
    rng = shopper.rng
    device = _own_device(shopper, rng, app=False)
    session = Session(world, shopper, "web", device, ms, rng)
    session.shopper.logged_in.add(device.device_id)
    if step == "ticket":
        _ticket(session, order_id, satisfaction)
    elif step == "refund":
        session.track(
            "Order Refunded", {k: props[k] for k in ("order_id", "total", "currency", "products")}
        )
    elif step == "nps":
        score = max(0, min(10, round(10 * satisfaction + rng.uniform(-1.5, 1.5))))
        session.track("Survey Answered", {"survey": "nps", "score": score})
    else:
        product = rng.choice(props["products"])
        rating = max(1, min(5, round(1 + 4 * satisfaction)))
        session.track(
            "Product Reviewed",
            {
                "review_id": f"rev-{order_id}-{product['product_id']}",
                "product_id": product["product_id"],
                "rating": rating,
                "review_body": _review(rating, str(product["name"])),
            },
        )
    if satisfaction < 0.35 and shopper.lapse_ms is None and rng.random() < 0.5:
        shopper.lapse_ms = ms


def _ticket(session: Session, order_id: str, satisfaction: float) -> None:
    """A support ticket about the order, then the CSAT answer once it is closed."""
    rng, ticket = session.rng, f"tkt-{order_id}"
    topic = rng.choice(("delivery", "sizing", "damaged", "payment"))
    props = {"ticket_id": ticket, "order_id": order_id, "topic": topic}
    session.track("Support Ticket Opened", props)
    session.ms += int(rng.uniform(2, 30) * HOUR)
    score = max(1, min(5, round(1 + 4 * satisfaction + rng.uniform(-1, 1))))
    session.track("Survey Answered", {"survey": "csat", "score": score, "ticket_id": ticket})


def _review(rating: int, name: str) -> str:
    words = {
        1: "Disappointed with the",
        2: "Not convinced by the",
        3: "Decent",
        4: "Really happy with the",
        5: "Absolutely love the",
    }
    return f"{words[rating]} {name}."


def _own_device(shopper: Shopper, rng: random.Random, *, app: bool) -> Device:
    own = [d for d in shopper.customer.devices if d.kind != "kiosk" and (d.app or not app)]
    return rng.choice(own or [shopper.customer.devices[0]])


def _opening_hours(ms: int, timezone: str, rng: random.Random) -> int:
    hour = local_hour(ms, timezone)
    if 10 <= hour < 19:
        return ms
    return ms + int(((10 - hour) % 24 + rng.uniform(0, 8)) * HOUR)
