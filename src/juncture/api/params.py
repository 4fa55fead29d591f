"""Bounds on what callers pass in queries, paths and bodies, declared once for every route:
an integer fits the BIGINT columns it is compared with, and a time is in the range every
stage computes with (``core.bounds``: not 0001 or 9999, whose neighbours do not exist)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Final

from fastapi import Path, Query, Request
from pydantic import Field

from juncture.core import bounds
from juncture.errors import BadInput
from juncture.runtime.clock import SystemClock

BIGINT: Final = bounds.MAX_INT  # the largest id, seq or version a column holds
SEED_MAX: Final = 2**32 - 1  # the largest seed scikit-learn takes

RowId = Annotated[int, Field(ge=1, le=BIGINT)]  # an id in a body
PathId = Annotated[int, Path(ge=1, le=BIGINT)]  # an id in a path

# A page of events in log order (``GET /v1/events``, a profile's timeline).
AfterSeq = Annotated[int, Query(ge=0, le=BIGINT, description="Only events with seq above this")]
EventLimit = Annotated[int, Query(ge=1, le=1000)]
Derived = Annotated[
    bool | None,
    Query(description="false: only what clients sent; true: only engine-derived events"),
]

At = Annotated[
    dt.datetime | None,
    Query(description="Evaluate as of this time, ISO 8601 with a zone (default: now)."),
]


def moment(at: dt.datetime | None) -> dt.datetime:
    """``at`` checked (a zone, within ``core.bounds``), or now (the runtime's wall clock) when
    not given."""
    if at is None:
        return SystemClock().now()
    if at.tzinfo is None:
        raise BadInput(
            "`at` needs a time zone, e.g. 2026-03-02T10:00:00Z",
            code="invalid_parameter",
            where="query.at",
        )
    if not bounds.within_time(at):
        raise BadInput(
            f"`at` is out of range: give a time in {bounds.time_range()}",
            code="invalid_parameter",
            where="query.at",
        )
    return at


def no_nul(request: Request) -> None:
    """An app-wide dependency: no path or query value holds NUL, which PostgreSQL's text
    cannot (the database would refuse the query); ``invalid_parameter`` says which."""
    given = [("path", k, str(v)) for k, v in request.path_params.items()]
    given += [("query", k, v) for k, v in request.query_params.multi_items()]
    for where, name, value in given:
        if "\x00" in value:
            raise BadInput(
                f"{where}.{name}: NUL (\\x00) is not allowed",
                code="invalid_parameter",
                where=f"{where}.{name}",
            )
