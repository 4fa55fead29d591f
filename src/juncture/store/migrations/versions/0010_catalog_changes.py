"""catalog_changes: price drops and returns to stock as feeds bring them

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "catalog_changes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("product_id", sa.String(length=200), nullable=False),
        sa.Column("store_code", sa.String(length=200)),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("before", sa.Float()),
        sa.Column("after", sa.Float()),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_changes")),
    )
    op.create_index(
        op.f("ix_catalog_changes_product_id_at"), "catalog_changes", ["product_id", "at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_catalog_changes_product_id_at"), table_name="catalog_changes")
    op.drop_table("catalog_changes")
