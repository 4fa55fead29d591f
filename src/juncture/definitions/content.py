"""What a journey says about its messages, checked where the journey is validated (every
problem with its file, line and field path): the ``data`` of a send node (what its template
shows) and the journey's ``send_window`` (when its marketing may leave).

.. code-block:: yaml

    data:
      offer: {code: WELCOME10, value: "10%", expires: 7d}   # or expires: 2026-12-24T18:00:00Z
      products:
        - {product_id: "507f1f77", name: Trail Runner 2, price: 89.0, currency: EUR,
           url: "https://shop.example/p/507f1f77", image_url: "https://..."}
      survey: {question: How likely are you to recommend us?, scale: 10,
               url: "https://shop.example/survey"}
      deadline: 48h                                          # or a time with a zone
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any, Final, Protocol

from juncture.core.journeys import content as c
from juncture.core.journeys.windows import DAYS, SendWindow
from juncture.definitions.reader import PathT, Problem, parse_duration

FIELDS: Final = frozenset({"offer", "products", "survey", "deadline"})
OFFER: Final = frozenset({"code", "value", "expires"})
PRODUCT: Final = frozenset({"product_id", "name", "price", "currency", "url", "image_url"})
SURVEY: Final = frozenset({"question", "scale", "url"})
MAX_PRODUCTS: Final = 12
_URL: Final = re.compile(r"^https?://[^\s]+$")
_HOURS: Final = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
_CURRENCY: Final = re.compile(r"^[A-Z]{3}$")


class Reader(Protocol):
    """What this module needs of the journey reader: typed getters that record problems."""

    problems: list[Problem]

    def problem(self, path: PathT, message: str) -> None: ...
    def known(self, data: Mapping[str, Any], path: PathT, allowed: frozenset[str]) -> None: ...
    def get(
        self, data: Mapping[str, Any], path: PathT, key: str, kind: type, need: bool
    ) -> Any: ...
    def text(self, data: Mapping[str, Any], path: PathT, key: str, need: bool = True) -> Any: ...


def read(r: Reader, raw: Mapping[str, Any], path: PathT) -> c.MessageData | None:
    """The node's ``data`` (empty when absent); None after recording its problems."""
    given = r.get(raw, path, "data", dict, False)
    if given is None:
        return None if "data" in raw else c.MessageData()
    here = (*path, "data")
    r.known(given, here, FIELDS)
    before = len(r.problems)
    offer = _offer(r, given, here) if "offer" in given else None
    products = _products(r, given, here)
    survey = _survey(r, given, here) if "survey" in given else None
    deadline = when(r, given, here, "deadline") if "deadline" in given else None
    if len(r.problems) != before:
        return None
    return c.MessageData(offer, products, survey, deadline)


def when(r: Reader, raw: Mapping[str, Any], path: PathT, key: str) -> c.When | None:
    """A duration after the send (``7d``) or a time with a zone (``2026-12-24T18:00Z``)."""
    value = raw[key]
    if isinstance(value, dt.datetime) or (isinstance(value, str) and "T" in value):
        try:
            moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            r.problem((*path, key), f"{key}: a time needs a zone, e.g. 2026-12-24T18:00:00Z")
            return None
        return moment
    try:
        return parse_duration(value)
    except ValueError as exc:
        r.problem((*path, key), f"{key}: {exc}, or a time such as 2026-12-24T18:00:00Z")
        return None


def _offer(r: Reader, data: Mapping[str, Any], path: PathT) -> c.Offer | None:
    raw = r.get(data, path, "offer", dict, True)
    if raw is None:
        return None
    here = (*path, "offer")
    r.known(raw, here, OFFER)
    code = r.text(raw, here, "code")
    if code is not None and not code.strip():
        r.problem((*here, "code"), "code must not be empty")
    value = raw.get("value")
    if value is not None and (isinstance(value, bool) or not isinstance(value, str | int | float)):
        r.problem((*here, "value"), f"value must be text or a number, not {value!r}")
    expires = when(r, raw, here, "expires") if "expires" in raw else None
    return None if code is None else c.Offer(code, None if value is None else str(value), expires)


def _products(r: Reader, data: Mapping[str, Any], path: PathT) -> tuple[c.Product, ...]:
    items = r.get(data, path, "products", list, False) or []
    if len(items) > MAX_PRODUCTS:
        r.problem((*path, "products"), f"at most {MAX_PRODUCTS} products")
    found = []
    for index, item in enumerate(items):
        here = (*path, "products", index)
        if not isinstance(item, dict):
            r.problem(here, "a product is a mapping with product_id, name, price, ...")
            continue
        r.known(item, here, PRODUCT)
        product = _product(r, item, here)
        if product is not None:
            found.append(product)
    return tuple(found)


def _product(r: Reader, item: Mapping[str, Any], here: PathT) -> c.Product | None:
    pid = item.get("product_id")
    if isinstance(pid, int) and not isinstance(pid, bool):
        pid = str(pid)  # YAML reads 12345 as a number; ids are text
    if not isinstance(pid, str) or not pid:
        r.problem(here, "a product needs its product_id")
        return None
    price = r.get(item, here, "price", float, False)
    if price is not None and price < 0:
        r.problem((*here, "price"), "price must not be negative")
    currency = r.text(item, here, "currency", need=False)
    if currency is not None and not _CURRENCY.match(currency):
        r.problem((*here, "currency"), f"currency {currency!r}: an ISO 4217 code such as EUR")
    return c.Product(
        product_id=pid,
        name=r.text(item, here, "name", need=False),
        price=price,
        currency=currency,
        url=_url(r, item, here, "url"),
        image_url=_url(r, item, here, "image_url"),
    )


def _survey(r: Reader, data: Mapping[str, Any], path: PathT) -> c.Survey | None:
    raw = r.get(data, path, "survey", dict, True)
    if raw is None:
        return None
    here = (*path, "survey")
    r.known(raw, here, SURVEY)
    question = r.text(raw, here, "question")
    scale = r.get(raw, here, "scale", int, False)
    if scale is not None and not 2 <= scale <= 10:
        r.problem((*here, "scale"), "scale must be from 2 to 10")
    url = _url(r, raw, here, "url")
    return None if question is None else c.Survey(question, scale or 10, url)


def _url(r: Reader, raw: Mapping[str, Any], path: PathT, key: str) -> str | None:
    value: str | None = r.text(raw, path, key, need=False)
    if value is not None and not _URL.match(value):
        r.problem((*path, key), f"{key} must be an http or https URL")
        return None
    return value


def window(r: Reader, data: Mapping[str, Any]) -> SendWindow | None:
    """``send_window: {days: [mon, tue, ...], hours: "09:00-18:00"}``, both optional (every
    day; all day); None when absent or after a problem."""
    raw = r.get(data, (), "send_window", dict, False)
    if raw is None:
        return None
    path: PathT = ("send_window",)
    r.known(raw, path, frozenset({"days", "hours"}))
    days = r.get(raw, path, "days", list, False)
    hours = r.text(raw, path, "hours", need=False)
    unknown = [d for d in days or [] if d not in DAYS]
    if unknown or days == []:
        r.problem((*path, "days"), f"days are some of {', '.join(DAYS)}")
        return None
    found = _HOURS.match(hours) if hours is not None else None
    if hours is not None and (found is None or hours[:5] == hours[6:]):
        r.problem(
            (*path, "hours"), "hours are HH:MM-HH:MM in the customer's time, e.g. 09:00-20:00"
        )
        return None
    chosen = frozenset(DAYS.index(d) for d in days) if days else frozenset(range(7))
    if found is None:
        return SendWindow(chosen)
    start, end = (dt.time(int(found[i]), int(found[i + 1])) for i in (1, 3))
    return SendWindow(chosen, start, end)
