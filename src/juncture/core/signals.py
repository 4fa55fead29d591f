"""The six real-time signals, as derived events, and the cart-abandonment timer.

:func:`detect` compares a profile before and after one event and returns the signals the
event caused, plus timer commands. Each signal is an :class:`~juncture.core.events.Event`
with ``type="track"``, ``source="juncture"``, the causing event's timestamp, ids and
``received_at``, and a ``message_id`` derived from the causing event's ``message_id`` and
the signal name (so replays and retries are deduplicated like any event). Every signal
belongs to the profile (``profile_id``), and its ``properties`` carry ``profile_id`` and
``cause_message_id``; times are ISO 8601 strings.

Signals (``event`` names) and their extra properties:

``Click Interest``
    On a click event (``Product Clicked``, ``Category Clicked``): the clicked
    ``product_id``/``category``/``brand``/``price_band``, ``gained`` (the affinity keys
    that grew, e.g. ``category:Shoes``), ``top`` (the leading category, brand and price
    band after the click) and ``shifted`` (``{dimension: {"from", "to"}}`` where the lead
    changed): the direction the customer's preference moves.
``Product Interest``
    On a product view that crosses a depth threshold: ``reasons`` among
    ``repeat_views`` (views reach ``repeat_views``), ``revisit`` (a new visit after a
    pause of ``ProfileConfig.revisit_gap``), ``specs``, ``reviews``, ``long_view`` (time
    on the product reaches ``long_view``); with ``views``, ``visits``,
    ``seconds`` and the product's ``category``/``brand``/``price``.
``Cart Intent``
    On ``Product Added``: the ``product_id``, ``cart`` (items), ``cart_value``,
    ``item_count``, ``currency``, and ``strong`` (the cart value reaches
    ``strong_cart_value`` or the product was viewed ``repeat_views`` times).
``Cart Abandoned`` and ``Checkout Abandoned``
    Not from :func:`detect` but from :func:`fire_timer`, when a cart (one not in
    checkout: ``cart_quiet``) or a started checkout (``checkout_quiet``) has been quiet
    that long; ``Checkout Started`` cancels the cart's timer and starts the checkout's,
    ``Order Completed`` or an emptied cart cancels both (rules in
    :mod:`juncture.core.abandonment`). Properties: ``profile_id``, ``cart``,
    ``cart_value``, ``item_count``, ``currency``, ``last_activity_at``, and for a
    checkout ``checkout_started_at``. No ``cause_message_id``: the timestamp is the due
    time and the ``message_id`` derives from the profile id and the due time.
``Channel Switched``
    When an event arrives on another channel or device than the profile's last one,
    within ``channel_switch_window`` of the last activity: ``from_channel``,
    ``to_channel``, ``from_device``, ``to_device``, ``seconds_since_last``, and the carried
    context: ``cart_value``, ``item_count``, ``last_viewed_product`` (id, category, brand,
    price).
``Post Purchase Engagement``
    On usage, support, feedback or review events after an order, within
    ``post_purchase_window``: ``kind`` (``usage``/``support``/``feedback``/``review``),
    ``source_event``, ``order_id``, ``days_since_order``, and ``score``/``rating`` when
    the event has one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

import msgspec

from juncture.core import abandonment
from juncture.core.abandonment import CART_ABANDONED, CART_TIMER, CHECKOUT_ABANDONED, CHECKOUT_TIMER
from juncture.core.events import Event
from juncture.core.profile.affinity import price_band, top_affinities
from juncture.core.profile.model import NEVER_VIEWED, Profile
from juncture.core.profile.properties import number, product_key
from juncture.core.profile.reducer import DERIVED_SOURCE, channel_of, device_of
from juncture.core.timers import CancelTimer, ScheduleTimer, TimerCommand, signal_id

# Timer commands and the abandonment names live in their own modules and are re-exported.
__all__ = [
    "CART_ABANDONED",
    "CART_INTENT",
    "CART_TIMER",
    "CHANNEL_SWITCHED",
    "CHECKOUT_ABANDONED",
    "CHECKOUT_TIMER",
    "CLICK_INTEREST",
    "DEFAULT_CONFIG",
    "POST_PURCHASE",
    "PRODUCT_INTEREST",
    "CancelTimer",
    "Detection",
    "ScheduleTimer",
    "SignalConfig",
    "TimerCommand",
    "derive",
    "detect",
    "fire_timer",
    "signal_id",
    "timer_key",
]

CLICK_INTEREST: Final = "Click Interest"
PRODUCT_INTEREST: Final = "Product Interest"
CART_INTENT: Final = "Cart Intent"
CHANNEL_SWITCHED: Final = "Channel Switched"
POST_PURCHASE: Final = "Post Purchase Engagement"

_VIEW_EVENTS: Final = frozenset(
    {"Product Viewed", "Product Specs Viewed", "Product Reviews Viewed"}
)


class SignalConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Every threshold of the six signals."""

    click_events: frozenset[str] = frozenset({"Product Clicked", "Category Clicked"})
    repeat_views: int = 3
    long_view: dt.timedelta = dt.timedelta(seconds=60)
    strong_cart_value: float = 100.0
    cart_quiet: dt.timedelta = dt.timedelta(minutes=30)
    checkout_quiet: dt.timedelta = dt.timedelta(hours=1)
    channel_switch_window: dt.timedelta = dt.timedelta(hours=24)
    post_purchase_window: dt.timedelta = dt.timedelta(days=90)
    usage_events: frozenset[str] = frozenset({"Product Used", "Feature Used", "App Opened"})
    support_events: frozenset[str] = frozenset(
        {"Ticket Created", "Support Ticket Created", "Support Chat Started"}
    )
    feedback_events: frozenset[str] = frozenset(
        {"Survey Answered", "NPS Submitted", "CSAT Submitted", "Feedback Submitted"}
    )
    review_events: frozenset[str] = frozenset({"Product Reviewed"})


class Detection(msgspec.Struct, frozen=True, kw_only=True):
    events: tuple[Event, ...] = ()
    timers: tuple[TimerCommand, ...] = ()


DEFAULT_CONFIG: Final = SignalConfig()
_NOTHING: Final = Detection()


def derive(cause: Event, name: str, profile_id: str, properties: dict[str, Any]) -> Event:
    """A derived event named ``name`` of the profile ``profile_id``, caused by ``cause``."""
    return Event(
        source=DERIVED_SOURCE,
        message_id=signal_id(cause.message_id, name),
        type="track",
        event=name,
        timestamp=cause.timestamp,
        received_at=cause.received_at,
        user_id=cause.user_id,
        anonymous_id=cause.anonymous_id,
        profile_id=profile_id,
        properties={"profile_id": profile_id, "cause_message_id": cause.message_id, **properties},
    )


def timer_key(profile_id: str) -> str:
    """The key of the cart-abandonment timer of a profile."""
    return abandonment.cart_key(profile_id)


def detect(
    before: Profile, after: Profile, event: Event, config: SignalConfig = DEFAULT_CONFIG
) -> Detection:
    """The signals ``event`` causes, given the profile before and after reducing it."""
    if event.source == DERIVED_SOURCE:
        return _NOTHING
    found: list[Event] = []
    name = event.event if event.type == "track" else None
    if name in config.click_events:
        _append(found, _click_interest(before, after, event))
    elif name in _VIEW_EVENTS:
        _append(found, _product_interest(before, after, event, config))
    elif name == "Product Added":
        _append(found, _cart_intent(after, event, config))
    _append(found, _channel_switched(before, event, config))
    if name is not None and before.last_order_id is not None:
        _append(found, _post_purchase(before, event, config))
    timers = abandonment.timers(before.cart, after, name, config.cart_quiet, config.checkout_quiet)
    if not found and not timers:
        return _NOTHING
    return Detection(events=tuple(found), timers=timers)


def _append(found: list[Event], signal: Event | None) -> None:
    if signal is not None:
        found.append(signal)


def _click_interest(before: Profile, after: Profile, event: Event) -> Event | None:
    gained = sorted([k for k, v in after.affinity.items() if v > before.affinity.get(k, 0.0)])
    if not gained:
        return None
    props = event.properties
    top, was = top_affinities(after), top_affinities(before)
    shifted = {d: {"from": was[d], "to": new} for d, new in top.items() if was[d] != new}
    price = number(props.get("price"))
    return derive(
        event,
        CLICK_INTEREST,
        after.profile_id,
        {
            "product_id": product_key(props),
            "category": props.get("category"),
            "brand": props.get("brand"),
            "price_band": price_band(price),
            "gained": gained,
            "top": top,
            "shifted": shifted,
        },
    )


def _product_interest(
    before: Profile, after: Profile, event: Event, config: SignalConfig
) -> Event | None:
    pid = product_key(event.properties)
    view = after.products.get(pid) if pid is not None else None
    if pid is None or view is None:
        return None
    old = before.products.get(pid, NEVER_VIEWED)
    reasons = []  # appended one by one: a comprehension costs more on this per-view path
    if old.views < config.repeat_views <= view.views:
        reasons.append("repeat_views")
    if view.visit_count > old.visit_count and view.visit_count >= 2:
        reasons.append("revisit")
    if view.spec_views > old.spec_views:
        reasons.append("specs")
    if view.review_views > old.review_views:
        reasons.append("reviews")
    if old.seconds < config.long_view.total_seconds() <= view.seconds:
        reasons.append("long_view")
    if not reasons:
        return None
    return derive(
        event,
        PRODUCT_INTEREST,
        after.profile_id,
        {
            "product_id": pid,
            "reasons": reasons,
            "views": view.views,
            "visits": view.visit_count,
            "seconds": view.seconds,
            "category": view.category,
            "brand": view.brand,
            "price": view.price,
        },
    )


def _cart_intent(after: Profile, event: Event, config: SignalConfig) -> Event | None:
    pid = product_key(event.properties)
    if pid is None or pid not in after.cart.items:
        return None
    view = after.products.get(pid)
    value = after.cart.value
    strong = value >= config.strong_cart_value or (
        view is not None and view.views >= config.repeat_views
    )
    return derive(
        event,
        CART_INTENT,
        after.profile_id,
        {"product_id": pid, **abandonment.cart_json(after.cart), "strong": strong},
    )


def _channel_switched(before: Profile, event: Event, config: SignalConfig) -> Event | None:
    last = before.last_seen
    if last is None or event.timestamp < last:
        return None
    gap = event.timestamp - last
    if gap > config.channel_switch_window:
        return None
    channel, device = channel_of(event), device_of(event)
    new_channel = channel is not None and before.last_channel not in (None, channel)
    new_device = device is not None and before.last_device not in (None, device)
    if not (new_channel or new_device):
        return None
    product = before.last_product
    view = before.products.get(product) if product is not None else None
    carried = None
    if product is not None and view is not None:
        carried = {
            "product_id": product,
            "category": view.category,
            "brand": view.brand,
            "price": view.price,
        }
    return derive(
        event,
        CHANNEL_SWITCHED,
        before.profile_id,
        {
            "from_channel": before.last_channel,
            "to_channel": channel or before.last_channel,
            "from_device": before.last_device,
            "to_device": device or before.last_device,
            "seconds_since_last": gap.total_seconds(),
            "cart_value": before.cart.value,
            "item_count": before.cart.quantity,
            "last_viewed_product": carried,
        },
    )


def _engagement_kind(name: str, config: SignalConfig) -> str | None:
    for kind, names in (
        ("usage", config.usage_events),
        ("support", config.support_events),
        ("feedback", config.feedback_events),
        ("review", config.review_events),
    ):
        if name in names:
            return kind
    return None


def _post_purchase(before: Profile, event: Event, config: SignalConfig) -> Event | None:
    kind = _engagement_kind(event.display_name, config)
    ordered = before.last_order_at
    if kind is None or ordered is None or event.timestamp <= ordered:
        return None
    since = event.timestamp - ordered
    if since > config.post_purchase_window:
        return None
    props: dict[str, Any] = {
        "kind": kind,
        "source_event": event.display_name,
        "order_id": before.last_order_id,
        "days_since_order": round(since.total_seconds() / 86400, 3),
    }
    for key in ("score", "rating"):
        value = number(event.properties.get(key))
        if value is not None:
            props[key] = value
    return derive(event, POST_PURCHASE, before.profile_id, props)


def fire_timer(
    profile: Profile,
    timer: ScheduleTimer,
    now: dt.datetime,
    config: SignalConfig = DEFAULT_CONFIG,
) -> list[Event]:
    """``Cart Abandoned`` or ``Checkout Abandoned`` if ``timer`` is due and current (see
    :mod:`juncture.core.abandonment`); nothing for any other timer."""
    return abandonment.fire(profile, timer, now, config.cart_quiet, config.checkout_quiet)
