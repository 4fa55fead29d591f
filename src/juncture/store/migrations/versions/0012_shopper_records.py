"""wish lists, store events and their registrations, expert appointments

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_ID = sa.String(length=200)
_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "wish_lists",
        sa.Column("owner", sa.String(length=300), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("updated_at", _TZ, nullable=False),
        sa.PrimaryKeyConstraint("owner", name=op.f("pk_wish_lists")),
    )
    op.create_table(
        "wish_list_items",
        sa.Column("owner", sa.String(length=300), nullable=False),
        sa.Column("product_id", _ID, nullable=False),
        sa.Column("wishlist_id", _ID),
        sa.Column("price", sa.Float()),
        sa.Column("added_at", _TZ, nullable=False),
        sa.Column("removed_at", _TZ),
        sa.Column("seq", sa.BigInteger()),
        sa.PrimaryKeyConstraint("owner", "product_id", name=op.f("pk_wish_list_items")),
    )
    op.create_index(op.f("ix_wish_list_items_product_id"), "wish_list_items", ["product_id"])
    op.create_table(
        "store_events",
        sa.Column("event_id", _ID, nullable=False),
        sa.Column("store_code", _ID),
        sa.Column("starts", _TZ, nullable=False),
        sa.Column("ends", _TZ),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", _TZ, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_store_events")),
    )
    op.create_index(op.f("ix_store_events_starts"), "store_events", ["starts"])
    op.create_table(
        "event_registrations",
        sa.Column("event_id", _ID, nullable=False),
        sa.Column("customer_id", _ID, nullable=False),
        sa.Column("registered_at", _TZ, nullable=False),
        sa.Column("attended_at", _TZ),
        sa.PrimaryKeyConstraint("event_id", "customer_id", name=op.f("pk_event_registrations")),
    )
    op.create_index(
        op.f("ix_event_registrations_customer_id"), "event_registrations", ["customer_id"]
    )
    op.create_table(
        "appointments",
        sa.Column("appointment_id", _ID, nullable=False),
        sa.Column("associate_id", _ID, nullable=False),
        sa.Column("store_code", _ID, nullable=False),
        sa.Column("starts", _TZ, nullable=False),
        sa.Column("customer_id", _ID, nullable=False),
        sa.Column("product_id", _ID),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", _TZ, nullable=False),
        sa.PrimaryKeyConstraint("appointment_id", name=op.f("pk_appointments")),
        sa.UniqueConstraint(
            "associate_id", "starts", name=op.f("uq_appointments_associate_id_starts")
        ),
    )
    op.create_index(op.f("ix_appointments_customer_id"), "appointments", ["customer_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_appointments_customer_id"), table_name="appointments")
    op.drop_table("appointments")
    op.drop_index(op.f("ix_event_registrations_customer_id"), table_name="event_registrations")
    op.drop_table("event_registrations")
    op.drop_index(op.f("ix_store_events_starts"), table_name="store_events")
    op.drop_table("store_events")
    op.drop_index(op.f("ix_wish_list_items_product_id"), table_name="wish_list_items")
    op.drop_table("wish_list_items")
    op.drop_table("wish_lists")
