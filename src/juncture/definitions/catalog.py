"""The retailer's feeds read into :mod:`juncture.core.retail` records, row by row.

Three kinds, each in every format of :mod:`juncture.definitions.feeds`:

* ``products``: Google Merchant Center product data (``id``, ``title``, ``price``,
  ``availability`` required; ``sale_price`` with ``sale_price_effective_date``,
  ``product_type``, ``item_group_id``, ``product_detail`` ... and any other attribute kept
  as it is), plus the merchant's ``related_products`` and ``accessories`` (product ids);
* ``inventory``: the local inventory feed (``store_code``, ``id``, ``quantity``, ``price``,
  ``availability``, ``pickup_method``, ``pickup_sla``), with where the product sits in the
  store (``department``, ``aisle``, ``bay``, or ``instore_product_location``);
* ``locations``: stores and warehouses (``store_code``, ``name``, address, ``latitude``,
  ``longitude``, opening hours as ``monday_hours`` ... ``sunday_hours``, ``09:00-21:00``,
  on the clock of the location's ``time_zone``).

and the programme feeds of :mod:`juncture.definitions.programmes` (loyalty tiers and
accounts, promotions, coupons, associates, reviews).

A row with any bad value is refused whole, with a :class:`~juncture.definitions.feeds.Problem`
for each (its line, the attribute, why); the other rows are read on.
"""

from __future__ import annotations

import hashlib
import re
import zoneinfo
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any, Final

import msgspec
import orjson

from juncture.core import retail
from juncture.definitions import feeds, programmes
from juncture.definitions.feeds import Problem
from juncture.definitions.fields import Fields

Record = retail.Product | retail.Stock | retail.Location | programmes.Record
_HOURS: Final = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)\s*-\s*([01]\d|2[0-4]):([0-5]\d)$")
_CONDITIONS: Final = ("new", "refurbished", "used")
_GENDERS: Final = ("male", "female", "unisex")
_AGE_GROUPS: Final = ("newborn", "infant", "toddler", "kids", "adult")
_PRODUCT_OWN: Final = frozenset({"sale_price_effective_date", "product_detail"})
_PRODUCT_TEXTS: Final = {
    "description": 100_000, "link": 2000, "image_link": 2000, "brand": 200,
    "google_product_category": 750, "gtin": 50, "mpn": 70, "color": 100, "size": 100,
    "material": 200,
}  # fmt: skip
_READER: Final = 1  # what rows are read into: raise it when a row would read differently


@dataclass(frozen=True, slots=True)
class Read:
    """One row: its line, and the record read or the problems that refuse it."""

    line: int
    record: Record | None
    problems: tuple[Problem, ...] = ()


def read(stream: IO[bytes], name: str, kind: str, fmt: str) -> Iterator[Read]:
    """Each row of the feed ``name`` of ``kind`` in ``fmt`` (see :func:`feeds.guess`)."""
    builder(kind, name)
    for found in feeds.rows(stream, name, fmt):
        if isinstance(found, Problem):
            yield Read(found.line, None, (found,))
        else:
            yield build(kind, *found)


def builder(kind: str, name: str) -> Callable[[Fields], Record]:
    """What reads a row of ``kind`` (a feed named ``name`` of an unknown kind is refused)."""
    build = BUILDERS.get(kind)
    if build is None:
        raise feeds.invalid(f"unknown kind {kind!r}: use one of {', '.join(KINDS)}", name)
    return build


def build(kind: str, line: int, row: feeds.Row) -> Read:
    """The record of ``kind`` that the row at ``line`` holds, or the problems that refuse it."""
    fields = Fields(line, row)
    record = BUILDERS[kind](fields)
    problems = tuple(fields.problems)
    return Read(line, None if problems else record, problems)


def fingerprint(row: feeds.Row) -> str:
    """A digest of a feed row's attributes and values (their order aside): two rows with the
    same one build the same record. :data:`_READER` is in it, so that a change to what a
    row is read into reads every row again."""
    data = orjson.dumps([_READER, row], option=orjson.OPT_SORT_KEYS)
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def row_id(row: feeds.Row) -> str | None:
    """A product row's ``id`` as its product will have it (None: not plain text)."""
    value = row.get("id")
    return value.strip() if isinstance(value, str) else None


def _builders() -> dict[str, Callable[[Fields], Record]]:
    return {"products": product, "inventory": stock, "locations": location, **programmes.BUILDERS}


def _money(f: Fields, name: str, currency: str | None) -> float | None:
    found = f.price(name)
    if found is None:
        return None
    if currency is not None and found[1] != currency:
        f.problem(name, f"is in {found[1]} but the price is in {currency}")
    return found[0]


def product(f: Fields) -> retail.Product:
    """A product from a row of Merchant Center product data."""
    price = f.price("price")
    if price is None and "price" not in f.row:
        f.problem("price", "is required")
    currency = None if price is None else price[1]
    starts, ends = f.interval("sale_price_effective_date")
    availability = f.choice("availability", retail.AVAILABILITY)
    if availability is None and "availability" not in f.row:
        f.problem("availability", "is required")
    return retail.Product(
        id=f.ident("id") or "",
        title=f.text("title", required=True, limit=1000) or "",
        **f.plain(_PRODUCT_TEXTS),
        category=next(iter(f.texts("product_type")), None),
        item_group_id=f.ident("item_group_id", required=False),
        price=None if price is None else price[0],
        currency=currency,
        sale_price=_money(f, "sale_price", currency),
        sale_starts=starts,
        sale_ends=ends,
        availability=availability or "in_stock",
        availability_date=f.time("availability_date"),
        condition=f.choice("condition", _CONDITIONS),
        gender=f.choice("gender", _GENDERS),
        age_group=f.choice("age_group", _AGE_GROUPS),
        details=_details(f),
        related=_related(f),
        attributes=f.rest(_PRODUCT_OWN),  # last: the attributes no other argument read
    )


def _details(f: Fields) -> tuple[retail.Detail, ...]:
    """``product_detail``: ``section:attribute:value`` in text, sub-attributes in XML/JSON."""
    value = f.raw("product_detail")
    if value is None:
        return ()
    items = f.texts("product_detail") if isinstance(value, str) else value
    found = []
    for item in items if isinstance(items, list) else [items]:
        parts: list[str] = []
        if isinstance(item, dict):
            keys = ("section_name", "attribute_name", "attribute_value")
            parts = [str(item.get(k, "")).strip() for k in keys]
        elif isinstance(item, str):
            parts = item.split(":", 2)
            if len(parts) == 3:  # most lines: section, attribute and value
                section, name, text = parts
                parts = [section.strip(), name.strip(), text.strip()]
                if parts[1] and parts[2] and "\x00" not in item:
                    found.append(retail.Detail(*parts))
                    continue
            parts = [p.strip() for p in parts]
            parts = ["", *parts] if len(parts) == 2 else parts
        if len(parts) != 3 or not parts[1] or not parts[2] or "\x00" in "".join(parts):
            f.problem("product_detail", f"{':'.join(parts)!r} is not section:attribute:value")
        else:
            found.append(retail.Detail(*parts))
    return tuple(found)


def _related(f: Fields) -> tuple[retail.Related, ...]:
    found = [retail.Related(i, "related") for i in f.texts("related_products")]
    found += [retail.Related(i, "accessory") for i in f.texts("accessories")]
    for r in found:
        if len(r.product_id) > 200:
            f.problem(
                "related_products", f"{r.product_id[:20]!r}...: an id is at most 200 characters"
            )
    return tuple(found)


def stock(f: Fields) -> retail.Stock:
    """A product's stock in one location, from a row of the local inventory feed."""
    price = f.price("price")
    currency = None if price is None else price[1]
    starts, ends = f.interval("sale_price_effective_date")
    where = f.text("instore_product_location", limit=100)
    return retail.Stock(
        product_id=f.ident("id") or "",
        store_code=f.ident("store_code") or "",
        quantity=f.integer("quantity"),
        availability=f.choice("availability", retail.LOCAL_AVAILABILITY),
        price=None if price is None else price[0],
        currency=currency,
        sale_price=_money(f, "sale_price", currency),
        sale_starts=starts,
        sale_ends=ends,
        pickup_method=f.choice("pickup_method", retail.PICKUP_METHODS),
        pickup_sla=f.choice("pickup_sla", retail.PICKUP_SLAS),
        department=f.text("department", limit=200),
        aisle=f.text("aisle", limit=100) or where,
        bay=f.text("bay", limit=100),
    )


def _first(f: Fields, *names: str, required: bool = False, limit: int = 500) -> str | None:
    for name in names:
        if name in f.row:
            return f.text(name, required=required, limit=limit)
    if required:
        f.problem(names[0], "is required")
    return None


CHANGEABLE: Final = (
    "price", "sale_price", "sale_price_effective_date", "availability", "availability_date",
)  # fmt: skip


def product_change(
    product: retail.Product, given: Mapping[str, Any]
) -> tuple[retail.Product | None, list[Problem]]:
    """``product`` with the attributes of :data:`CHANGEABLE` that ``given`` names (Merchant
    Center's names, any case; null clears the optional ones), or None and the problems.
    Changing the price to another currency clears a sale price not given with it."""
    f = Fields(1, {feeds.key(k): v for k, v in given.items()})
    for name in sorted(set(f.row) - set(CHANGEABLE)):
        f.problem(name, f"cannot be changed alone: give one of {', '.join(CHANGEABLE)}")
    changes: dict[str, Any] = {}
    if "price" in f.row:
        price = f.price("price")
        if price is None:
            f.problem("price", "is required")
        else:
            changes["price"], changes["currency"] = price
    currency = changes.get("currency", product.currency)
    if "sale_price" in f.row:
        changes["sale_price"] = _money(f, "sale_price", currency)
    elif currency != product.currency:
        changes["sale_price"] = None
    if "sale_price_effective_date" in f.row:
        changes["sale_starts"], changes["sale_ends"] = f.interval("sale_price_effective_date")
    if "availability" in f.row:
        changes["availability"] = f.choice("availability", retail.AVAILABILITY)
        if changes["availability"] is None:
            f.problem("availability", "is required")
    if "availability_date" in f.row:
        changes["availability_date"] = f.time("availability_date")
    if f.problems:
        return None, f.problems
    return msgspec.structs.replace(product, **changes), []


def location(f: Fields) -> retail.Location:
    """A store or warehouse, from a row of the locations feed."""
    return retail.Location(
        store_code=f.ident("store_code") or "",
        name=_first(f, "name", "business_name", required=True) or "",
        kind=f.choice("kind", retail.LOCATION_KINDS, "store") or "store",
        address=_first(f, "address", "address_line_1"),
        locality=_first(f, "locality", "city"),
        region=_first(f, "administrative_area", "region"),
        postal_code=f.text("postal_code", limit=20),
        country=_first(f, "country", "region_code", limit=2),
        latitude=f.number("latitude", -90, 90),
        longitude=f.number("longitude", -180, 180),
        phone=_first(f, "phone", "primary_phone", limit=50),
        hours=_hours(f),
        time_zone=_zone(f),
    )


def _zone(f: Fields) -> str | None:
    """The location's IANA time zone (``time_zone`` or ``timezone``): its hours, and the
    associates' there, are on that clock."""
    name = _first(f, "time_zone", "timezone", limit=64)
    if name is None:
        return None
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        column = "time_zone" if "time_zone" in f.row else "timezone"
        f.problem(column, f"{name!r} is not an IANA time zone such as Europe/Berlin")
        return None
    return name


def _hours(f: Fields) -> dict[str, tuple[str, str]]:
    given = f.raw("hours")
    found = {}
    for day in retail.WEEKDAYS:
        text = given.get(day) if isinstance(given, dict) else f.text(f"{day}_hours", limit=20)
        f.used.add(f"{day}_hours")
        if text is None or str(text).strip().lower() == "closed":
            continue
        match = _HOURS.match(str(text).strip())
        if match is None:
            f.problem(f"{day}_hours", f"{text!r} is not opening hours such as 09:00-21:00")
            continue
        opens, closes = match.group(1, 2), match.group(3, 4)
        found[day] = (":".join(opens), ":".join(closes))
    return found


BUILDERS: Final = _builders()
KINDS: Final = tuple(BUILDERS)
