"""``GET /v1/juncture.js``: the on-site script a storefront includes with a script tag.

The file ships in the package beside this module (``juncture.js``, hand-written, no
dependencies) and is read once. It is public (the write key is in the page, as for every
browser tracker), cached by browsers and proxies for :data:`MAX_AGE` seconds, and
revalidated with its ``ETag`` after that. docs/onsite.md describes what it does.
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources
from typing import Final

from fastapi import APIRouter, Request
from starlette.responses import Response

MAX_AGE: Final = 300  # seconds: short, so that a new version reaches shops within minutes
MEDIA_TYPE: Final = "text/javascript; charset=utf-8"


@cache
def script() -> tuple[bytes, str]:
    """The script's bytes and their ETag."""
    body = resources.files(__package__).joinpath("juncture.js").read_bytes()
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def router() -> APIRouter:
    api = APIRouter(tags=["on-site"])

    @api.get("/v1/juncture.js", response_class=Response)
    async def juncture_js(request: Request) -> Response:
        body, etag = script()
        headers = {"Cache-Control": f"public, max-age={MAX_AGE}", "ETag": etag}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(body, media_type=MEDIA_TYPE, headers=headers)

    return api
