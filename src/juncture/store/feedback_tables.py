"""What recipients and providers said about messages (migration 0011). Declared on the one
schema of :mod:`juncture.store.tables`, which imports this module.

``suppressions``: addresses that must not be sent to, per channel, by a hash of the
normalized address (so the list outlives an erasure without keeping the address):
``scope`` ``all`` (a hard bounce: nothing reaches it) or ``marketing`` (a complaint, an SMS
STOP). ``delivery_feedback``: one row per thing said about a delivery (an unsubscribe, a
bounce, a complaint, a STOP, an open, a click), for the deliveries API and the rates.
"""

from __future__ import annotations

import sqlalchemy as sa

from juncture.store.tables import metadata

suppressions = sa.Table(
    "suppressions",
    metadata,
    sa.Column("channel", sa.String(16), primary_key=True),
    sa.Column("address", sa.String(64), primary_key=True),  # sha256 hex of the address
    sa.Column("scope", sa.String(16), nullable=False),  # all | marketing
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("outbox_id", sa.BigInteger()),
)

delivery_feedback = sa.Table(
    "delivery_feedback",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    sa.Column("outbox_id", sa.BigInteger()),  # None: about an address, not one delivery
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("detail", sa.Text()),  # a click's target, a bounce's diagnostic
    sa.Index(None, "outbox_id"),
    sa.Index(None, "kind", "at"),
)
