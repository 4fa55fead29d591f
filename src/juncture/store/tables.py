"""The one schema of Juncture, for SQLite and PostgreSQL alike.

Migrations in ``store/migrations`` must produce exactly this; a test compares them.
Times are stored as timezone-aware timestamps (text in UTC on SQLite).
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Id = sa.String(200)

# The event log: append-only, ordered by ``seq``. ``body`` holds the rest of the message
# as JSON (properties, traits, context, ...); the columns are what queries filter on.
events = sa.Table(
    "events",
    metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("message_id", Id, nullable=False),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("event", Id),
    sa.Column("user_id", Id),
    sa.Column("anonymous_id", Id),
    sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("body", sa.Text(), nullable=False),
    sa.Column("profile_id", sa.String(64)),
    sa.UniqueConstraint("source", "message_id"),
    sa.Index(None, "user_id", "seq"),
    sa.Index(None, "anonymous_id", "seq"),
    sa.Index(None, "profile_id", "seq"),
)

# Quarantine: messages that failed validation, with the reason, replayable after a fix.
failed_events = sa.Table(
    "failed_events",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("message_id", Id),
    sa.Column("code", sa.String(64), nullable=False),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("path", sa.String(200), nullable=False),
    sa.Column("payload", sa.Text(), nullable=False),  # as text, for people and the API
    sa.Column("status", sa.String(16), nullable=False, server_default="failed"),
    sa.Column("type_hint", sa.String(16)),
    sa.Column("replayed_at", sa.DateTime(timezone=True)),
    sa.Column("raw", sa.LargeBinary()),  # the exact bytes, where text could not hold them
    sa.Index(None, "status", "id"),
)

# Write keys minted with ``juncture keys create``: only a hash of the key is kept.
write_keys = sa.Table(
    "write_keys",
    metadata,
    sa.Column("source", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
)

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ProfileId = sa.String(64)

# --- Identity and profiles (the projection of the log, kept in the event's transaction) ---

# identifier ("kind:value") -> the profile it was attached to (follow profiles.redirect_to).
identities = sa.Table(
    "identities",
    metadata,
    sa.Column("identifier", sa.String(300), primary_key=True),
    sa.Column("profile_id", ProfileId, nullable=False),
    sa.Index(None, "profile_id"),
)

# One row per profile ever founded. A merged profile keeps its row with ``redirect_to``
# set; ``body`` is the profile (JSON) but for its product views (``product_views``), the
# other columns are facts for queries.
profiles = sa.Table(
    "profiles",
    metadata,
    sa.Column("profile_id", ProfileId, primary_key=True),
    sa.Column("redirect_to", ProfileId),
    sa.Column("first_seen", sa.DateTime(timezone=True)),
    sa.Column("last_seen", sa.DateTime(timezone=True)),
    sa.Column("stage", sa.String(16)),
    sa.Column("email", sa.String(320)),
    sa.Column("country", sa.String(64)),
    sa.Column("city", sa.String(120)),
    sa.Column("timezone", sa.String(64)),
    sa.Column("order_count", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("revenue", sa.Float(), nullable=False, server_default="0"),
    sa.Column("last_order_at", sa.DateTime(timezone=True)),
    sa.Column("cart_value", sa.Float(), nullable=False, server_default="0"),
    sa.Column("cart_items", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("sessions", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("last_channel", sa.String(32)),
    sa.Column("top_category", sa.String(200)),
    sa.Column("nps", sa.Float()),
    sa.Column("csat", sa.Float()),
    sa.Column("traits", sa.JSON()),
    sa.Column("node", sa.Text()),
    sa.Column("body", sa.Text()),
    sa.Column("updated_at", sa.DateTime(timezone=True)),
    sa.Index(None, "redirect_to"),
    sa.Index(None, "last_seen"),
)

# Distinct user ids seen per device identifier (for the shared-device guard).
device_users = sa.Table(
    "device_users",
    metadata,
    sa.Column("device", sa.String(300), primary_key=True),
    sa.Column("users", sa.Text(), nullable=False),
)

merges = sa.Table(
    "merges",
    metadata,
    sa.Column("id", BigId, primary_key=True),
    sa.Column("survivor", ProfileId, nullable=False),
    sa.Column("merged", ProfileId, nullable=False),
    sa.Column("by_message_id", sa.String(200), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Index(None, "survivor"),
    sa.Index(None, "merged"),
)

identity_conflicts = sa.Table(
    "identity_conflicts",
    metadata,
    sa.Column("id", BigId, primary_key=True),
    sa.Column("identifier", sa.String(300), nullable=False),
    sa.Column("profile_id", ProfileId, nullable=False),
    sa.Column("other", sa.String(300), nullable=False),
    sa.Column("by_message_id", sa.String(200), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Index(None, "profile_id"),
)

# Durable timers: cart abandonment, journey waits, quiet-hour deferrals. A key has at most
# one timer; scheduling again moves it. The scheduler deletes a timer in the same
# transaction as its effects, so a timer never fires twice.
timers = sa.Table(
    "timers",
    metadata,
    sa.Column("key", sa.String(400), primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("profile_id", ProfileId, nullable=False),
    sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("payload", sa.Text(), nullable=False, server_default="{}"),
    sa.Index(None, "due_at"),
)

# --- Journeys, enrollments, the outbox ---

journeys = sa.Table(
    "journeys",
    metadata,
    sa.Column("journey_id", sa.String(100), primary_key=True),
    sa.Column("version", sa.Integer(), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),  # active, paused, superseded, archived
    sa.Column("source", sa.Text(), nullable=False),  # the definition as written (YAML/JSON)
    sa.Column("filename", sa.String(300), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

enrollments = sa.Table(
    "enrollments",
    metadata,
    sa.Column("enrollment_id", sa.String(100), primary_key=True),
    sa.Column("journey_id", sa.String(100), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("profile_id", ProfileId, nullable=False),
    sa.Column("key", sa.String(200)),
    sa.Column("status", sa.String(16), nullable=False),  # active, exited
    sa.Column("node", sa.String(100)),
    sa.Column("holdout", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("goal_reached_at", sa.DateTime(timezone=True)),
    sa.Column("exit_reason", sa.String(100)),
    sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("state", sa.Text(), nullable=False),
    sa.Index(None, "profile_id"),
    sa.Index(None, "journey_id", "status"),
)

# Every outgoing message, committed with the state change that caused it. The dispatcher
# sends ``pending`` rows whose ``next_attempt_at`` has come; ``idempotency_key`` (journey,
# version, enrollment, node, step) makes a second insert of the same message a no-op.
outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", BigId, primary_key=True),
    sa.Column("idempotency_key", sa.String(400), nullable=False, unique=True),
    sa.Column("profile_id", ProfileId, nullable=False),
    sa.Column("journey_id", sa.String(100)),
    sa.Column("journey_version", sa.Integer()),
    sa.Column("enrollment_id", sa.String(100)),
    sa.Column("node_id", sa.String(100)),
    sa.Column("channel", sa.String(16), nullable=False),  # a name of juncture.core.channels
    sa.Column("purpose", sa.String(16), nullable=False),  # marketing transactional
    sa.Column("template", sa.String(200)),
    sa.Column("payload", sa.Text(), nullable=False),  # JSON: recipient, render context
    # pending, sent, dead, suppressed, deferred (waiting for quiet hours), shown (onsite)
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(200)),
    sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
    sa.Column("last_error", sa.Text()),
    sa.Index(None, "status", "next_attempt_at"),
    sa.Index(None, "profile_id", "created_at"),
    sa.Index(None, "journey_id", "status"),
)

delivery_attempts = sa.Table(
    "delivery_attempts",
    metadata,
    sa.Column("id", BigId, primary_key=True),
    sa.Column("outbox_id", BigId, nullable=False),
    sa.Column("attempt", sa.Integer(), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ok", sa.Boolean(), nullable=False),
    sa.Column("status_code", sa.Integer()),
    sa.Column("error", sa.Text()),
    sa.Column("duration_ms", sa.Float()),
    sa.Index(None, "outbox_id"),
)

# --- Segments (store/segments.py; migration 0003) ---------------------------------------
# ``profiles.consent``: resolved consent per "channel:purpose" (core.segments.consent_facts).
profiles.append_column(sa.Column("consent", sa.JSON()))

# Behavioural conditions scan one event name over a time window.
sa.Index("ix_events_event_timestamp", events.c.event, events.c.timestamp)

# Saved segment definitions: the text as written (YAML/JSON); ``kind`` is manual or auto.
segments = sa.Table(
    "segments",
    metadata,
    sa.Column("segment_id", sa.String(100), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("source", sa.Text(), nullable=False),
    sa.Column("filename", sa.String(300), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# Current members of each segment and since when.
segment_members = sa.Table(
    "segment_members",
    metadata,
    sa.Column("segment_id", sa.String(100), primary_key=True),
    sa.Column("profile_id", ProfileId, primary_key=True),
    sa.Column("since", sa.DateTime(timezone=True), nullable=False),
    sa.Index(None, "profile_id"),
)

# Size over time: one row per refresh.
segment_sizes = sa.Table(
    "segment_sizes",
    metadata,
    sa.Column("id", BigId, primary_key=True),
    sa.Column("segment_id", sa.String(100), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("size", sa.Integer(), nullable=False),
    sa.Column("entered", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("exited", sa.Integer(), nullable=False, server_default="0"),
    sa.Index(None, "segment_id", "at"),
)

# --- Product views (store/product_views.py; migration 0004) ------------------------------
# One row per entry of a live profile's ``products`` (its JSON in ``view``), kept out of
# ``profiles.body`` so that a commit writes the entries that changed, not all of them.
# ``position`` is the entry's place in the dict: read back in that order, the dict is as saved.
# On SQLite a rowid table, not WITHOUT ROWID: new rows go at its end and only the key's index
# takes them in key order, so a commit dirties fewer pages (in the engine bench, about a fifth
# less work writing the WAL, as much as before views moved out of the body).
product_views = sa.Table(
    "product_views",
    metadata,
    sa.Column("profile_id", ProfileId, primary_key=True),
    sa.Column("product_id", sa.String(), primary_key=True),
    sa.Column("position", sa.Integer(), nullable=False),
    sa.Column("view", sa.Text(), nullable=False),
)

# --- Erasures (store/erasure.py; migration 0005) ------------------------------------------
# A record of each erasure of a person, for the retailer's own accountability: when, the
# caller's reference for the request (a ticket number), and how many profiles and rows per
# table went. It names nobody: the ids are what was erased.
erasures = sa.Table(
    "erasures",
    metadata,
    sa.Column("id", BigId, primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("reference", sa.String(200)),
    sa.Column("profiles", sa.Integer(), nullable=False),
    sa.Column("rows", sa.Text(), nullable=False),  # JSON: {table: rows deleted or changed}
    sa.Index(None, "at"),
)


# --- Positions in the log (runtime/follower.py; migration 0007) ---------------------------
# How far a consumer of the event log has applied it: the seq of the last client event it
# applied, written in the same transaction as the state that event changed, so that after
# a crash every event is applied exactly once in effect. One row per consumer ("engine").
log_positions = sa.Table(
    "log_positions",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("seq", sa.BigInteger(), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# One row (id 1): a count that every other writer bumps on SQLite when it changes a table the
# engine's writer caches (``store/state_generation.py``), so that the writer keeps its cache
# across other connections' commits that leave those tables alone. Unused on PostgreSQL.
state_generation = sa.Table(
    "state_generation",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("n", sa.BigInteger(), nullable=False),
)


# One row (id 1), on SQLite: the newest seq ever given to an event. The writer gives the
# next ones above it, so that no seq is given twice when the newest events are deleted (an
# erasure, retention): a consumer already past them (the engine behind the log) would never
# read the events given their seqs again. Unused on PostgreSQL, whose sequence never goes
# back.
log_head = sa.Table(
    "log_head",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger(), nullable=False),
)


def chars(table: sa.Table, column: str) -> int:
    """How many characters a text column holds (0 when unbounded)."""
    return int(getattr(table.c[column].type, "length", None) or 0)


# The retailer's tables (products, stock, locations; loyalty, offers, associates, reviews)
# are declared in modules of their own on this metadata; importing them here keeps
# `tables.metadata` the whole schema.
from juncture.store import (  # noqa: E402, F401
    access_tables,
    campaign_runs,
    catalog_tables,
    feedback_tables,
    programme_tables,
    quality_tables,
    recommend_models,
    summary_tables,
)
