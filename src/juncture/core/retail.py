"""The retailer's own tables as plain data: products (Google Merchant Center product data),
stock and price by location (the local inventory feed), and locations (stores and
warehouses), with the pure facts read from them: the price in force at a moment, whether a
product can be had, how far a store is.

Readers in :mod:`juncture.definitions.feeds` build these from the feeds; the store keeps
them; placements and templates read them.

>>> p = Product("sku-1", "Kettle", price=40.0, currency="EUR", sale_price=30.0)
>>> price_at(p, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
(30.0, True)
>>> round(distance_km(52.52, 13.405, 48.137, 11.575))
504
"""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

import msgspec

from juncture.core.journeys.state import local_zone

# Merchant Center's availability of a product (online), and the local inventory feed's
# availability of a product in one store.
AVAILABILITY: Final = ("in_stock", "out_of_stock", "preorder", "backorder")
LOCAL_AVAILABILITY: Final = (
    "in_stock",
    "limited_availability",
    "on_display_to_order",
    "out_of_stock",
)
PICKUP_METHODS: Final = ("buy", "reserve", "ship_to_store", "not_supported")
PICKUP_SLAS: Final = (
    "same_day", "next_day", "2-day", "3-day", "4-day", "5-day", "6-day", "7-day", "multi-week",
)  # fmt: skip
# Days until an order is ready for pickup, by SLA (multi-week: at least a week).
PICKUP_DAYS: Final = {"same_day": 0, "next_day": 1, "multi-week": 7} | {
    f"{n}-day": n for n in range(2, 8)
}
LOCATION_KINDS: Final = ("store", "warehouse")
WEEKDAYS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
SELLABLE: Final = frozenset({"in_stock", "limited_availability", "preorder", "backorder"})
EARTH_KM: Final = 6371.0088


# A product, its spec lines and related products are msgspec's frozen structs rather than
# frozen dataclasses (as the core's :class:`~juncture.core.events.Event` is): a feed builds
# one of each per row, and a frozen dataclass's __init__ costs five times as much (3.1 us
# for a product against 0.6; a first import 15% less CPU with structs). Change one with
# ``msgspec.structs.replace`` (``dataclasses.replace`` does not take them).
class Detail(msgspec.Struct, frozen=True):
    """One line of the spec sheet (``product_detail``): section, attribute, value."""

    section: str
    name: str
    value: str


class Related(msgspec.Struct, frozen=True):
    """A product the merchant relates to another (``kind``: related, accessory)."""

    product_id: str
    kind: str = "related"


class Product(msgspec.Struct, frozen=True):
    """One item of the product feed (a variant, when ``item_group_id`` groups several).
    ``category`` is ``product_type``, the merchant's category path (``A > B > C``);
    ``attributes`` are the feed's other columns, as given."""

    id: str
    title: str
    description: str | None = None
    link: str | None = None
    image_link: str | None = None
    brand: str | None = None
    category: str | None = None
    google_product_category: str | None = None
    gtin: str | None = None
    mpn: str | None = None
    item_group_id: str | None = None
    price: float | None = None
    currency: str | None = None
    sale_price: float | None = None
    sale_starts: dt.datetime | None = None
    sale_ends: dt.datetime | None = None
    availability: str = "in_stock"
    availability_date: dt.datetime | None = None
    condition: str | None = None
    color: str | None = None
    size: str | None = None
    material: str | None = None
    gender: str | None = None
    age_group: str | None = None
    details: tuple[Detail, ...] = ()
    related: tuple[Related, ...] = ()
    attributes: Mapping[str, str] = msgspec.field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Stock:
    """A product's stock and price in one location (``store_code``): a line of the local
    inventory feed, or of the warehouse's stock. ``quantity`` None: not counted."""

    product_id: str
    store_code: str
    quantity: int | None = None
    availability: str | None = None
    price: float | None = None
    currency: str | None = None
    sale_price: float | None = None
    sale_starts: dt.datetime | None = None
    sale_ends: dt.datetime | None = None
    pickup_method: str | None = None
    pickup_sla: str | None = None
    department: str | None = None
    aisle: str | None = None
    bay: str | None = None


@dataclass(frozen=True, slots=True)
class Location:
    """A store or warehouse. ``hours``: weekday (``monday``) to (opens, closes) as
    ``HH:MM`` in the location's ``time_zone``; a day that is absent is closed or not said."""

    store_code: str
    name: str
    kind: str = "store"
    address: str | None = None
    locality: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    phone: str | None = None
    hours: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    time_zone: str | None = None  # IANA (``Europe/Berlin``): hours are local; None: UTC


@dataclass(frozen=True, slots=True)
class Change:
    """A change of the tables a shopper may care about: ``price_drop`` (``before`` and
    ``after`` the prices in force) or ``back_in_stock`` (the quantities, or None), online
    (``store_code`` None) or in one location."""

    product_id: str
    kind: str
    at: dt.datetime
    store_code: str | None = None
    before: float | None = None
    after: float | None = None


PRICE_DROP: Final = "price_drop"
BACK_IN_STOCK: Final = "back_in_stock"


def product_changes(before: Product | None, after: Product, now: dt.datetime) -> list[Change]:
    """What changed for shoppers between two versions of a product (none for a new one)."""
    if before is None:
        return []
    found = []
    if before.availability == "out_of_stock" and after.availability != "out_of_stock":
        found.append(Change(after.id, BACK_IN_STOCK, now))
    was, now_price = price_at(before, now)[0], price_at(after, now)[0]
    if was is not None and now_price is not None and now_price < was:
        found.append(Change(after.id, PRICE_DROP, now, None, was, now_price))
    return found


def stock_changes(before: Stock | None, after: Stock, now: dt.datetime) -> list[Change]:
    """A location's line that can sell again is back in stock there."""
    if before is None or available(before) or not available(after):
        return []
    return [
        Change(
            after.product_id, BACK_IN_STOCK, now, after.store_code, before.quantity, after.quantity
        )
    ]


def on_sale(
    sale_price: float | None,
    starts: dt.datetime | None,
    ends: dt.datetime | None,
    now: dt.datetime,
) -> bool:
    """Whether a sale price is in force at ``now`` (no dates: always)."""
    if sale_price is None:
        return False
    return (starts is None or starts <= now) and (ends is None or now < ends)


def price_at(product: Product, now: dt.datetime) -> tuple[float | None, bool]:
    """The price a shopper pays at ``now`` and whether it is the sale price."""
    if on_sale(product.sale_price, product.sale_starts, product.sale_ends, now):
        return product.sale_price, True
    return product.price, False


def stock_price_at(stock: Stock, product: Product | None, now: dt.datetime) -> float | None:
    """The price in this location at ``now``: its own sale or price, else the product's."""
    if on_sale(stock.sale_price, stock.sale_starts, stock.sale_ends, now):
        return stock.sale_price
    if stock.price is not None:
        return stock.price
    return None if product is None else price_at(product, now)[0]


def available(stock: Stock) -> bool:
    """Whether the location can sell it now: a quantity above zero, or, not counted, an
    availability that sells."""
    if stock.quantity is not None:
        return stock.quantity > 0
    return stock.availability in SELLABLE


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine) in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_KM * math.asin(min(1.0, math.sqrt(h)))


def zone_of(location: Location | None) -> zoneinfo.ZoneInfo:
    """The location's time zone (UTC when it names none, or for no location)."""
    return local_zone(location.time_zone if location is not None else None)


def local_time(location: Location | None, at: dt.datetime) -> dt.datetime:
    """``at`` on the location's clock: its weekday and date are the store's.

    >>> berlin = Location("b1", "Berlin", time_zone="Europe/Berlin")
    >>> local_time(berlin, dt.datetime(2026, 12, 6, 23, 30, tzinfo=dt.UTC)).weekday()
    0
    """
    return at.astimezone(zone_of(location))


def open_at(location: Location, local: dt.datetime) -> bool:
    """Whether the location is open at ``local`` (a time in the location's own zone)."""
    hours = location.hours.get(WEEKDAYS[local.weekday()])
    if hours is None:
        return False
    now = local.strftime("%H:%M")
    opens, closes = hours
    return opens <= now < closes if opens < closes else now >= opens or now < closes
