"""Journey administration over HTTP (``Authorization: Bearer $JUNCTURE_ADMIN_TOKEN``).

Definitions are sent as the raw request body, YAML (``application/yaml``) or JSON
(``application/json``); an invalid one is answered 422 with every problem in ``problems``
(``where`` is ``file:line``, ``path`` the place in the definition) and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Annotated, Any, Final

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from juncture.api import bodies, body, source_text
from juncture.api.auth import admin_only
from juncture.api.errors import error_response, json_response
from juncture.api.params import BIGINT
from juncture.definitions import journeys as journey_definitions
from juncture.errors import BadInput, MalformedBody
from juncture.store.journeys import Journey, JourneyStore

MAX_BODY: Final = 1 << 20
_KINDS: Final = {
    "application/yaml": "yaml",
    "application/x-yaml": "yaml",
    "text/yaml": "yaml",
    "text/x-yaml": "yaml",
    "application/json": "json",
}

Version = Annotated[
    int | None, Query(ge=1, le=BIGINT, description="A version (default: the latest)")
]


class UnsupportedMediaType(BadInput):
    status = 415
    code = "unsupported_media_type"


def router(
    journeys: JourneyStore,
    admin_token: str | None,
    body_timeout: float,
    templates: Callable[[], Collection[str]] | None = None,
) -> APIRouter:
    """``templates``: the template names that exist now (shipped, the retailer's folder,
    uploaded); a definition naming another is refused where it names it."""
    api = APIRouter(
        prefix="/v1/journeys", dependencies=[admin_only(admin_token)], tags=["journeys"]
    )

    @api.get("")
    async def list_journeys() -> Response:
        found = await run_in_threadpool(journeys.list)
        return json_response({"journeys": [j.summary() for j in found]})

    @api.get("/schema")
    async def schema() -> Response:
        return json_response(journey_definitions.schema())

    @api.post("/validate", openapi_extra=bodies.definition())
    async def validate(request: Request) -> Response:
        text, filename = await definition(request, body_timeout)
        try:
            spec = journey_definitions.loads(text, filename, _names(templates))
        except journey_definitions.InvalidJourney as exc:
            return invalid(exc)
        return json_response({"valid": True, "journey": spec.id, "nodes": list(spec.nodes)})

    @api.post("", openapi_extra=bodies.definition())
    async def apply(request: Request) -> Response:
        text, filename = await definition(request, body_timeout)
        try:
            done = await run_in_threadpool(journeys.apply, text, filename, _names(templates))
        except journey_definitions.InvalidJourney as exc:
            return invalid(exc)
        body = {
            "journey": done.journey_id,
            "version": done.version,
            "status": done.status,
            "created": done.created,
            "declaredVersion": done.declared,
            "dateTimersArmed": done.date_timers,
        }
        return json_response(body, 201 if done.created else 200)

    @api.get("/{journey_id}")
    async def show(journey_id: str, version: Version = None) -> Response:
        found = await run_in_threadpool(journeys.show, journey_id, version)
        return json_response(_detail(found))

    @api.get("/{journey_id}/stats")
    async def stats(journey_id: str, version: Version = None) -> Response:
        found = await run_in_threadpool(journeys.stats, journey_id, version)
        return json_response(found.to_json())

    _lifecycle(api, journeys)
    return api


def _names(templates: Callable[[], Collection[str]] | None) -> Collection[str] | None:
    return None if templates is None else templates()


def _lifecycle(api: APIRouter, journeys: JourneyStore) -> None:
    @api.post("/{journey_id}/pause")
    async def pause(journey_id: str) -> Response:
        return json_response((await run_in_threadpool(journeys.pause, journey_id)).summary())

    @api.post("/{journey_id}/resume")
    async def resume(journey_id: str) -> Response:
        return json_response((await run_in_threadpool(journeys.resume, journey_id)).summary())

    @api.post("/{journey_id}/archive")
    async def archive(journey_id: str) -> Response:
        return json_response((await run_in_threadpool(journeys.archive, journey_id)).summary())


async def definition(request: Request, timeout: float) -> tuple[str, str]:
    """The body as text and the name problems will carry (``body.yaml`` or ``body.json``);
    also the draft of a dry run (``api/dry_run``)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    kind = _KINDS.get(media)
    if kind is None:
        raise UnsupportedMediaType(
            f"send the definition as application/yaml or application/json, not {media!r}"
        )
    raw = await body.read(request, limit=MAX_BODY, timeout=timeout)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedBody("the definition is not UTF-8 text", code="bad_encoding") from exc
    name = request.query_params.get("filename") or f"body.{kind}"
    if kind == "json" and not name.endswith(".json"):
        name += ".json"
    source_text.check(text, name)
    return text, name


def invalid(exc: journey_definitions.InvalidJourney) -> Response:
    problems = [{"where": p.where, "path": p.path, "message": p.message} for p in exc.problems]
    return error_response(exc, {"problems": problems})


def _detail(journey: Journey) -> dict[str, Any]:
    shown = journey.spec
    return {
        **journey.summary(),
        "shownVersion": shown.version,
        "definition": journey.source,
        "nodes": [{"id": n.id, "type": type(n).__name__} for n in shown.nodes.values()],
        "versions": [v.to_json() for v in journey.versions],
    }
