"""Journey stage: where a customer stands, inferred from the profile at a time ``now``.

Rules, the first that holds wins:

1. **lapsed**: has ordered, and no activity for ``lapsed_after`` (default 90 days) before
   ``now``.
2. **loyalty**: at least ``loyalty_orders`` orders (default 2), or one order and activity
   after it within ``engaged_within`` (default 30 days) of ``now``.
3. **decision**: the cart holds items, a checkout was started since the last order, or
   the customer has ordered once (converted, not yet loyal).
4. **consideration**: any product view, product or category click, or cart activity.
5. **awareness**: anything else (page and screen views, identifies, ...).

A stage changes with events and with time. Time alone moves a customer who has ordered:
``loyalty`` -> ``decision`` when ``engaged_within`` passes after the last activity (one
order, no longer engaged), and into ``lapsed`` when ``lapsed_after`` passes. Every move
emits ``Journey Stage Changed`` (properties ``profile_id``, ``from``, ``to``):

- :func:`transition` when an event moves the profile (also ``cause_message_id``; both
  sides are judged at the event's time);
- for moves by time, :func:`next_change` says when the next one happens, the runtime
  keeps a timer for that moment, and the event is stamped with it (event time), so that
  replay and simulation emit it at the same moment as live traffic.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Final

import msgspec

from juncture.core import signals
from juncture.core.events import Event
from juncture.core.profile.model import Profile

STAGE_CHANGED: Final = "Journey Stage Changed"
_CONSIDERATION_EVENTS: Final = (
    "Product Viewed",
    "Product Clicked",
    "Category Clicked",
    "Product Added",
    "Product Removed",
    "Cart Viewed",
)


class Stage(enum.StrEnum):
    AWARENESS = "awareness"
    CONSIDERATION = "consideration"
    DECISION = "decision"
    LOYALTY = "loyalty"
    LAPSED = "lapsed"


class StageConfig(msgspec.Struct, frozen=True, kw_only=True):
    lapsed_after: dt.timedelta = dt.timedelta(days=90)
    loyalty_orders: int = 2
    engaged_within: dt.timedelta = dt.timedelta(days=30)


DEFAULT_CONFIG: Final = StageConfig()


def stage_of(profile: Profile, now: dt.datetime, config: StageConfig = DEFAULT_CONFIG) -> Stage:
    """The stage of ``profile`` at ``now`` by the rules in the module docstring."""
    orders = profile.order_count
    last_seen = profile.last_seen
    if orders and last_seen is not None and now - last_seen >= config.lapsed_after:
        return Stage.LAPSED
    if orders >= config.loyalty_orders or (orders and _engaged_after_order(profile, now, config)):
        return Stage.LOYALTY
    if orders or profile.cart.items or _in_checkout(profile):
        return Stage.DECISION
    if profile.products or _considered(profile.event_counts):
        return Stage.CONSIDERATION
    return Stage.AWARENESS


def _considered(counts: dict[str, int]) -> bool:
    if counts.keys().isdisjoint(_CONSIDERATION_EVENTS):
        return False  # the usual answer for a browsing profile, without a loop
    return any(counts.get(name) for name in _CONSIDERATION_EVENTS)


def _engaged_after_order(profile: Profile, now: dt.datetime, config: StageConfig) -> bool:
    ordered, last_seen = profile.last_order_at, profile.last_seen
    if ordered is None or last_seen is None:
        return False
    return last_seen > ordered and now - last_seen < config.engaged_within


def _in_checkout(profile: Profile) -> bool:
    cart = profile.cart
    return cart.checkout_at is not None and (
        cart.cleared_at is None or cart.checkout_at > cart.cleared_at
    )


def next_change(
    profile: Profile, since: dt.datetime, config: StageConfig = DEFAULT_CONFIG
) -> dt.datetime | None:
    """The first moment after ``since`` when time alone moves the profile to another stage
    if nothing else happens; None if it never does. The new stage holds from that moment.
    """
    last_seen = profile.last_seen
    if not profile.orders or last_seen is None:
        return None  # only a customer who has ordered changes stage by time
    current = stage_of(profile, since, config)
    # The rules compare ``now`` with the last activity only: these are the only moments
    # where the answer of :func:`stage_of` can change.
    for moment in _moments(last_seen, config):
        if moment > since and stage_of(profile, moment, config) != current:
            return moment
    return None


def _moments(last_seen: dt.datetime, config: StageConfig) -> tuple[dt.datetime, dt.datetime]:
    """The two moments after the last activity when a stage may move, earlier first."""
    engaged, lapsed = last_seen + config.engaged_within, last_seen + config.lapsed_after
    return (engaged, lapsed) if engaged <= lapsed else (lapsed, engaged)


def transition(
    before: Profile,
    after: Profile,
    event: Event,
    now: dt.datetime,
    config: StageConfig = DEFAULT_CONFIG,
) -> Event | None:
    """``Journey Stage Changed`` when ``event`` moved the profile to another stage.

    Both sides are judged at ``now`` (usually the event's time), so a lapsed customer who
    comes back shows as ``lapsed`` -> the new stage. A move by time before ``now`` has
    had its own event by then (the stage timer, see :func:`next_change`), so ``before``
    is judged in the stage it moved to.
    """
    old, new = stage_of(before, now, config), stage_of(after, now, config)
    if old == new:
        return None
    return signals.derive(
        event, STAGE_CHANGED, after.profile_id, {"from": old.value, "to": new.value}
    )


def changed(
    profile: Profile,
    since: dt.datetime,
    now: dt.datetime,
    config: StageConfig = DEFAULT_CONFIG,
) -> tuple[Stage, Stage] | None:
    """``(from, to)`` when time alone moved the profile's stage between ``since`` and ``now``."""
    old, new = stage_of(profile, since, config), stage_of(profile, now, config)
    return None if old == new else (old, new)
