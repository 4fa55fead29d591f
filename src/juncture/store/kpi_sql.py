"""SQL pieces the KPI, funnel and path queries share, written once for SQLite and PostgreSQL:
a time's period (day, week, month), the days between two times, typed values from an
event's JSON body, the live profile an event counts for, and the orders as the profile
keeps them (deduplicated by ``order_id``, with revenue and units).

SQLite keeps times as UTC text (``YYYY-MM-DD HH:MM:SS.ffffff``), PostgreSQL as
``timestamptz``; every expression here answers in UTC on both.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from juncture.core.events import UTC
from juncture.core.measures import Period
from juncture.store import tables

_E: Final = tables.events
_P: Final = tables.profiles
ORDER: Final = "Order Completed"
# A JSON string that reads as a number (the profile reducer counts "12.50" as 12.5).
_PG_NUMERIC: Final = r"^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$"


def utc(t: dt.datetime) -> dt.datetime:
    return t.astimezone(UTC)


def period(column: sa.ColumnElement[Any], unit: Period, dialect: str) -> sa.ColumnElement[str]:
    """The first day of ``column``'s period as ``YYYY-MM-DD`` text (``all`` for all time)."""
    if unit is Period.all:
        return sa.literal("all", sa.String)
    if dialect == "sqlite":
        shift = {
            Period.day: ("start of day",),
            Period.week: ("weekday 0", "-6 days"),  # the next Sunday (or today), back to Monday
            Period.month: ("start of month",),
        }[unit]
        return sa.func.date(column, *shift)
    local = sa.func.timezone("UTC", column)
    return sa.func.to_char(sa.func.date_trunc(unit.value, local), "YYYY-MM-DD")


def days_between(
    earlier: sa.ColumnElement[Any], later: sa.ColumnElement[Any], dialect: str
) -> sa.ColumnElement[Any]:
    """``later - earlier`` in days (fractional)."""
    if dialect == "sqlite":
        return sa.func.julianday(later) - sa.func.julianday(earlier)
    return sa.cast(sa.extract("epoch", later - earlier), sa.Float) / 86400.0


def soon_after(
    earlier: sa.ColumnElement[Any], later: sa.ColumnElement[Any], days: float, dialect: str
) -> sa.ColumnElement[bool]:
    """``later`` after ``earlier``, by at most ``days`` days (an outcome in its window)."""
    return sa.and_(later > earlier, days_between(earlier, later, dialect) <= days)


class Body:
    """Typed values from a JSON document on one dialect (an event's ``body``, or a JSON
    value such as one element of an array)."""

    def __init__(self, doc: sa.ColumnElement[Any], dialect: str) -> None:
        self.sqlite = dialect == "sqlite"
        self.doc = doc if self.sqlite else sa.cast(doc, postgresql.JSONB)

    def _path(self, keys: tuple[str, ...]) -> str:
        return "$" + "".join('."' + k + '"' for k in keys)

    def text(self, *keys: str) -> sa.ColumnElement[str]:
        """The value as text (a number's digits too); NULL when missing or JSON null."""
        if self.sqlite:
            return sa.cast(sa.func.json_extract(self.doc, self._path(keys)), sa.String)
        return sa.func.jsonb_extract_path_text(self.doc, *keys)

    def number(self, *keys: str) -> sa.ColumnElement[float]:
        """A JSON number, or a string that reads as one; NULL otherwise."""
        if self.sqlite:
            path = self._path(keys)
            kind, value = sa.func.json_type(self.doc, path), sa.func.json_extract(self.doc, path)
            numeric = sa.and_(
                kind == "text",
                sa.func.trim(value) != "",
                sa.cast(value, sa.Float) == sa.cast(value, sa.Float),  # NULL never equals
                sa.not_(sa.func.trim(value).op("GLOB")("*[^0-9.eE+-]*")),
            )
            return sa.case(
                (kind.in_(["integer", "real"]), sa.cast(value, sa.Float)),
                (numeric, sa.cast(value, sa.Float)),
                else_=None,
            )
        kind = sa.func.jsonb_typeof(sa.func.jsonb_extract_path(self.doc, *keys))
        text = sa.func.jsonb_extract_path_text(self.doc, *keys)
        return sa.case(
            (kind == "number", sa.cast(text, sa.Float)),
            (sa.and_(kind == "string", text.op("~")(_PG_NUMERIC)), sa.cast(text, sa.Float)),
            else_=None,
        )

    def elements(self, *keys: str) -> sa.TableValuedAlias:
        """The elements of the array at ``keys`` (none when it is missing or no array), as a
        table with one column ``value``, to join laterally."""
        if self.sqlite:
            each = sa.func.json_each(self.doc, self._path(keys))
            return each.table_valued("value", "type").alias("item")
        found = sa.func.jsonb_extract_path(self.doc, *keys)
        array = sa.case(
            (sa.func.jsonb_typeof(found) == "array", found),
            else_=sa.cast(sa.literal("[]"), postgresql.JSONB),
        )
        return sa.func.jsonb_array_elements(array).table_valued("value").alias("item")


def live_profile() -> sa.ColumnElement[str]:
    """The profile an event counts for: the one its profile was merged into, if any (one
    hop of ``redirect_to``, as segments count it). Needs ``profiles`` joined on the event's
    profile (:func:`events_of_live`)."""
    return sa.func.coalesce(_P.c.redirect_to, _E.c.profile_id)


_ALIASES: Final = (
    sa.select(
        _P.c.profile_id.label("pid"),
        sa.func.coalesce(_P.c.redirect_to, _P.c.profile_id).label("live"),
    )
    .cte("aliases")
    .prefix_with("MATERIALIZED")
)


def aliases() -> sa.CTE:
    """Every profile (``pid``) with the live profile it counts for (``live``: itself, or
    the one it was merged into), materialized once per statement: joining a set of live
    profiles through it to ``events.profile_id`` uses that column's index, where comparing
    :func:`live_profile` with them would read every event. One object, so that a statement
    that joins it in several places holds it once."""
    return _ALIASES


def events_of_live() -> sa.Join:
    """``events`` with the row of each event's profile (for :func:`live_profile`)."""
    return _E.outerjoin(_P, _P.c.profile_id == _E.c.profile_id)


def within(
    column: sa.ColumnElement[Any], since: dt.datetime | None, until: dt.datetime | None
) -> list[sa.ColumnElement[bool]]:
    """``since <= column < until`` for the bounds given."""
    found: list[sa.ColumnElement[bool]] = []
    if since is not None:
        found.append(column >= utc(since))
    if until is not None:
        found.append(column < utc(until))
    return found


def orders(dialect: str) -> sa.Subquery:
    """Every order as the profile keeps it: one row per live profile and order key
    (``order_id``, else the message id), at its first time, with its revenue (``revenue``,
    else ``total``, else ``value``, else the products' price times quantity) and its units
    (the products' quantities, 1 each where not given; 0 without products). Columns:
    ``profile_id``, ``order_key``, ``at``, ``revenue``, ``units``."""
    body = Body(_E.c.body, dialect)
    item = body.elements("properties", "products")
    element = Body(item.c.value, dialect)
    quantity = sa.func.coalesce(element.number("quantity"), 1.0)
    price = sa.func.coalesce(element.number("price"), 0.0)
    from_products = (
        sa.select(sa.func.coalesce(sa.func.sum(price * quantity), 0.0))
        .select_from(item)
        .scalar_subquery()
    )
    units = (
        sa.select(sa.func.coalesce(sa.func.sum(quantity), 0.0)).select_from(item).scalar_subquery()
    )
    revenue = sa.func.coalesce(
        body.number("properties", "revenue"),
        body.number("properties", "total"),
        body.number("properties", "value"),
        from_products,
    )
    profile = live_profile()
    key = sa.func.coalesce(sa.func.nullif(body.text("properties", "order_id"), ""), _E.c.message_id)
    return (
        sa.select(
            profile.label("profile_id"),
            key.label("order_key"),
            sa.func.min(_E.c.timestamp).label("at"),
            sa.func.max(revenue).label("revenue"),
            sa.func.max(units).label("units"),
        )
        .select_from(events_of_live())
        .where(_E.c.event == ORDER, _E.c.profile_id.is_not(None))
        .group_by(profile, key)
        .subquery("orders")
    )


def orders_placed() -> sa.CTE:
    """Every ``Order Completed`` event as the live profile it counts for (``profile_id``)
    and its time (``at``), copies included (for "did an order follow"), materialized once
    per statement so that a join by profile reads the orders once."""
    return (
        sa.select(live_profile().label("profile_id"), _E.c.timestamp.label("at"))
        .select_from(events_of_live())
        .where(_E.c.event == ORDER)
        .cte("orders_placed")
        .prefix_with("MATERIALIZED")
    )


def members(segment: str) -> sa.Select[tuple[str]]:
    """The current members of ``segment`` (profile ids)."""
    m = tables.segment_members
    return sa.select(m.c.profile_id).where(m.c.segment_id == segment)
