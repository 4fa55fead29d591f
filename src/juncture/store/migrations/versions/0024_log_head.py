"""log_head: on SQLite, the newest seq ever given to an event, so that deleting the newest
events (an erasure, retention) never lets a seq be given twice

Revision ID: 0024
Revises: 0023
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "log_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_head")),
    )
    if op.get_bind().dialect.name == "sqlite":
        # above every event stored and every position a consumer has reached (the newest
        # events may have been deleted already)
        op.execute(
            "INSERT INTO log_head (id, seq) SELECT 1, max("
            "(SELECT coalesce(max(seq), 0) FROM events), "
            "(SELECT coalesce(max(seq), 0) FROM log_positions))"
        )


def downgrade() -> None:
    op.drop_table("log_head")
