"""catalog: the retailer's products, related products, stock by location and locations

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_ID = sa.String(length=200)


def _when(name: str, nullable: bool = True) -> sa.Column[dt.datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "products",
        sa.Column("product_id", _ID, nullable=False),
        sa.Column("item_group_id", _ID),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("link", sa.Text()),
        sa.Column("image_link", sa.Text()),
        sa.Column("brand", sa.String(length=200)),
        sa.Column("category", sa.Text()),
        sa.Column("google_product_category", sa.Text()),
        sa.Column("gtin", sa.String(length=50)),
        sa.Column("mpn", sa.String(length=70)),
        sa.Column("price", sa.Float()),
        sa.Column("currency", sa.String(length=3)),
        sa.Column("sale_price", sa.Float()),
        _when("sale_starts"),
        _when("sale_ends"),
        sa.Column("availability", sa.String(length=32), nullable=False),
        _when("availability_date"),
        sa.Column("condition", sa.String(length=16)),
        sa.Column("color", sa.String(length=100)),
        sa.Column("size", sa.String(length=100)),
        sa.Column("material", sa.String(length=200)),
        sa.Column("gender", sa.String(length=16)),
        sa.Column("age_group", sa.String(length=16)),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("attributes", sa.Text(), nullable=False),
        _when("updated_at", nullable=False),
        _when("retired_at"),
        sa.PrimaryKeyConstraint("product_id", name=op.f("pk_products")),
    )
    op.create_index(op.f("ix_products_item_group_id"), "products", ["item_group_id"])
    op.create_index(op.f("ix_products_brand"), "products", ["brand"])
    op.create_table(
        "related_products",
        sa.Column("product_id", _ID, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("related_id", _ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "product_id", "kind", "related_id", name=op.f("pk_related_products")
        ),
    )
    op.create_table(
        "stock",
        sa.Column("product_id", _ID, nullable=False),
        sa.Column("store_code", _ID, nullable=False),
        sa.Column("quantity", sa.BigInteger()),
        sa.Column("availability", sa.String(length=32)),
        sa.Column("price", sa.Float()),
        sa.Column("currency", sa.String(length=3)),
        sa.Column("sale_price", sa.Float()),
        _when("sale_starts"),
        _when("sale_ends"),
        sa.Column("pickup_method", sa.String(length=32)),
        sa.Column("pickup_sla", sa.String(length=32)),
        sa.Column("department", sa.String(length=200)),
        sa.Column("aisle", sa.String(length=100)),
        sa.Column("bay", sa.String(length=100)),
        _when("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("product_id", "store_code", name=op.f("pk_stock")),
    )
    op.create_index(op.f("ix_stock_store_code"), "stock", ["store_code"])
    op.create_table(
        "locations",
        sa.Column("store_code", _ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("address", sa.Text()),
        sa.Column("locality", sa.Text()),
        sa.Column("region", sa.Text()),
        sa.Column("postal_code", sa.String(length=20)),
        sa.Column("country", sa.String(length=2)),
        sa.Column("latitude", sa.Float()),
        sa.Column("longitude", sa.Float()),
        sa.Column("phone", sa.String(length=50)),
        sa.Column("hours", sa.Text(), nullable=False),
        _when("updated_at", nullable=False),
        _when("retired_at"),
        sa.PrimaryKeyConstraint("store_code", name=op.f("pk_locations")),
    )


def downgrade() -> None:
    op.drop_table("locations")
    op.drop_index(op.f("ix_stock_store_code"), table_name="stock")
    op.drop_table("stock")
    op.drop_table("related_products")
    op.drop_index(op.f("ix_products_brand"), table_name="products")
    op.drop_index(op.f("ix_products_item_group_id"), table_name="products")
    op.drop_table("products")
