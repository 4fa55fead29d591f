"""Tracking plans and data-quality tallies (migration 0013). Declared on the one schema of
:mod:`juncture.store.tables`, which imports this module.

``tracking_plans``: a source's plan as it was given (YAML or JSON text, with its file name
for errors). ``quality_tallies``: counts per source, hour of receipt and event name (``''``:
the source as a whole) that the data-quality report adds up: messages received, duplicates,
those that broke the plan, quarantined by it or not in it, late and clock-skewed ones.
"""

from __future__ import annotations

import sqlalchemy as sa

from juncture.store.tables import Id, metadata

_COUNT = sa.BigInteger()

tracking_plans = sa.Table(
    "tracking_plans",
    metadata,
    sa.Column("source", sa.String(64), primary_key=True),
    sa.Column("filename", sa.String(200), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

quality_tallies = sa.Table(
    "quality_tallies",
    metadata,
    sa.Column("source", sa.String(64), primary_key=True),
    sa.Column("hour", sa.DateTime(timezone=True), primary_key=True),
    sa.Column("event", Id, primary_key=True),
    sa.Column("received", _COUNT, nullable=False),
    sa.Column("duplicates", _COUNT, nullable=False),
    sa.Column("violating", _COUNT, nullable=False),
    sa.Column("quarantined", _COUNT, nullable=False),
    sa.Column("unplanned", _COUNT, nullable=False),
    sa.Column("late", _COUNT, nullable=False),
    sa.Column("skewed", _COUNT, nullable=False),
    sa.Column("skew_max_ms", _COUNT, nullable=False),
)
