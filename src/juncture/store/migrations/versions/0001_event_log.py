"""The event log, the failed-event quarantine and write keys.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("seq", BigId, primary_key=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("event", sa.String(200)),
        sa.Column("user_id", sa.String(200)),
        sa.Column("anonymous_id", sa.String(200)),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_events"),
        sa.UniqueConstraint("source", "message_id", name="uq_events_source_message_id"),
    )
    op.create_index("ix_events_user_id_seq", "events", ["user_id", "seq"])
    op.create_index("ix_events_anonymous_id_seq", "events", ["anonymous_id", "seq"])
    op.create_table(
        "failed_events",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("message_id", sa.String(200)),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("path", sa.String(200), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="failed"),
        sa.Column("type_hint", sa.String(16)),
        sa.Column("replayed_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name="pk_failed_events"),
    )
    op.create_index("ix_failed_events_status_id", "failed_events", ["status", "id"])
    op.create_table(
        "write_keys",
        sa.Column("source", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("source", name="pk_write_keys"),
        sa.UniqueConstraint("key_hash", name="uq_write_keys_key_hash"),
    )


def downgrade() -> None:
    op.drop_table("write_keys")
    op.drop_index("ix_failed_events_status_id", "failed_events")
    op.drop_table("failed_events")
    op.drop_index("ix_events_anonymous_id_seq", "events")
    op.drop_index("ix_events_user_id_seq", "events")
    op.drop_table("events")
