"""The shoppers' own records beside the retailer's tables, as plain data: wish-listed
products, store and online events with their registrations, and expert appointments; with
the pure answers read from them (a wish list folded from Segment's wish list events, an
associate's free slots on a day).

>>> w = fold({}, "user_id:u1", WISH_ADDED, {"product_id": "k1", "price": 40}, (NOON, 7))
>>> w[("user_id:u1", "k1")].price
40.0
>>> w = fold(w, "user_id:u1", WISH_REMOVED, {"product_id": "k1"}, (NOON, 8))
>>> w[("user_id:u1", "k1")].removed_at == NOON
True
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

WISH_ADDED: Final = "Product Added to Wishlist"
WISH_REMOVED: Final = "Product Removed from Wishlist"
WISH_EVENTS: Final = (WISH_ADDED, WISH_REMOVED)
NOON: Final = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
SLOT: Final = dt.timedelta(minutes=30)  # an appointment's length
BOOKED, CANCELLED = "booked", "cancelled"


@dataclass(frozen=True, slots=True)
class Wish:
    """A product on a shopper's wish list (``owner``: ``user_id:...`` or
    ``anonymous_id:...``), with the price when added; ``removed_at`` once taken off. ``seq`` is
    the log position of the event that last set it (None: set over the API)."""

    owner: str
    product_id: str
    added_at: dt.datetime
    price: float | None = None
    wishlist_id: str | None = None
    removed_at: dt.datetime | None = None
    seq: int | None = None


Wishes = dict[tuple[str, str], Wish]


def fold(
    wishes: Mapping[tuple[str, str], Wish],
    owner: str,
    event: str,
    properties: Mapping[str, Any],
    when: tuple[dt.datetime, int],
) -> Wishes:
    """``wishes`` after one of Segment's wish list events, ``when`` its time and log seq (a
    later seq wins; an event without a ``product_id`` changes nothing)."""
    at, seq = when
    pid = properties.get("product_id")
    if event not in WISH_EVENTS or not isinstance(pid, str) or not pid:
        return dict(wishes)
    known = wishes.get((owner, pid))
    if known is not None and known.seq is not None and known.seq >= seq:
        return dict(wishes)
    price = properties.get("price")
    listed = properties.get("wishlist_id")
    wish = Wish(
        owner,
        pid,
        known.added_at if known is not None and known.removed_at is None else at,
        float(price) if isinstance(price, int | float) else (known.price if known else None),
        listed if isinstance(listed, str) else (known.wishlist_id if known else None),
        removed_at=at if event == WISH_REMOVED else None,
        seq=seq,
    )
    return {**wishes, (owner, pid): wish}


@dataclass(frozen=True, slots=True)
class StoreEvent:
    """A store or online event (``store_code`` None: online): a workshop, a launch, a
    tasting; the products and associates it features, the product lines it is about."""

    event_id: str
    title: str
    starts: dt.datetime
    ends: dt.datetime | None = None
    store_code: str | None = None
    description: str | None = None
    product_ids: tuple[str, ...] = ()
    associate_ids: tuple[str, ...] = ()
    lines: tuple[str, ...] = ()  # category paths or brands
    capacity: int | None = None
    link: str | None = None

    def over(self, now: dt.datetime) -> bool:
        return (self.ends or self.starts + dt.timedelta(hours=2)) <= now


@dataclass(frozen=True, slots=True)
class Registration:
    """A shopper (``customer_id``, the tracking userId) registered for an event, and when
    they came (``attended_at``, from a check-in or the point of sale)."""

    event_id: str
    customer_id: str
    registered_at: dt.datetime
    attended_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Appointment:
    """A shopper's appointment with an associate at one slot's start."""

    appointment_id: str
    associate_id: str
    store_code: str
    starts: dt.datetime
    customer_id: str
    product_id: str | None = None
    status: str = BOOKED
    created_at: dt.datetime = NOON


def free_slots(
    hours: tuple[str, str] | None,
    day: dt.date,
    taken: Sequence[dt.datetime],
    after: dt.datetime,
    zone: dt.tzinfo = dt.UTC,
) -> list[dt.datetime]:
    """The starts of :data:`SLOT`-long slots within working ``hours`` (``HH:MM`` on the
    store's clock, ``zone``) on ``day`` (the store's date), after ``after`` and not ``taken``;
    as times in ``zone``. Slots are counted in elapsed time, so a day when the clocks change
    has the slots its hours really hold.

    >>> [s.hour for s in free_slots(("09:00", "11:00"), NOON.date(), [], NOON.replace(hour=0))]
    [9, 9, 10, 10]
    """
    if hours is None:
        return []
    opens, closes = (dt.time.fromisoformat(h) for h in hours)
    start = dt.datetime.combine(day, opens, zone).astimezone(dt.UTC)
    end = dt.datetime.combine(day, closes, zone).astimezone(dt.UTC)
    busy = {t.astimezone(dt.UTC) for t in taken}
    found = []
    while start + SLOT <= end:
        if start > after and start not in busy:
            found.append(start.astimezone(zone))
        start += SLOT
    return found


def local_day(day: dt.date, zone: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    """The instants (UTC) that ``day`` on a clock in ``zone`` starts and ends: 23 or 25
    hours apart on a day the clocks change.

    >>> import zoneinfo
    >>> a, b = local_day(dt.date(2026, 11, 1), zoneinfo.ZoneInfo("America/New_York"))
    >>> a.isoformat(), (b - a).total_seconds() / 3600
    ('2026-11-01T04:00:00+00:00', 25.0)
    """
    start = dt.datetime.combine(day, dt.time(), zone).astimezone(dt.UTC)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), zone).astimezone(dt.UTC)
    return start, end
