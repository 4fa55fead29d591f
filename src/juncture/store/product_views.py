"""A profile's product views, stored apart from its body (table ``product_views``).

``profiles.body`` is rewritten on every commit that touches a profile, and most of a
shopper's profile is ``Profile.products``, of which one event changes one entry. So the body
is stored without them (:func:`body`), each entry is a row of its own keyed by profile and
product, with its ``position`` in the dict (the order can decide ties, so it is kept), and a
save writes only the entries that changed (:func:`changes`). Every reader puts the two back
together with :func:`profile`, reading the views of many profiles in one query
(:data:`SELECT` on the writer's cursor, :func:`read` on SQLAlchemy connections; both
grouped by :func:`grouped`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import compress
from operator import is_not
from typing import Any, Final

import msgspec
import sqlalchemy as sa

from juncture.core.profile.model import ProductView, Profile
from juncture.store import tables

# (product_id, the ProductView's JSON) of one profile, in position order.
Views = list[tuple[str, str]]
# A row of product_views: (profile_id, product_id, position, view).
Row = tuple[str, str, int, str]

SELECT: Final = (
    "SELECT profile_id, product_id, view FROM product_views "
    "WHERE profile_id IN ({marks}) ORDER BY profile_id, position"
)
_CHUNK: Final = 500
_encoder: Final = msgspec.json.Encoder()
_decoder: Final = msgspec.json.Decoder(Profile)
_V: Final = tables.product_views


def body(p: Profile) -> str:
    """The profile's JSON without its product views (``omit_defaults`` leaves an empty
    ``products`` out)."""
    if p.products:
        p = msgspec.structs.replace(p, products={})
    return _encoder.encode(p).decode()


def profile(stored: str | bytes, views: Views | None) -> Profile:
    """The profile a body and its views (as read, in position order) make: one decode of
    the body with the views spliced in as its ``products``, so that the dict and its order
    are what they were when saved."""
    if not views:
        return _decoder.decode(stored)
    text = stored.decode() if isinstance(stored, bytes) else stored
    entries = ",".join(f"{_encoder.encode(pid).decode()}:{view}" for pid, view in views)
    return _decoder.decode(f'{{"products":{{{entries}}},{text[1:]}')


def changes(
    pid: str, before: Mapping[str, ProductView], after: Mapping[str, ProductView]
) -> tuple[bool, list[Row]]:
    """The rows to upsert for ``after`` when ``before`` is stored, and whether the stored
    rows must go first. The reducer only adds entries or replaces one (a replaced entry is a
    new object, an unchanged one the same), so ``before``'s keys are usually the start of
    ``after``'s and only new objects are written; otherwise (a merge may reorder) every
    entry is written again after the stored ones are deleted."""
    if after is before:
        return False, []
    keys = list(after)
    n = len(before)
    if keys[:n] != list(before):
        return n > 0, [
            (pid, k, i, _encoder.encode(v).decode()) for i, (k, v) in enumerate(after.items())
        ]
    views = list(after.values())
    # which of the first n are other objects, then the new ones; the scan runs in C
    found = [*compress(range(n), map(is_not, views, before.values())), *range(n, len(views))]
    return False, [(pid, keys[i], i, _encoder.encode(views[i]).decode()) for i in found]


def grouped(rows: Iterable[Sequence[Any]]) -> dict[str, Views]:
    """``(profile_id, product_id, view)`` rows, in position order, as views by profile."""
    found: dict[str, Views] = {}
    for pid, product, view in rows:
        found.setdefault(pid, []).append((product, view))
    return found


def read(conn: sa.Connection, ids: Sequence[str]) -> dict[str, Views]:
    """The views of ``ids`` by profile, on a SQLAlchemy connection."""
    rows: list[Sequence[Any]] = []
    for start in range(0, len(ids), _CHUNK):
        query = (
            sa.select(_V.c.profile_id, _V.c.product_id, _V.c.view)
            .where(_V.c.profile_id.in_(list(ids[start : start + _CHUNK])))
            .order_by(_V.c.profile_id, _V.c.position)
        )
        rows.extend(conn.execute(query))
    return grouped(rows)
