"""locations.time_zone: a store's opening hours and its associates' schedules are local

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("locations") as batch:
        batch.add_column(sa.Column("time_zone", sa.String(length=64)))


def downgrade() -> None:
    with op.batch_alter_table("locations") as batch:
        batch.drop_column("time_zone")
