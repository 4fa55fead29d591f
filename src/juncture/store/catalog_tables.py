"""The retailer's tables (migration 0008): products, related products, stock and price by
location, and locations. Declared on the one schema of :mod:`juncture.store.tables`, which
imports this module, so that ``tables.metadata`` holds them like every other table.

Money is a float in the feed's currency (prices are shown, compared and summed, never
accounted). Columns that hold JSON documents are text: ``products.details`` (the spec
sheet, ``[[section, attribute, value], ...]``), ``products.attributes`` (the feed's other
attributes) and ``locations.hours`` (weekday to ``[opens, closes]``).
"""

from __future__ import annotations

import sqlalchemy as sa

from juncture.store.tables import Id, metadata

Money = sa.Float()
When = sa.DateTime(timezone=True)

# One row per product of the feed (a variant, when ``item_group_id`` groups several).
# ``retired_at``: a full feed that no longer lists it retired it (reads leave it out).
products = sa.Table(
    "products",
    metadata,
    sa.Column("product_id", Id, primary_key=True),
    sa.Column("item_group_id", Id),
    sa.Column("title", sa.Text(), nullable=False),
    sa.Column("description", sa.Text()),
    sa.Column("link", sa.Text()),
    sa.Column("image_link", sa.Text()),
    sa.Column("brand", sa.String(200)),
    sa.Column("category", sa.Text()),  # product_type: "Home > Kitchen > Kettles"
    sa.Column("google_product_category", sa.Text()),
    sa.Column("gtin", sa.String(50)),
    sa.Column("mpn", sa.String(70)),
    sa.Column("price", Money),
    sa.Column("currency", sa.String(3)),
    sa.Column("sale_price", Money),
    sa.Column("sale_starts", When),
    sa.Column("sale_ends", When),
    sa.Column("availability", sa.String(32), nullable=False),
    sa.Column("availability_date", When),
    sa.Column("condition", sa.String(16)),
    sa.Column("color", sa.String(100)),
    sa.Column("size", sa.String(100)),
    sa.Column("material", sa.String(200)),
    sa.Column("gender", sa.String(16)),
    sa.Column("age_group", sa.String(16)),
    sa.Column("details", sa.Text(), nullable=False),
    sa.Column("attributes", sa.Text(), nullable=False),
    sa.Column("updated_at", When, nullable=False),
    sa.Column("retired_at", When),
    # the fingerprint of the feed row it was built from: a row with the same one is skipped
    # unread (migration 0021); None when changed otherwise (the admin API)
    sa.Column("feed_hash", sa.String(32)),
    sa.Index(None, "item_group_id"),
    sa.Index(None, "brand"),
)

# The merchant's own lists: accessories of a product, products related to it.
related_products = sa.Table(
    "related_products",
    metadata,
    sa.Column("product_id", Id, primary_key=True),
    sa.Column("kind", sa.String(32), primary_key=True),
    sa.Column("related_id", Id, primary_key=True),
    sa.Column("position", sa.Integer(), nullable=False),
)

# A product's stock and price in one location (a store, or a warehouse for online orders),
# and where it sits on the floor.
stock = sa.Table(
    "stock",
    metadata,
    sa.Column("product_id", Id, primary_key=True),
    sa.Column("store_code", Id, primary_key=True),
    sa.Column("quantity", sa.BigInteger()),
    sa.Column("availability", sa.String(32)),
    sa.Column("price", Money),
    sa.Column("currency", sa.String(3)),
    sa.Column("sale_price", Money),
    sa.Column("sale_starts", When),
    sa.Column("sale_ends", When),
    sa.Column("pickup_method", sa.String(32)),
    sa.Column("pickup_sla", sa.String(32)),
    sa.Column("department", sa.String(200)),
    sa.Column("aisle", sa.String(100)),
    sa.Column("bay", sa.String(100)),
    sa.Column("updated_at", When, nullable=False),
    sa.Index(None, "store_code"),
)

# Stores and warehouses.
locations = sa.Table(
    "locations",
    metadata,
    sa.Column("store_code", Id, primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("name", sa.Text(), nullable=False),
    sa.Column("address", sa.Text()),
    sa.Column("locality", sa.Text()),
    sa.Column("region", sa.Text()),
    sa.Column("postal_code", sa.String(20)),
    sa.Column("country", sa.String(2)),
    sa.Column("latitude", sa.Float()),
    sa.Column("longitude", sa.Float()),
    sa.Column("phone", sa.String(50)),
    sa.Column("hours", sa.Text(), nullable=False),
    sa.Column("time_zone", sa.String(64)),  # IANA; hours are on its clock (migration 0015)
    sa.Column("updated_at", When, nullable=False),
    sa.Column("retired_at", When),
)

# What changed for shoppers as feeds came in (core.retail.Change): a price drop, a product
# back in stock online (``store_code`` NULL) or in a location. Written in the transaction of
# the upsert that changed it (migration 0010).
catalog_changes = sa.Table(
    "catalog_changes",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    sa.Column("product_id", Id, nullable=False),
    sa.Column("store_code", Id),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("before", sa.Float()),
    sa.Column("after", sa.Float()),
    sa.Column("at", When, nullable=False),
    sa.Index(None, "product_id", "at"),
)

# The last imports of feeds (migration 0023): what each read, wrote and refused, and the
# first problems of the rows it refused (file, line, column, reason), for the dashboard's
# Catalogue page. Bounded: the newest imports only, and a few problems of each
# (:mod:`juncture.store.catalog_imports`).
catalog_imports = sa.Table(
    "catalog_imports",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    sa.Column("name", sa.Text(), nullable=False),  # the file's name, as the import gave it
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("format", sa.String(16), nullable=False),
    sa.Column("full", sa.Boolean(), nullable=False),
    sa.Column("at", When, nullable=False),
    sa.Column("rows", sa.Integer(), nullable=False),
    sa.Column("new", sa.Integer(), nullable=False),
    sa.Column("changed", sa.Integer(), nullable=False),
    sa.Column("unchanged", sa.Integer(), nullable=False),
    sa.Column("retired", sa.Integer(), nullable=False),
    sa.Column("refused_rows", sa.Integer(), nullable=False),
)
catalog_import_problems = sa.Table(
    "catalog_import_problems",
    metadata,
    sa.Column("import_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    sa.Column("position", sa.Integer(), primary_key=True),
    sa.Column("line", sa.Integer(), nullable=False),
    sa.Column("column", sa.Text(), nullable=False),
    sa.Column("message", sa.Text(), nullable=False),
)
