"""state_generation bumped once per statement by the connections that write the watched
tables (``store/state_generation.py``), not by a trigger per row: drop 0019's triggers

Revision ID: 0025
Revises: 0024
"""

from __future__ import annotations

from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

# Migration 0019's triggers, as it made them (SQLite only).
WATCHED = ("identities", "profiles", "product_views", "device_users", "enrollments", "outbox")
VERBS = ("insert", "update", "delete")
EVENTS = {
    "events_link": "AFTER INSERT ON events WHEN NEW.profile_id IS NOT NULL",
    "events_relink": "AFTER UPDATE OF profile_id ON events",
    "events_delete": "AFTER DELETE ON events",
}
_BUMP = "BEGIN UPDATE state_generation SET n = n + 1 WHERE id = 1; END"


def _triggers() -> dict[str, str]:
    found = {
        f"state_generation_{table}_{verb}": f"AFTER {verb.upper()} ON {table}"
        for table in WATCHED
        for verb in VERBS
    }
    found.update({f"state_generation_{name}": when for name, when in EVENTS.items()})
    return found


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in _triggers():
            op.execute(f"DROP TRIGGER IF EXISTS {name}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name, when in _triggers().items():
            op.execute(f"CREATE TRIGGER {name} {when} {_BUMP}")
