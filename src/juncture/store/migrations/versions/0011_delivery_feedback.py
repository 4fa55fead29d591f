"""suppressions and delivery_feedback: unsubscribes, bounces, complaints, STOPs, opens, clicks

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "suppressions",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outbox_id", sa.BigInteger()),
        sa.PrimaryKeyConstraint("channel", "address", name=op.f("pk_suppressions")),
    )
    op.create_table(
        "delivery_feedback",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("outbox_id", sa.BigInteger()),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.Text()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_feedback")),
    )
    op.create_index(op.f("ix_delivery_feedback_outbox_id"), "delivery_feedback", ["outbox_id"])
    op.create_index(op.f("ix_delivery_feedback_kind_at"), "delivery_feedback", ["kind", "at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_delivery_feedback_kind_at"), table_name="delivery_feedback")
    op.drop_index(op.f("ix_delivery_feedback_outbox_id"), table_name="delivery_feedback")
    op.drop_table("delivery_feedback")
    op.drop_table("suppressions")
