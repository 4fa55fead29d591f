"""products.feed_hash: the fingerprint of the feed row a product was built from, so that an
import skips an unchanged row without building it

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.add_column(sa.Column("feed_hash", sa.String(length=32)))


def downgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.drop_column("feed_hash")
