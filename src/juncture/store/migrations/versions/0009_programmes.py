"""programmes: loyalty tiers and accounts, promotions, coupons and redemptions, associates,
reviews

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_ID = sa.String(length=200)
_TZ = sa.DateTime(timezone=True)


def _table(name: str, keys: list[str], *columns: sa.Column[Any]) -> None:
    common: list[sa.Column[Any]] = [
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", _TZ, nullable=False),
    ]
    op.create_table(
        name, *columns, *common, sa.PrimaryKeyConstraint(*keys, name=op.f(f"pk_{name}"))
    )


def upgrade() -> None:
    _table(
        "loyalty_tiers",
        ["tier"],
        sa.Column("tier", sa.String(length=64), nullable=False),
        sa.Column("threshold", sa.BigInteger(), nullable=False),
    )
    _table(
        "loyalty_accounts",
        ["customer_id"],
        sa.Column("customer_id", _ID, nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("tier", sa.String(length=64)),
    )
    _table(
        "promotions",
        ["promotion_id"],
        sa.Column("promotion_id", _ID, nullable=False),
        sa.Column("starts", _TZ),
        sa.Column("ends", _TZ),
    )
    _table(
        "coupons",
        ["coupon_id"],
        sa.Column("coupon_id", _ID, nullable=False),
        sa.Column("issuer_kind", sa.String(length=16), nullable=False),
        sa.Column("starts", _TZ),
        sa.Column("ends", _TZ),
        sa.Column("redemption_limit", sa.BigInteger()),
    )
    op.create_table(
        "coupon_redemptions",
        sa.Column("coupon_id", _ID, nullable=False),
        sa.Column("redemption_id", _ID, nullable=False),
        sa.Column("customer_id", _ID),
        sa.Column("at", _TZ, nullable=False),
        sa.PrimaryKeyConstraint("coupon_id", "redemption_id", name=op.f("pk_coupon_redemptions")),
    )
    _table(
        "associates",
        ["associate_id"],
        sa.Column("associate_id", _ID, nullable=False),
        sa.Column("store_code", _ID, nullable=False),
    )
    op.create_index(op.f("ix_associates_store_code"), "associates", ["store_code"])
    _table(
        "reviews",
        ["review_id"],
        sa.Column("review_id", _ID, nullable=False),
        sa.Column("product_id", _ID, nullable=False),
        sa.Column("rating", sa.Float(), nullable=False),
        sa.Column("author_kind", sa.String(length=16), nullable=False),
    )
    op.create_index(op.f("ix_reviews_product_id"), "reviews", ["product_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_reviews_product_id"), table_name="reviews")
    op.drop_table("reviews")
    op.drop_index(op.f("ix_associates_store_code"), table_name="associates")
    op.drop_table("associates")
    op.drop_table("coupon_redemptions")
    op.drop_table("coupons")
    op.drop_table("promotions")
    op.drop_table("loyalty_accounts")
    op.drop_table("loyalty_tiers")
