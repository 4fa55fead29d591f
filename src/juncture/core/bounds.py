"""The bounds every value that enters Juncture must keep, checked at the edge.

One place for them, so that what ingestion accepts is what every later stage can compute
with, store in either database and read back: times within :data:`EARLIEST` ..
:data:`LATEST` (date arithmetic on them, with any window a definition may declare, stays
far inside what ``datetime`` can hold), durations up to :data:`MAX_DURATION`, integers in 64
bits, floats finite and within :data:`MAX_FLOAT`, ids within the columns that hold them,
no NUL (PostgreSQL text cannot hold it) and nesting that every JSON reader can read back.

>>> within_time(dt.datetime(1, 1, 1, tzinfo=dt.UTC))
False
>>> check_tree({"products": [{"price": 1e308}]}, "$.properties")
Traceback (most recent call last):
...
juncture.core.bounds.OutOfBounds: number 1e+308 is outside -1e+15 .. 1e+15
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

EARLIEST: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST: Final = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)
MAX_DURATION: Final = dt.timedelta(days=36_500)  # a hundred years
MAX_ID: Final = 200  # characters: the id columns of the event log
MAX_DEPTH: Final = 32  # levels of objects and arrays below a message
MIN_INT: Final = -(2**63)
MAX_INT: Final = 2**63 - 1
MAX_FLOAT: Final = 1e15  # money, counts and scores far below where sums overflow


# Properties that name a thing (Segment's e-commerce spec): journeys key enrollments, timers
# and messages on them, so they keep to the id columns like the message's own ids.
ID_PROPERTIES: Final = frozenset(
    {"cart_id", "checkout_id", "order_id", "product_id", "sku", "coupon_id", "promotion_id",
     "list_id", "wishlist_id", "review_id", "store_id", "store_code"}
)  # fmt: skip


class OutOfBounds(ValueError):
    """A value outside the bounds; ``path`` is a JSON path below the caller's."""

    def __init__(self, message: str, path: str) -> None:
        super().__init__(message)
        self.message = message
        self.path = path


def within_time(value: dt.datetime) -> bool:
    """Whether a time is in the range every stage can compute with."""
    return EARLIEST <= value < LATEST


def time_range() -> str:
    return f"{EARLIEST:%Y-%m-%d} .. {LATEST:%Y-%m-%d}"


def check_id(value: str, path: str) -> None:
    """An identifier: at most :data:`MAX_ID` characters, no NUL."""
    if len(value) > MAX_ID:
        raise OutOfBounds(f"is {len(value)} characters; the limit is {MAX_ID}", path)
    if "\x00" in value:
        raise OutOfBounds("contains a NUL character (U+0000)", path)


# Digits as 0 and E as e: then "0e" is an exponent and sixteen 0s a long number, found by
# two substring searches in C (a regular expression took several times longer).
_DIGITS: Final = bytes.maketrans(b"0123456789E", b"0000000000e")
_LONG: Final = b"0" * 16


def may_exceed(raw: bytes) -> bool:
    """Whether a message's JSON text might hold a value outside the bounds: a NUL escape, a
    number with an exponent or 16 digits in a row, or as many brackets as :data:`MAX_DEPTH`.
    False proves every value fits (a few searches of the bytes, far faster than a walk of
    the decoded values); True only means the walk must look.

    >>> may_exceed(b'{"properties": {"price": 19.99, "sku": "A-12"}}')
    False
    >>> may_exceed(b'{"properties": {"price": 1E308}}')
    True
    """
    if b"\\u0000" in raw or raw.count(b"{") + raw.count(b"[") >= MAX_DEPTH:
        return True
    shape = raw.translate(_DIGITS)
    return b"0e" in shape or _LONG in shape


def check_named(properties: dict[str, Any], path: str) -> None:
    """The :data:`ID_PROPERTIES` of ``properties`` and of each of its ``products``."""
    _check_named(properties, path)
    products = properties.get("products")
    if isinstance(products, list):
        for index, product in enumerate(products):
            if isinstance(product, dict):
                _check_named(product, f"{path}.products[{index}]")


def _check_named(found: dict[str, Any], path: str) -> None:
    for key in ID_PROPERTIES.intersection(found):
        value = found[key]
        if isinstance(value, str):
            check_id(value, f"{path}.{key}")


def check_tree(value: Any, path: str, *, nul: bool = True) -> None:
    """A decoded JSON value (object, array or scalar) within bounds. ``nul=False`` skips the
    search for NUL, for a caller that knows the raw bytes hold none.

    The walk is the hot path of ingestion, so it only looks; where it finds a problem it
    walks again to say where."""
    if not _fits(value, 0, nul):
        _locate(value, path, 0, nul)


def _fits(node: Any, depth: int, nul: bool) -> bool:
    kind = type(node)
    if kind is not dict and kind is not list:
        return _scalar_fits(node, nul)
    if depth >= MAX_DEPTH or (nul and kind is dict and any("\x00" in k for k in node)):
        return False
    for item in node.values() if kind is dict else node:
        kind = type(item)
        if kind is str:
            ok = not (nul and "\x00" in item)
        elif kind is dict or kind is list:
            ok = _fits(item, depth + 1, nul)
        else:
            ok = _scalar_fits(item, nul)
        if not ok:
            return False
    return True


def _scalar_fits(value: Any, nul: bool) -> bool:
    kind = type(value)
    if kind is int:
        return bool(MIN_INT <= value <= MAX_INT)
    if kind is float:
        return bool(-MAX_FLOAT <= value <= MAX_FLOAT)  # False for NaN too
    if kind is str:
        return not (nul and "\x00" in value)
    return True


def _locate(node: Any, path: str, depth: int, nul: bool) -> None:
    if isinstance(node, dict | list) and depth >= MAX_DEPTH:
        raise OutOfBounds(f"nested deeper than {MAX_DEPTH} levels", path)
    if isinstance(node, dict):
        for key, item in node.items():
            where = f"{path}.{key}"
            if nul and "\x00" in key:
                raise OutOfBounds("a key contains a NUL character (U+0000)", where)
            _locate(item, where, depth + 1, nul)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            _locate(item, f"{path}[{index}]", depth + 1, nul)
    elif not _scalar_fits(node, nul):
        raise OutOfBounds(_scalar_problem(node), path)


def _scalar_problem(value: Any) -> str:
    if isinstance(value, str):
        return "contains a NUL character (U+0000)"
    if isinstance(value, int):
        return "integer is outside the 64-bit range"
    return f"number {value!r} is outside {-MAX_FLOAT:g} .. {MAX_FLOAT:g}"
