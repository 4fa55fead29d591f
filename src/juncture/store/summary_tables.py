"""The dashboard's summaries of the event log (migration 0017). Declared on the one schema of
:mod:`juncture.store.tables`, which imports this module.

``activity_minutes``: per minute of ``received_at`` (whole minutes since 1970), the client
events, the engine's derived events, the orders and their revenue received in it: what the
Overview charts, summed into its buckets instead of aggregating a period's events per ask.
``summary_marks``: per summary, the ``seq`` of the last event it has counted; everything
after it is counted by the next refresh (:mod:`juncture.store.activity`).
``engine_lag``: the engine's lag behind the log, sampled about once a minute by the job that
keeps the summaries (migration 0018), for the Overview's chart of it over time.
``report_results``: the last result of each slow dashboard read (a funnel and paths, the
measurement, the stage counts), keyed by the report and its parameters, with when it was
computed and the claim of the process computing it now (:mod:`juncture.store.report_results`,
migration 0022), so that every server process answers from one result and one computes it.
"""

from __future__ import annotations

import sqlalchemy as sa

from juncture.store.tables import metadata

activity_minutes = sa.Table(
    "activity_minutes",
    metadata,
    sa.Column("minute", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("events", sa.BigInteger(), nullable=False),  # client events
    sa.Column("derived", sa.BigInteger(), nullable=False),  # the engine's own events
    sa.Column("orders", sa.BigInteger(), nullable=False),
    sa.Column("revenue", sa.Float(), nullable=False),
)

summary_marks = sa.Table(
    "summary_marks",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("seq", sa.BigInteger(), nullable=False),  # the last event counted
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

engine_lag = sa.Table(
    "engine_lag",
    metadata,
    sa.Column("at", sa.DateTime(timezone=True), primary_key=True),
    sa.Column("events", sa.BigInteger(), nullable=False),  # client events not yet applied
    sa.Column("seconds", sa.Float(), nullable=False),  # age of the oldest of them
)

report_results = sa.Table(
    "report_results",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),  # sha256 of report and parameters
    sa.Column("report", sa.String(64), nullable=False),
    sa.Column("params", sa.Text(), nullable=False),  # JSON: what was chosen
    sa.Column("value", sa.Text()),  # JSON; null until first computed
    sa.Column("computed_at", sa.DateTime(timezone=True)),
    sa.Column("took_s", sa.Float()),
    sa.Column("claimed_by", sa.String(64)),  # the process computing it now
    sa.Column("claimed_until", sa.DateTime(timezone=True)),
)
