"""tracking plans per source and data-quality tallies

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)
_COUNTS = (
    "received",
    "duplicates",
    "violating",
    "quarantined",
    "unplanned",
    "late",
    "skewed",
    "skew_max_ms",
)


def upgrade() -> None:
    op.create_table(
        "tracking_plans",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("updated_at", _TZ, nullable=False),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_tracking_plans")),
    )
    op.create_table(
        "quality_tallies",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("hour", _TZ, nullable=False),
        sa.Column("event", sa.String(length=200), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in _COUNTS),
        sa.PrimaryKeyConstraint("source", "hour", "event", name=op.f("pk_quality_tallies")),
    )


def downgrade() -> None:
    op.drop_table("quality_tallies")
    op.drop_table("tracking_plans")
