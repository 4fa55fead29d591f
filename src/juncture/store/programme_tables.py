"""The retailer's programmes (migration 0009): loyalty tiers and accounts, promotions,
coupons and their redemptions, associates, reviews. Declared on the one schema of
:mod:`juncture.store.tables`, which imports this module.

Each row keeps its record whole as JSON text in ``body`` (the :mod:`juncture.core.offers`
dataclass as msgspec encodes it); the other columns are what reads filter and order on.
"""

from __future__ import annotations

import sqlalchemy as sa

from juncture.store.tables import Id, metadata

When = sa.DateTime(timezone=True)

loyalty_tiers = sa.Table(
    "loyalty_tiers",
    metadata,
    sa.Column("tier", sa.String(64), primary_key=True),
    sa.Column("threshold", sa.BigInteger(), nullable=False),
    sa.Column("body", sa.Text(), nullable=False),
    sa.Column("updated_at", When, nullable=False),
)

# One account per member; ``customer_id`` is the tracking userId (personal data).
loyalty_accounts = sa.Table(
    "loyalty_accounts",
    metadata,
    sa.Column("customer_id", Id, primary_key=True),
    sa.Column("points", sa.BigInteger(), nullable=False),
    sa.Column("tier", sa.String(64)),
    sa.Column("body", sa.Text(), nullable=False),
    sa.Column("updated_at", When, nullable=False),
)

promotions = sa.Table(
    "promotions",
    metadata,
    sa.Column("promotion_id", Id, primary_key=True),
    sa.Column("starts", When),
    sa.Column("ends", When),
    sa.Column("body", sa.Text(), nullable=False),
    sa.Column("updated_at", When, nullable=False),
)

coupons = sa.Table(
    "coupons",
    metadata,
    sa.Column("coupon_id", Id, primary_key=True),
    sa.Column("issuer_kind", sa.String(16), nullable=False),
    sa.Column("starts", When),
    sa.Column("ends", When),
    sa.Column("redemption_limit", sa.BigInteger()),
    sa.Column("body", sa.Text(), nullable=False),
    sa.Column("updated_at", When, nullable=False),
)

# One row per redemption (an order, or whatever the caller names it), so that a retry of
# the same redemption counts once and the limit is kept.
coupon_redemptions = sa.Table(
    "coupon_redemptions",
    metadata,
    sa.Column("coupon_id", Id, primary_key=True),
    sa.Column("redemption_id", Id, primary_key=True),
    sa.Column("customer_id", Id),
    sa.Column("at", When, nullable=False),
)

associates = sa.Table(
    "associates",
    metadata,
    sa.Column("associate_id", Id, primary_key=True),
    sa.Column("store_code", Id, nullable=False),
    sa.Column("body", sa.Text(), nullable=False),
    sa.Column("updated_at", When, nullable=False),
    sa.Index(None, "store_code"),
)

reviews = sa.Table(
    "reviews",
    metadata,
    sa.Column("review_id", Id, primary_key=True),
    sa.Column("product_id", Id, nullable=False),
    sa.Column("rating", sa.Float(), nullable=False),
    sa.Column("author_kind", sa.String(16), nullable=False),
    sa.Column("body", sa.Text(), nullable=False),
    sa.Column("updated_at", When, nullable=False),
    sa.Index(None, "product_id"),
)

# --- Shoppers' own records (migration 0012) ----------------------------------------------

# A wish list's owner is an identifier (``user_id:...`` or ``anonymous_id:...``); ``shared``
# lets gift suggestions for the owner read it.
wish_lists = sa.Table(
    "wish_lists",
    metadata,
    sa.Column("owner", sa.String(300), primary_key=True),
    sa.Column("shared", sa.Boolean(), nullable=False),
    sa.Column("updated_at", When, nullable=False),
)

# One row per owner and product; ``removed_at`` set when taken off the list. ``seq`` is the
# log position of the event that last set the row (None: set over the API), so that folding
# the same events again, or an older one late, changes nothing.
wish_list_items = sa.Table(
    "wish_list_items",
    metadata,
    sa.Column("owner", sa.String(300), primary_key=True),
    sa.Column("product_id", Id, primary_key=True),
    sa.Column("wishlist_id", Id),
    sa.Column("price", sa.Float()),
    sa.Column("added_at", When, nullable=False),
    sa.Column("removed_at", When),
    sa.Column("seq", sa.BigInteger()),
    sa.Index(None, "product_id"),
)

# Store and online events (a workshop, a launch): the record whole in ``body``.
store_events = sa.Table(
    "store_events",
    metadata,
    sa.Column("event_id", Id, primary_key=True),
    sa.Column("store_code", Id),
    sa.Column("starts", When, nullable=False),
    sa.Column("ends", When),
    sa.Column("body", sa.Text(), nullable=False),
    sa.Column("updated_at", When, nullable=False),
    sa.Index(None, "starts"),
)

event_registrations = sa.Table(
    "event_registrations",
    metadata,
    sa.Column("event_id", Id, primary_key=True),
    sa.Column("customer_id", Id, primary_key=True),
    sa.Column("registered_at", When, nullable=False),
    sa.Column("attended_at", When),
    sa.Index(None, "customer_id"),
)

# An expert's appointment with a shopper: one associate, one slot start, at most one booking.
appointments = sa.Table(
    "appointments",
    metadata,
    sa.Column("appointment_id", Id, primary_key=True),
    sa.Column("associate_id", Id, nullable=False),
    sa.Column("store_code", Id, nullable=False),
    sa.Column("starts", When, nullable=False),
    sa.Column("customer_id", Id, nullable=False),
    sa.Column("product_id", Id),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", When, nullable=False),
    sa.UniqueConstraint("associate_id", "starts"),
    sa.Index(None, "customer_id"),
)
