"""activity_minutes, summary_marks: the dashboard's activity summary of the event log

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "activity_minutes",
        sa.Column("minute", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("derived", sa.BigInteger(), nullable=False),
        sa.Column("orders", sa.BigInteger(), nullable=False),
        sa.Column("revenue", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("minute", name=op.f("pk_activity_minutes")),
    )
    marks = op.create_table(
        "summary_marks",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_summary_marks")),
    )
    # the summary starts empty: the first refresh counts the whole log from seq 0
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    op.bulk_insert(marks, [{"name": "activity", "seq": 0, "updated_at": epoch}])


def downgrade() -> None:
    op.drop_table("summary_marks")
    op.drop_table("activity_minutes")
