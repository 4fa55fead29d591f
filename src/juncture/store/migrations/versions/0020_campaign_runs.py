"""campaign_runs: scheduled and throttled campaigns and how far each has got

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaign_runs",
        sa.Column("id", sa.String(60), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("send_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("per_minute", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("cursor", sa.String(64), nullable=False),
        sa.Column("reached", sa.Integer(), nullable=False),
        sa.Column("started", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_runs")),
    )
    op.create_index(op.f("ix_campaign_runs_status_send_at"), "campaign_runs", ["status", "send_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_campaign_runs_status_send_at"), table_name="campaign_runs")
    op.drop_table("campaign_runs")
