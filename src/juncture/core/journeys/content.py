"""What a send node gives its template: an offer, products, a survey, a deadline.

A journey states them on the send node (``data:``); the grammar checks them
(``juncture.definitions.content``), and when the message is decided :func:`resolve` turns
them into the ``data`` of the template's context, with times made absolute from the moment
of sending (an offer that expires ``7d`` after the email expires seven days after *that*
email), so that every copy of a message says the same thing and an on-site countdown has a
fixed end.

>>> import datetime as dt
>>> now = dt.datetime(2026, 6, 1, 9, tzinfo=dt.UTC)
>>> data = MessageData(offer=Offer("WELCOME10", "10%", dt.timedelta(days=7)))
>>> resolve(data, now)["offer"]
{'code': 'WELCOME10', 'value': '10%', 'expires_at': '2026-06-08T09:00:00+00:00'}
>>> ends(data, now)
datetime.datetime(2026, 6, 8, 9, 0, tzinfo=datetime.timezone.utc)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

When = dt.timedelta | dt.datetime  # after the message is decided, or at a time


@dataclass(frozen=True, slots=True)
class Offer:
    """A code to use: ``value`` as the customer reads it (``10%``, ``5 EUR``)."""

    code: str
    value: str | None = None
    expires: When | None = None


@dataclass(frozen=True, slots=True)
class Product:
    """A product to show, in Segment's e-commerce property names."""

    product_id: str
    name: str | None = None
    price: float | None = None
    currency: str | None = None
    url: str | None = None
    image_url: str | None = None


@dataclass(frozen=True, slots=True)
class Survey:
    """A question to answer on a scale from 0 (NPS) or 1 up to ``scale``, at ``url``."""

    question: str
    scale: int = 10
    url: str | None = None


@dataclass(frozen=True, slots=True)
class MessageData:
    offer: Offer | None = None
    products: tuple[Product, ...] = ()
    survey: Survey | None = None
    deadline: When | None = None

    @property
    def empty(self) -> bool:
        """Nothing to show (as ``MessageData()``, without building one to compare)."""
        return (
            self.offer is None and not self.products and self.survey is None
            and self.deadline is None
        )  # fmt: skip


def at(when: When | None, now: dt.datetime) -> dt.datetime | None:
    """A :data:`When` as a time, counted from ``now``."""
    if when is None or isinstance(when, dt.datetime):
        return when
    return now + when


def ends(data: MessageData, now: dt.datetime) -> dt.datetime | None:
    """The earliest moment the message stops being true: its deadline or its offer's end."""
    found = [at(data.deadline, now), at(data.offer.expires, now) if data.offer else None]
    times = [t for t in found if t is not None]
    return min(times) if times else None


def resolve(data: MessageData, now: dt.datetime) -> dict[str, Any]:
    """The template's ``data``: plain values, times as ISO 8601, absent parts left out."""
    out: dict[str, Any] = {}
    if data.offer is not None:
        offer = {"code": data.offer.code, "value": data.offer.value}
        offer["expires_at"] = _iso(at(data.offer.expires, now))
        out["offer"] = {k: v for k, v in offer.items() if v is not None}
    if data.products:
        out["products"] = [_plain(p) for p in data.products]
    if data.survey is not None:
        out["survey"] = _plain(data.survey)
    if data.deadline is not None:
        out["deadline"] = _iso(at(data.deadline, now))
    return out


def _plain(value: Product | Survey) -> dict[str, Any]:
    given = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    return {k: v for k, v in given.items() if v is not None}


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()
