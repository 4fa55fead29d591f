"""state_generation: on SQLite, a count that triggers bump when a table the engine's writer
caches changes, so that other connections' commits to other tables keep its cache

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

# The tables the writer's cache holds rows of (``state_cache.WATCHED``, tested to agree).
WATCHED = ("identities", "profiles", "product_views", "device_users", "enrollments", "outbox")
VERBS = ("insert", "update", "delete")
# The event log: only what changes a profile's events (a profile's recent events are cached
# for segments), so that appending unlinked events, ingestion's work, bumps nothing.
EVENTS = {
    "events_link": "AFTER INSERT ON events WHEN NEW.profile_id IS NOT NULL",
    "events_relink": "AFTER UPDATE OF profile_id ON events",
    "events_delete": "AFTER DELETE ON events",
}
_BUMP = "BEGIN UPDATE state_generation SET n = n + 1 WHERE id = 1; END"


def upgrade() -> None:
    op.create_table(
        "state_generation",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_state_generation")),
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute("INSERT INTO state_generation (id, n) VALUES (1, 0)")
        for table in WATCHED:
            for verb in VERBS:
                op.execute(
                    f"CREATE TRIGGER state_generation_{table}_{verb} AFTER {verb.upper()} "
                    f"ON {table} {_BUMP}"
                )
        for name, when in EVENTS.items():
            op.execute(f"CREATE TRIGGER state_generation_{name} {when} {_BUMP}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in WATCHED:
            for verb in VERBS:
                op.execute(f"DROP TRIGGER IF EXISTS state_generation_{table}_{verb}")
        for name in EVENTS:
            op.execute(f"DROP TRIGGER IF EXISTS state_generation_{name}")
    op.drop_table("state_generation")
