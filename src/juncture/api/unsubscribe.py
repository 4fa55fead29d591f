"""One-click unsubscribe (RFC 8058), served to recipients without a login.

- ``POST /v1/unsubscribe/{token}``: what a mail client sends when its unsubscribe button is
  pressed (body ``List-Unsubscribe=One-Click``), and what the page's button sends. The
  recipient of the delivery the token names stops receiving marketing on its channel: an
  ``Unsubscribed`` event on the profile, applied like any other consent statement. Answered
  200 with a short page, never a redirect (RFC 8058 forbids one); a second press changes
  nothing.
- ``GET /v1/unsubscribe/{token}``: a page that asks to confirm with a button. A GET never
  unsubscribes: link scanners and previews fetch URLs that nobody clicked.

The token is signed with ``JUNCTURE_LINKS_SECRET`` (:mod:`juncture.channels.links`), so
only the recipient of a message can unsubscribe through it. A token that does not verify is
answered 404 ``invalid_link``.
"""

from __future__ import annotations

from html import escape
from typing import Final

from fastapi import APIRouter, Path
from starlette.responses import HTMLResponse

from juncture.api import links as signed
from juncture.channels.links import Links
from juncture.runtime.feedback import FeedbackRecorder

Token = Path(max_length=80, pattern=signed.SIGNED_PATTERN)
PAGE: Final = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{title}</title></head>
<body style="font-family:sans-serif;max-width:32em;margin:3em auto;padding:0 1em">
<h1 style="font-size:1.4em">{title}</h1>
{body}
</body></html>
"""
FORM: Final = """<p>You will no longer receive marketing {what} from us. Messages about your
orders and account still reach you.</p>
<form method="post">
<input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">Unsubscribe</button>
</form>"""
CHANNEL_WORDS: Final = {"email": "emails", "sms": "text messages", "push": "notifications"}


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(PAGE.format(title=escape(title), body=body), status_code=status)


def router(links: Links | None, feedback: FeedbackRecorder) -> APIRouter:
    api = APIRouter(tags=["messages"])

    def delivery(token: str) -> int:
        return signed.delivery(links, "unsubscribe", token, name="unsubscribe")

    @api.get("/v1/unsubscribe/{token}", response_class=HTMLResponse)
    async def confirm(token: str = Token) -> HTMLResponse:
        """The page a person sees from the email's link: a button to confirm."""
        delivery(token)
        return page("Unsubscribe", FORM.format(what="emails"))

    @api.post("/v1/unsubscribe/{token}", response_class=HTMLResponse)
    async def one_click(token: str = Token) -> HTMLResponse:
        """RFC 8058's one-click POST (and the page's button): unsubscribe, answer 200."""
        who = await feedback.unsubscribe(delivery(token))
        what = CHANNEL_WORDS.get(who.channel, "messages") if who is not None else "messages"
        return page("You are unsubscribed", f"<p>You will no longer receive marketing {what}"
                    " from us.</p>")  # fmt: skip

    return api
