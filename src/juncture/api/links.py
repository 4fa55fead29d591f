"""Tracked links and the open pixel, served to recipients without a login.

- ``GET /v1/links/{token}?u=<url>``: the click of a link in an email. The token is signed
  over the delivery *and* the target (:mod:`juncture.channels.links`), so the redirect goes
  only where the email itself pointed: a changed ``u`` is answered ``404 invalid_link``,
  never redirected (no open redirect). A good one is recorded (``Email Link Clicked`` on the
  profile) and answered ``302`` to the target.
- ``GET /v1/opens/{token}.gif``: the open pixel, a 1x1 transparent GIF, not cached; the
  first fetch tells the profile ``Email Opened``.
"""

from __future__ import annotations

import base64
from typing import Annotated, Final

from fastapi import APIRouter, Path, Query
from starlette.responses import RedirectResponse, Response

from juncture.channels.links import Links
from juncture.errors import NotFound
from juncture.runtime.feedback import FeedbackRecorder

GIF: Final = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
SIGNED_PATTERN: Final = r"^[0-9]{1,19}\.[A-Za-z0-9_-]{1,40}$"
Token = Annotated[str, Path(max_length=80, pattern=SIGNED_PATTERN)]
Target = Annotated[str, Query(alias="u", max_length=4000, pattern=r"^https?://")]
Pixel = Annotated[str, Path(max_length=80, pattern=SIGNED_PATTERN[:-1] + r"\.gif$")]


def delivery(links: Links | None, action: str, token: str, target: str = "", name: str = "") -> int:
    """The delivery a link signed for ``action`` (and ``target``) names; 404 ``invalid_link``
    ("this <name> link is not valid") when it was not signed here or no links are."""
    found = None if links is None else links.verify(action, token, target)
    if found is None:
        what = f"this {name} link" if name else "this link"
        raise NotFound(f"{what} is not valid", code="invalid_link", where="token")
    return found


def router(links: Links | None, feedback: FeedbackRecorder) -> APIRouter:
    api = APIRouter(tags=["messages"])

    @api.get("/v1/links/{token}", response_class=RedirectResponse, status_code=302)
    async def click(token: Token, target: Target) -> Response:
        """Record the click and go where the email pointed."""
        await feedback.click(delivery(links, "click", token, target), target)
        return RedirectResponse(target, status_code=302, headers={"Cache-Control": "no-store"})

    @api.get("/v1/opens/{name}", response_class=Response)
    async def pixel(name: Pixel) -> Response:
        """A 1x1 transparent GIF; the delivery it names was opened."""
        await feedback.open(delivery(links, "open", name.removesuffix(".gif")))
        return Response(GIF, media_type="image/gif", headers={"Cache-Control": "no-store"})

    return api
