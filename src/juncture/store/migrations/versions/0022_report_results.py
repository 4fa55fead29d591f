"""report_results: the last result of each slow dashboard read, shared by every process

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_results",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("report", sa.String(64), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("value", sa.Text()),
        sa.Column("computed_at", sa.DateTime(timezone=True)),
        sa.Column("took_s", sa.Float()),
        sa.Column("claimed_by", sa.String(64)),
        sa.Column("claimed_until", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_report_results")),
    )


def downgrade() -> None:
    op.drop_table("report_results")
