"""The vocabulary of measurement, declared once for the store's queries, the API and the
CLI: the KPI reports and the periods figures are grouped by (plain enums, so that the CLI
can offer them without loading the statistics)."""

from __future__ import annotations

from enum import StrEnum


class Period(StrEnum):
    """How figures are grouped in time: by UTC day, ISO week (from Monday), month, or all."""

    day = "day"
    week = "week"
    month = "month"
    all = "all"


class KpiReport(StrEnum):
    """The KPI reports (docs/measurement.md shows each one's rows)."""

    commerce = "commerce"
    carts = "carts"
    customers = "customers"
    retention = "retention"
    stages = "stages"
    stage_moves = "stage-moves"
    journeys = "journeys"
    attribution = "attribution"
    messages = "messages"
    surveys = "surveys"
    follow_up = "follow-up"


class Breakdown(StrEnum):
    """How the survey report groups answers: not at all, per segment (each the profile is a
    member of now), per journey and arm entered before, or per store."""

    all = "all"
    segment = "segment"
    journey = "journey"
    store = "store"
