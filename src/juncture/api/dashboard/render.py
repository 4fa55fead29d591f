"""Pages from the package's Jinja2 templates, with the headers every dashboard page carries.

Templates autoescape. Data a page's script needs travels in the page as JSON (``tojson``,
which escapes ``<``, ``>`` and ``&``) inside ``<script type="application/json">``, so the
Content-Security-Policy can forbid inline scripts and anything not served by Juncture itself.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

import jinja2
import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from juncture.core.events import as_utc

HEADERS: Final = {
    # Scripts, styles, images and fetches from Juncture only; the charts and the graph set
    # inline styles on their own elements, hence 'unsafe-inline' for styles alone.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("juncture.api.dashboard", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def when(value: dt.datetime | str | None) -> str:
    """A time as people read it in a table: ``2026-03-02 14:10 UTC``."""
    if value is None:
        return "-"
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return as_utc(value).strftime("%Y-%m-%d %H:%M UTC")


def number(value: float | int | None, places: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:,.{places}f}"


_env.filters["when"] = when
_env.filters["number"] = number
_env.policies["json.dumps_function"] = lambda obj, **_: orjson.dumps(
    obj, option=orjson.OPT_NON_STR_KEYS
).decode()


def page(request: Request, template: str, *, status: int = 200, **context: Any) -> Response:
    """``template`` rendered with ``context``, the request's path (for the menu) and the
    signed-in role's ``scopes`` (buttons a role may not use are left out of the page)."""
    scopes: frozenset[str] = getattr(request.state, "scopes", frozenset())
    html = _env.get_template(template).render(path=request.url.path, scopes=scopes, **context)
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def data(body: Any, status: int = 200) -> Response:
    """JSON for the dashboard's own scripts."""
    return Response(
        orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS), status_code=status,
        media_type="application/json", headers=HEADERS,
    )  # fmt: skip


def problem(status: int, code: str, message: str, **extra: Any) -> Response:
    """An error for the dashboard's scripts, shaped like the API's (``code``, ``message``)."""
    return data({"code": code, "message": message, **extra}, status)
