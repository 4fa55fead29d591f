"""Signed links in messages: one-click unsubscribe (RFC 8058), tracked clicks, the open pixel.

Each link names one delivery (the outbox row's id) and is signed with a server secret
(``JUNCTURE_LINKS_SECRET``), so that nobody can make a link for another delivery: guessing
an id gets a signature that does not match. The signature covers what the link does
(``unsubscribe``, ``click`` with its target, ``open``), so a click link cannot be turned
into an unsubscribe. Tokens carry no personal data and do not expire: an unsubscribe link
must keep working for as long as the mail may be read.

>>> links = Links("k3y", "https://j.shop.example/")
>>> url = links.unsubscribe(17)
>>> url.startswith("https://j.shop.example/v1/unsubscribe/17.")
True
>>> links.verify("unsubscribe", url.rsplit("/", 1)[1])
17
>>> links.verify("open", url.rsplit("/", 1)[1]) is None
True
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from html import escape, unescape
from typing import Final
from urllib.parse import urlencode

from juncture.channels.base import Content

# RFC 8058, section 3.1: the one key/value pair a client POSTs to the unsubscribe URL.
ONE_CLICK: Final = "List-Unsubscribe=One-Click"
SIGNATURE_BYTES: Final = 16  # 128 bits: beyond guessing, short enough for a URL
# An anchor's href (quoted either way): what click tracking rewrites.
_HREF: Final = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)


class Links:
    """Makes and checks the signed links of one server (``base_url``: where recipients reach
    it, ``https://juncture.shop.example``)."""

    def __init__(self, secret: str, base_url: str) -> None:
        if not secret:
            raise ValueError("the links secret must not be empty")
        self._key = secret.encode()
        self.base_url = base_url.rstrip("/")

    def token(self, action: str, delivery: int, target: str = "") -> str:
        """``<delivery>.<signature>`` for ``action`` on ``delivery`` (and its ``target``)."""
        return f"{delivery}.{self._sign(action, delivery, target)}"

    def verify(self, action: str, token: str, target: str = "") -> int | None:
        """The delivery a token names, when it was signed here for ``action`` (and
        ``target``); None for anything else."""
        head, _, signature = token.partition(".")
        if not head.isdigit() or len(head) > 19:
            return None
        delivery = int(head)
        expected = self._sign(action, delivery, target)
        return delivery if hmac.compare_digest(signature, expected) else None

    def unsubscribe(self, delivery: int) -> str:
        """The one-click unsubscribe URL of a delivery (also the footer's link)."""
        return f"{self.base_url}/v1/unsubscribe/{self.token('unsubscribe', delivery)}"

    def preferences(self, delivery: int) -> str:
        """The preference page of a delivery's recipient (marketing per channel)."""
        return f"{self.base_url}/v1/preferences/{self.token('preferences', delivery)}"

    def click(self, delivery: int, target: str) -> str:
        """A tracked link that records the click and redirects to ``target``."""
        query = urlencode({"u": target})
        return f"{self.base_url}/v1/links/{self.token('click', delivery, target)}?{query}"

    def pixel(self, delivery: int) -> str:
        """The open pixel's URL (a 1x1 GIF)."""
        return f"{self.base_url}/v1/opens/{self.token('open', delivery)}.gif"

    def unsubscribe_headers(self, delivery: int) -> dict[str, str]:
        """RFC 2369's ``List-Unsubscribe`` (one URI in angle brackets) and RFC 8058's
        ``List-Unsubscribe-Post``: mail clients show an unsubscribe button that POSTs."""
        return {
            "List-Unsubscribe": f"<{self.unsubscribe(delivery)}>",
            "List-Unsubscribe-Post": ONE_CLICK,
        }

    def _sign(self, action: str, delivery: int, target: str) -> str:
        message = f"{action}\n{delivery}\n{target}".encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()[:SIGNATURE_BYTES]
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def with_way_out(content: Content, url: str) -> Content:
    """``content`` with the unsubscribe link in its body: a template that does not show
    ``unsubscribe_url`` (one of the retailer's) gets a footer line with it."""
    text, html = content.text, content.html
    if url not in text:
        text = f"{text.rstrip()}\n\nUnsubscribe: {url}\n"
    if html and escape(url) not in html and url not in html:
        footer = f'<p style="font-size:12px"><a href="{escape(url)}">Unsubscribe</a></p>'
        at = html.lower().rfind("</body>")
        html = f"{html[:at]}{footer}\n{html[at:]}" if at >= 0 else f"{html.rstrip()}\n{footer}\n"
    return Content(subject=content.subject, html=html, text=text)


def tracked(links: Links, delivery: int, html: str, *, clicks: bool, opens: bool) -> str:
    """``html`` with each http(s) link through :meth:`Links.click` (the unsubscribe link,
    the preference page and ``mailto:`` left as they are) and, with ``opens``, the open
    pixel before ``</body>``."""
    way_out = {links.unsubscribe(delivery), links.preferences(delivery)}

    def swap(found: re.Match[str]) -> str:
        target = unescape(found.group(3)).strip()
        if not target.lower().startswith(("http://", "https://")) or target in way_out:
            return found.group(0)
        head, quote = found.group(1), found.group(2)
        return f"{head}{quote}{escape(links.click(delivery, target))}{quote}"

    out = _HREF.sub(swap, html) if clicks else html
    if opens and out:
        pixel = f'<img src="{escape(links.pixel(delivery))}" width="1" height="1" alt="">'
        at = out.lower().rfind("</body>")
        out = f"{out[:at]}{pixel}\n{out[at:]}" if at >= 0 else f"{out.rstrip()}\n{pixel}\n"
    return out
