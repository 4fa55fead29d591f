"""What the measurement routes share: the answer's format (JSON, or a CSV download) and a
report's time range (``since`` and ``until``, each with a zone, ``since`` first)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated

from fastapi import Query
from starlette.responses import Response

from juncture.core import bounds
from juncture.errors import BadInput


class Format(StrEnum):
    json = "json"
    csv = "csv"


FormatQuery = Annotated[Format, Query(description="json (default) or csv.")]
Since = Annotated[dt.datetime | None, Query(description="From this time (ISO 8601, a zone).")]
Until = Annotated[dt.datetime | None, Query(description="Before this time (ISO 8601, a zone).")]
Segment = Annotated[str | None, Query(max_length=100, description="Current members only.")]


def span(
    since: dt.datetime | None, until: dt.datetime | None, where: str = "query"
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """``since`` and ``until`` checked: each with a zone and in range, ``since`` first;
    ``BadInput`` says which is wrong (under ``where``)."""
    for value, name in ((since, "since"), (until, "until")):
        if value is not None and (value.tzinfo is None or not bounds.within_time(value)):
            raise BadInput(
                f"`{name}` needs a time zone and a time in {bounds.time_range()}",
                code="invalid_parameter", where=f"{where}.{name}",
            )  # fmt: skip
    if since is not None and until is not None and since >= until:
        raise BadInput(
            "`since` must come before `until`", code="invalid_parameter", where=f"{where}.until"
        )
    return since, until


def csv_download(text: str, name: str) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(text, media_type="text/csv", headers=headers)
