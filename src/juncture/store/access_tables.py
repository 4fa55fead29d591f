"""Who may use the admin API and the dashboard, and what they did (migration 0014).
Declared on the one schema of :mod:`juncture.store.tables`, which imports this module.

``admin_tokens``: bearer tokens minted with scopes (only a SHA-256 of each is kept).
``dashboard_users``: people who sign in to the dashboard, with a role and a scrypt hash of
their password. ``audit_log``: one row per admin action (who, what, when, from which token),
naming the route's template (``/v1/profiles/{profile_id}``), never a customer.
"""

from __future__ import annotations

import sqlalchemy as sa

from juncture.store.tables import metadata

admin_tokens = sa.Table(
    "admin_tokens",
    metadata,
    sa.Column("token_id", sa.String(32), primary_key=True),  # shown in lists and the audit
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("scopes", sa.String(100), nullable=False),  # comma-separated
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
)

dashboard_users = sa.Table(
    "dashboard_users",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.String(300), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("disabled_at", sa.DateTime(timezone=True)),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),  # a token's id, a user's name
    sa.Column("actor_kind", sa.String(16), nullable=False),  # token | user | cli
    sa.Column("action", sa.String(300), nullable=False),  # "POST /v1/journeys/{journey_id}/pause"
    sa.Column("scope", sa.String(16), nullable=False),  # the scope the action needed
    sa.Column("status", sa.Integer(), nullable=False),  # the answer's HTTP status
    sa.Index(None, "at"),
)
