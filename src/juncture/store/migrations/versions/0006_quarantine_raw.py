"""failed_events.raw: the exact bytes of a quarantined message that text cannot hold
(invalid UTF-8, or a NUL byte, which PostgreSQL text refuses)

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("failed_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("raw", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("failed_events", schema=None) as batch_op:
        batch_op.drop_column("raw")
