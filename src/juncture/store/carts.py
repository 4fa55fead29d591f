"""The cart a message shows when it leaves (:class:`Carts`).

A message is decided with the cart of that moment, and may leave hours later (quiet hours,
retries): by then the customer may have bought it. The dispatcher asks for the cart again
just before it renders a template that lists the cart: the profile's cart now (a merged
profile's survivor), less the products an order bought since the message's enrollment began,
as the journeys show it (:func:`juncture.core.journeys.profile_view.cart_view`).
"""

from __future__ import annotations

from typing import Any, Final

import sqlalchemy as sa

from juncture.core.events import as_utc
from juncture.core.journeys.profile_view import cart_view
from juncture.store import product_views, tables
from juncture.store.outbox import Outbox

_P: Final = tables.profiles
_E: Final = tables.enrollments
_HOPS: Final = 8  # redirects followed: a chain of merges is short


class Carts:
    """Reads carts for the dispatcher, in the database of its ``outbox``. Thread-safe (a
    connection per call)."""

    def __init__(self, outbox: Outbox) -> None:
        self.engine = outbox.engine

    def at_send(self, profile_id: str, enrollment_id: str | None) -> dict[str, Any] | None:
        """The cart as a message of ``enrollment_id`` shows it now; None when the profile is
        unknown (erased), and the message keeps the cart it was decided with."""
        with self.engine.connect() as conn:
            body = _live_body(conn, profile_id)
            entered = None
            if enrollment_id is not None:
                query = sa.select(_E.c.entered_at).where(_E.c.enrollment_id == enrollment_id)
                entered = conn.execute(query).scalar_one_or_none()
        if body is None:
            return None
        profile = product_views.profile(body, None)  # the cart needs no product views
        return cart_view(profile, as_utc(entered) if entered is not None else None)


def _live_body(conn: sa.Connection, profile_id: str) -> str | None:
    pid = profile_id
    for _ in range(_HOPS):
        query = sa.select(_P.c.redirect_to, _P.c.body).where(_P.c.profile_id == pid)
        row = conn.execute(query).first()
        if row is None:
            return None
        if row.redirect_to is None:
            return None if row.body is None else str(row.body)
        pid = str(row.redirect_to)
    return None
