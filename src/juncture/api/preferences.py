"""The preference page, served to recipients without a login (a signed link in each
marketing message, like the unsubscribe link).

- ``GET /v1/preferences/{token}``: the recipient's choices as an HTML form: marketing on
  each channel (email, SMS, push) they can be reached on, ticked when they take it.
- ``POST /v1/preferences/{token}`` (a form: ``channel=email`` for each channel shown, and
  ``email=on`` for each one ticked): each choice that changed is a ``Consent Updated`` event
  on the profile (:mod:`juncture.runtime.preferences`); answers the page again, saying it
  was saved.

A token that does not verify is answered 404 ``invalid_link``; a form naming a channel that
is not offered, or a field the page does not have, is 400 naming it.
"""

from __future__ import annotations

from html import escape
from typing import Final
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from juncture.api import links as signed
from juncture.api.unsubscribe import Token, page
from juncture.channels.links import Links
from juncture.errors import BadInput
from juncture.runtime.preferences import OFFERED, Choice, Page, Preferences

MAX_FORM: Final = 2000  # bytes: a handful of channels
NAMES: Final = frozenset(c.name for c in OFFERED)
LABELS: Final = {"email": "by email", "sms": "by text message", "push": "as app notifications"}
INTRO: Final = (
    "<p>Choose what we may send you. Messages about your orders and account always reach "
    "you; these are about offers, news and reminders.</p>"
)


def router(links: Links | None, preferences: Preferences) -> APIRouter:
    api = APIRouter(tags=["messages"])

    def delivery(token: str) -> int:
        return signed.delivery(links, "preferences", token, name="preferences")

    @api.get("/v1/preferences/{token}", response_class=HTMLResponse)
    async def show(token: str = Token) -> HTMLResponse:
        """The recipient's choices, as a form."""
        found = await preferences.page_async(delivery(token))
        return _page(found, saved=False)

    @api.post("/v1/preferences/{token}", response_class=HTMLResponse)
    async def save(request: Request, token: str = Token) -> HTMLResponse:
        """Save the form: each changed choice is a consent event on the profile."""
        outbox_id = delivery(token)
        wanted = _wanted(await _form(request))
        return _page(await preferences.change(outbox_id, wanted), saved=True)

    return api


async def _form(request: Request) -> list[tuple[str, str]]:
    """The url-encoded form's fields, in order."""
    body = await request.body()
    if len(body) > MAX_FORM:
        raise BadInput("the form is too large", where="body")
    try:
        return parse_qsl(body.decode(), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadInput("the body is not a url-encoded form", where="body") from exc


def _wanted(fields: list[tuple[str, str]]) -> dict[str, bool]:
    """channel -> ticked, for the channels the form shows (``channel=...``)."""
    shown = [v for k, v in fields if k == "channel"]
    ticked = {k for k, v in fields if k != "channel" and v == "on"}
    for name in [*shown, *(k for k, _ in fields if k != "channel")]:
        if name not in NAMES:
            raise BadInput(f"no channel {name!r} on this page", where=f"form.{name}"[:80])
    return {name: name in ticked for name in shown}


def _page(found: Page | None, *, saved: bool) -> HTMLResponse:
    if found is None:
        body = "<p>We no longer hold anything about you: there is nothing to choose.</p>"
        return page("Your preferences", body)
    rows = "\n".join(_row(c) for c in found.choices)
    note = '<p role="status"><strong>Your choices are saved.</strong></p>' if saved else ""
    form = f'<form method="post">\n<fieldset><legend>Marketing</legend>\n{rows}\n</fieldset>'
    form += '\n<p><button type="submit">Save my choices</button></p>\n</form>'
    return page("Your preferences", f"{note}\n{INTRO}\n{form}")


def _row(choice: Choice) -> str:
    name = escape(choice.channel)
    words = LABELS.get(choice.channel, f"on {choice.channel}")
    ticked = " checked" if choice.granted else ""
    return (
        f'<input type="hidden" name="channel" value="{name}">'
        f'<p><label><input type="checkbox" name="{name}"{ticked}> Offers and news '
        f"{escape(words)}</label></p>"
    )
