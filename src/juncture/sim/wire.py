"""Segment HTTP Tracking API messages, as plain dicts exactly as they go over the wire.

Times inside the simulation are integer milliseconds since the Unix epoch; they are written
as ISO 8601 UTC with milliseconds and ``Z``. ``messageId`` comes from a seeded generator, so
the same run gives the same ids.
"""

from __future__ import annotations

import datetime as dt
import functools
import random
from typing import Any, Final

from juncture.sim.catalog import Product

LIBRARY: Final = {"name": "juncture-sim", "version": "0.1.0"}


def iso(ms: int) -> str:
    """``1700000000123`` -> ``'2023-11-14T22:13:20.123Z'``.

    >>> iso(1_700_000_000_123)
    '2023-11-14T22:13:20.123Z'
    """
    # Every message is stamped, and strftime per message was a fifth of the simulator's
    # time: the date is formatted once per day, the time of day (UTC) is arithmetic.
    day, in_day = divmod(ms, _DAY_MS)
    seconds, millis = divmod(in_day, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{_date(day)}T{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}Z"


_DAY_MS: Final = 86_400_000


@functools.lru_cache(maxsize=64)
def _date(day: int) -> str:
    """``YYYY-MM-DD`` of the ``day``-th day after the epoch, as :func:`iso` writes it."""
    return f"{dt.datetime.fromtimestamp(day * 86_400, dt.UTC):%Y-%m-%d}"


def to_ms(moment: dt.datetime) -> int:
    """Milliseconds since the epoch of an aware datetime."""
    if moment.tzinfo is None:
        raise ValueError("simulation times must be timezone-aware (UTC)")
    return int(moment.timestamp() * 1000)


def from_ms(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC)


class MessageIds:
    """UUIDs drawn from a seeded generator: unique and repeatable, never ``uuid4()``."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(f"message-ids:{seed}")

    def next(self) -> str:
        return uuid4_text(self._rng.getrandbits(128))


def uuid4_text(bits: int) -> str:
    """``str(uuid.UUID(int=bits, version=4))``, without building the UUID object (a tenth
    of the simulator's time when every message took one)."""
    # The variant (RFC 4122) and version bits, set exactly as uuid.UUID(version=4) does.
    value = (bits & ~(0xC000 << 48) | 0x8000 << 48) & ~(0xF000 << 64) | 4 << 76
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def message(
    ids: MessageIds,
    kind: str,
    ms: int,
    *,
    user_id: str | None,
    anonymous_id: str | None,
    context: dict[str, Any],
    event: str | None = None,
    name: str | None = None,
    properties: dict[str, Any] | None = None,
    traits: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One message; ``kind`` is the Segment ``type`` (track, identify, page, screen)."""
    out: dict[str, Any] = {"type": kind, "messageId": ids.next(), "timestamp": iso(ms)}
    if user_id is not None:
        out["userId"] = user_id
    if anonymous_id is not None:
        out["anonymousId"] = anonymous_id
    if event is not None:
        out["event"] = event
    if name is not None:
        out["name"] = name
    if properties is not None:
        out["properties"] = properties
    if traits is not None:
        out["traits"] = traits
    out["context"] = context
    return out


def product_properties(
    product: Product, currency: str, quantity: int = 1, position: int | None = None
) -> dict[str, Any]:
    """The E-commerce v2 product object."""
    props: dict[str, Any] = {
        "product_id": product.product_id,
        "sku": product.sku,
        "name": product.name,
        "category": product.category,
        "brand": product.brand,
        "price": product.price_in(currency),
        "quantity": quantity,
        "currency": currency,
        "url": product_url(product),
    }
    if position is not None:
        props["position"] = position
    return props


def product_url(product: Product) -> str:
    return f"https://shop.juncture.example/p/{product.product_id}"
