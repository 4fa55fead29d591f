"""The retailer's own templates (admin API, bearer token).

- ``GET /v1/templates``: every template a journey may name, the retailer's (``yours``) and
  the shipped ones (``shipped``), and whether one of yours overrides a shipped one.
- ``GET /v1/templates/{name}``: its parts (``subject``, ``html``, ``text``) and where it is.
- ``PUT /v1/templates/{name}`` ``{"subject": ..., "html": ..., "text": ...}``: upload (or
  replace) one of yours, checked first: a part that does not parse is answered
  ``422 invalid_template`` with the part and line (``where: "name/body.html.liquid:3"``) and
  nothing is written. Needs ``JUNCTURE_TEMPLATES_DIR`` (else ``409 no_templates_dir``).
- ``DELETE /v1/templates/{name}``: remove one of yours (the shipped one of that name, if
  any, is used again).
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from juncture.api.auth import admin_only
from juncture.api.errors import json_response
from juncture.channels.template_folder import NAME, TemplateFolder
from juncture.channels.templates import Templates
from juncture.errors import BadInput, Conflict, NotFound

PART_LIMIT: Final = 256 * 1024  # characters per part
TemplateName = Path(pattern=NAME.pattern, description="letters a-z, digits, _ and -")


class Upload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str | None = Field(default=None, max_length=PART_LIMIT)
    html: str | None = Field(default=None, max_length=PART_LIMIT)
    text: str | None = Field(default=None, max_length=PART_LIMIT)

    def parts(self) -> dict[str, str]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


def router(templates: Templates, admin_token: str | None) -> APIRouter:
    api = APIRouter(tags=["templates"], dependencies=[admin_only(admin_token)])
    folder = TemplateFolder(templates.own) if templates.own is not None else None
    shipped = TemplateFolder(templates.directory)

    def yours(name: str) -> bool:
        return folder is not None and name in folder.names()

    @api.get("/v1/templates")
    async def listing() -> Response:
        mine = set(folder.names()) if folder is not None else set()
        base = set(shipped.names())
        rows = [
            {
                "name": n,
                "source": "yours" if n in mine else "shipped",
                "overrides": n in mine & base,
            }
            for n in sorted(mine | base)
        ]
        return json_response({"templates": rows})

    @api.get("/v1/templates/{name}")
    async def one(name: str = TemplateName) -> Response:
        source = "yours" if yours(name) else "shipped"
        found = (folder if source == "yours" and folder else shipped).read(name)
        if found is None:
            raise NotFound(f"no template {name!r}", code="template_not_found", where="name")
        return json_response({"name": name, "source": source, **found})

    @api.put("/v1/templates/{name}")
    async def upload(body: Upload, name: str = TemplateName) -> Response:
        if folder is None:
            raise Conflict(
                "set JUNCTURE_TEMPLATES_DIR to keep your own templates", code="no_templates_dir"
            )
        parts = body.parts()
        if not parts:
            raise BadInput("give at least one of subject, html, text", where="body")
        templates.check(name, parts)  # TemplateError: 422 with the part and line
        await run_in_threadpool(folder.write, name, parts)
        answer: dict[str, Any] = {"name": name, "source": "yours", **parts}
        return json_response(answer)

    @api.delete("/v1/templates/{name}")
    async def delete(name: str = TemplateName) -> Response:
        if folder is None or not await run_in_threadpool(folder.delete, name):
            raise NotFound(f"no template of yours named {name!r}", code="template_not_found")
        return Response(status_code=204)

    return api
