"""Email HTML as mail clients need it: styles inlined, and a plain-text part always.

Gmail, Outlook and many others drop or ignore ``<style>`` blocks, so each rule is written
into the ``style`` attribute of the elements it matches (``css-inline``); ``@media`` rules
stay in a ``<style>`` block for the clients that read them. Stylesheets are never fetched
from the network. A message whose template has no text part gets one made from its HTML
(``inscriptis``), so every email has a ``text/plain`` part.

>>> inline('<html><head><style>p { color: #b00 }</style></head><body><p>Hi</p></body></html>')
'<html><head></head><body><p style="color: #b00;">Hi</p></body></html>'
>>> text_of('<p>Hi Ada,</p><ul><li>Boots</li></ul><p><a href="https://shop.example">Shop</a></p>')
'Hi Ada,\\n\\n  * Boots\\n\\n[Shop](https://shop.example)\\n'
"""

from __future__ import annotations

from typing import Final

import css_inline
from inscriptis import get_text
from inscriptis.css_profiles import CSS_PROFILES
from inscriptis.model.config import ParserConfig

_INLINER: Final = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)
_TEXT: Final = ParserConfig(css=CSS_PROFILES["strict"], display_links=True)


def inline(html: str) -> str:
    """``html`` with its ``<style>`` rules written onto the elements they match; an HTML
    that the inliner cannot read is returned as it is (the client then gets the styles as
    written, rather than no email)."""
    try:
        return str(_INLINER.inline(html))
    except ValueError:
        return html


def text_of(html: str) -> str:
    """The readable text of ``html``, laid out as plain text (lists, paragraphs), each
    link followed by its address."""
    lines = [line.rstrip() for line in get_text(html, _TEXT).strip("\n").splitlines()]
    squeezed: list[str] = []
    for line in lines:
        if line or (squeezed and squeezed[-1]):
            squeezed.append(line)
    return "\n".join(squeezed).strip("\n") + "\n" if squeezed else ""
