"""The Journeys pages: the list with status and headline results, one journey drawn as a graph
with live counts per node (and its splits' results), pause, resume and archive, two versions
side by side, and the YAML editor (validated as you type against the journey grammar, the
graph redrawn from the draft, a dry run over the last 30 days, applied as a new version).

Everything goes through the journey repository and the measurement the JSON API uses
(``/v1/journeys``, ``/v1/measure``): the same validation, the same versions, the same figures.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any, Final

import orjson
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from juncture.api import body
from juncture.api.dashboard import graph, insights, render
from juncture.api.dashboard.overview import PERIODS, window
from juncture.api.dashboard.sources import Sources
from juncture.definitions import journeys as definitions
from juncture.definitions.reader import line_of
from juncture.errors import BadInput
from juncture.store.journeys import Journey

MAX_DRAFT: Final = 1 << 20
READ_TIMEOUT: Final = 30.0
ACTIONS: Final = ("pause", "resume", "archive")
DRY_RUN_PERIOD: Final = "30d"
STARTER: Final = """\
id: my_journey
version: 1
name: My journey
nodes:
  - id: start
    type: trigger
    event: Product Viewed
    next: done
  - id: done
    type: exit
"""


def listing(sources: Sources) -> tuple[list[dict[str, Any]], bool]:
    """Each journey's summary, counts and headline result (conversion against holdout), and
    whether the results were measured yet."""
    journeys = sources.store.journeys
    stats = {s.journey_id: s.to_json() for s in journeys.all_stats()}
    report = insights.measured(sources)
    kpis = report.value["kpis"] if report is not None else {}
    rows = []
    for j in journeys.list():
        rows.append(
            {
                **j.summary(),
                "stats": stats.get(j.spec.id),
                "kpis": kpis.get(j.spec.id),
            }
        )
    return rows, report is not None


def detail(sources: Sources, journey_id: str) -> dict[str, Any]:
    """One journey: summary, graph with counts, node table, versions, experiments."""
    journeys = sources.store.journeys
    found = journeys.show(journey_id)
    stats = journeys.stats(journey_id)
    report = insights.measured(sources, journey_id)
    return {
        **found.summary(),
        "source": found.source,
        "elements": graph.elements(found.spec, stats),
        "totals": stats.to_json(),
        "versions": [v.to_json() for v in found.versions],
        "experiments": report.value["experiments"] if report else [],
        "measured": report is not None,
    }


def compare(sources: Sources, journey_id: str, a: int | None, b: int | None) -> dict[str, Any]:
    """Two versions' definitions side by side (the one before the latest and the latest by
    default), line against line, with the lines that differ marked."""
    journeys = sources.store.journeys
    versions = [v.version for v in journeys.show(journey_id).versions]
    b = b or versions[-1]
    a = a or (versions[-2] if len(versions) > 1 else versions[-1])
    left, right = journeys.show(journey_id, a), journeys.show(journey_id, b)
    rows = difflib.SequenceMatcher(a=left.source.splitlines(), b=right.source.splitlines())
    lines: list[dict[str, Any]] = []
    for tag, i1, i2, j1, j2 in rows.get_opcodes():
        olds, news = left.source.splitlines()[i1:i2], right.source.splitlines()[j1:j2]
        for k in range(max(len(olds), len(news))):
            old = olds[k] if k < len(olds) else None
            new = news[k] if k < len(news) else None
            lines.append({"a": old, "b": new, "same": tag == "equal"})
    return {**right.summary(), "versions": versions, "a": a, "b": b, "lines": lines}


def rehearse(sources: Sources, text: str) -> dict[str, Any]:
    """What the draft would have done over the last 30 days of events (the Overview's
    period: ending at the newest event where nothing came since), sending nothing."""
    since, until, _ = window(sources, PERIODS[DRY_RUN_PERIOD])
    return sources.measurement.dry_run(text, "draft.yaml", since=since, now=until)


def check_draft(text: str) -> dict[str, Any]:
    """A draft's problems (each with its line) or, when it has none, its graph."""
    try:
        spec = definitions.loads(text, "draft.yaml")
    except definitions.InvalidJourney as exc:
        return {"valid": False, "problems": [problem_json(p) for p in exc.problems]}
    return {"valid": True, "journey": spec.id, "elements": graph.elements(spec)}


def refused(problems: Sequence[Any]) -> Response:
    """422 for a definition with problems, each with its line, path and message."""
    found = [problem_json(p) for p in problems]
    return render.problem(422, "invalid_definition", "the definition has problems", problems=found)


def problem_json(p: Any) -> dict[str, Any]:
    """A definition problem for the editors: its line, its path, what is wrong."""
    return {"line": line_of(p), "path": p.path, "message": p.message}


async def draft_text(request: Request, limit: int = MAX_DRAFT) -> str:
    """The definition a page's editor sends: ``{"text": "<YAML or JSON>"}``."""
    raw = await body.read(request, limit=limit, timeout=READ_TIMEOUT)
    try:
        text = orjson.loads(raw)["text"]
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise BadInput('send {"text": "<the definition>"}', code="invalid_body") from exc
    if not isinstance(text, str):
        raise BadInput("`text` is the definition as a string", code="invalid_body", where="text")
    return text


def router(sources: Sources) -> APIRouter:
    api = APIRouter(include_in_schema=False)
    _pages(api, sources)
    _actions(api, sources)
    return api


def _pages(api: APIRouter, sources: Sources) -> None:
    @api.get("/app/journeys")
    async def journeys(request: Request) -> Response:
        rows, measured = await run_in_threadpool(listing, sources)
        return render.page(request, "journeys.html", journeys=rows, measured=measured)

    @api.get("/app/journeys/new")
    async def new(request: Request) -> Response:
        return render.page(request, "editor.html", journey=None, source=STARTER)

    @api.get("/app/journeys/{journey_id}")
    async def journey(request: Request, journey_id: str) -> Response:
        found = await run_in_threadpool(detail, sources, journey_id)
        return render.page(request, "journey.html", journey=found)

    @api.get("/app/journeys/{journey_id}/versions")
    async def versions(request: Request, journey_id: str) -> Response:
        a, b = _version(request, "a"), _version(request, "b")
        found = await run_in_threadpool(compare, sources, journey_id, a, b)
        return render.page(request, "versions.html", journey=found)

    @api.get("/app/journeys/{journey_id}/edit")
    async def edit(request: Request, journey_id: str) -> Response:
        found: Journey = await run_in_threadpool(sources.store.journeys.show, journey_id)
        return render.page(request, "editor.html", journey=found.summary(), source=found.source)


def _version(request: Request, name: str) -> int | None:
    given = request.query_params.get(name)
    if not given:
        return None
    if not given.isdigit() or not 0 < int(given) < 1 << 31:
        raise BadInput("a version is a whole number from 1", code="invalid_parameter", where=name)
    return int(given)


def _actions(api: APIRouter, sources: Sources) -> None:
    store = sources.store.journeys

    @api.get("/app/api/journeys/schema")
    async def schema() -> Response:
        return render.data(definitions.schema())

    @api.get("/app/api/journeys/{journey_id}")
    async def counts(journey_id: str) -> Response:
        return render.data(await run_in_threadpool(detail, sources, journey_id))

    @api.post("/app/api/journeys/draft")
    async def draft(request: Request) -> Response:
        return render.data(check_draft(await draft_text(request)))

    @api.post("/app/api/journeys/dry-run")
    async def dry_run(request: Request) -> Response:
        text = await draft_text(request)
        try:
            found = await run_in_threadpool(rehearse, sources, text)
        except definitions.InvalidJourney as exc:
            return refused(exc.problems)
        return render.data(found)

    @api.post("/app/api/journeys/apply")
    async def apply(request: Request) -> Response:
        text = await draft_text(request)
        try:
            done = await run_in_threadpool(store.apply, text, "dashboard.yaml")
        except definitions.InvalidJourney as exc:
            return refused(exc.problems)
        answer = {"journey": done.journey_id, "version": done.version, "created": done.created}
        return render.data(answer, 201 if done.created else 200)

    @api.post("/app/api/journeys/{journey_id}/{action}")
    async def lifecycle(journey_id: str, action: str) -> Response:
        if action not in ACTIONS:
            raise BadInput(f"no action {action!r}: {', '.join(ACTIONS)}", code="invalid_action")
        done = await run_in_threadpool(getattr(store, action), journey_id)
        return render.data(done.summary())
