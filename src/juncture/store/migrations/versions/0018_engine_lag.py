"""engine_lag: the engine's lag behind the log, sampled for the dashboard

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "engine_lag",
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("at", name=op.f("pk_engine_lag")),
    )


def downgrade() -> None:
    op.drop_table("engine_lag")
