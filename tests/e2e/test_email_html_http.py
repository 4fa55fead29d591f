"""Email HTML as mail clients need it, end to end: Segment's Python client signs shoppers
up, the shipped welcome journey sends through a real SMTP server, and the MIME that arrives
has a text part and an HTML part whose styles are inlined, in the retailer's colours and with
its logo as the settings give them; a retailer's template with only HTML still arrives with
a text part made from it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from segment.analytics import client as segment_client
from segment.analytics import request as segment_request

from tests.conftest import ADMIN
from tests.e2e.test_library_segment_client import (
    LIBRARY,
    MINUTE,
    T0,
    DeviceClock,
    Shop,
    outside_holdout,
)
from tests.servers import Mail

LOGO = "https://cdn.trailside.example/logo.png"


@pytest.fixture
def shop(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Shop]:
    monkeypatch.setattr(segment_client, "datetime", DeviceClock)
    monkeypatch.setattr(segment_request, "datetime", DeviceClock)
    s = Shop(database_url, [LIBRARY["welcome_series"]], templates_dir=str(tmp_path / "mine"),
             brand_name="Trailside", brand_logo_url=LOGO, brand_color="#AA3300",
             brand_background="#fafaf5")  # fmt: skip
    yield s
    s.close()


def welcome(shop: Shop, user: str) -> Mail:
    shop.identify(T0, user)
    shop.track(T0 + MINUTE, user, "Signed Up", type="organic")
    shop.advance(T0 + 5 * MINUTE)
    [mail] = shop.mails(user)
    return mail


def kinds(mail: Mail) -> list[str]:
    return [part.get_content_type() for part in mail.message.walk()]


def test_the_shipped_welcome_arrives_with_both_parts_styles_inlined_and_the_brand(
    shop: Shop,
) -> None:
    ann = outside_holdout("welcome_series", "ann")
    mail = welcome(shop, ann)
    assert kinds(mail) == ["multipart/alternative", "text/plain", "text/html"]
    html = mail.part("html")
    style = re.search(r"<style>(.*?)</style>", html, re.S)
    assert style is not None and "@media" in style.group(1)  # only what cannot be inlined
    assert "td.brand" not in style.group(1) and "background-color" not in style.group(1)
    assert re.search(r'<td class="brand" style="background-color: #AA3300;', html), html
    assert f'<img src="{LOGO}" alt="Trailside"' in html
    assert re.search(r'<body style="background-color: #fafaf5;', html), html
    assert re.search(r'<td class="content" style="padding: 24px;', html), html
    way_out = str(mail.message["List-Unsubscribe"]).strip()[1:-1]
    assert re.search(rf'<a href="{re.escape(way_out)}" style="color: #666666;">', html), html
    text = mail.part("plain")
    assert text.startswith(f"Hi {ann.title()},") and "<" not in text
    assert f"Unsubscribe: {way_out}" in text


def test_a_template_with_only_html_still_gets_a_text_part(shop: Shop) -> None:
    own = {
        "subject": "Hello from Trailside",
        "html": "<html><head><style>p.lead { font-weight: bold }</style></head><body>"
        '<p class="lead">Hi {{ profile.first_name }},</p><ul><li>Boots</li><li>Socks</li></ul>'
        '<p><a href="https://shop.example/new">See what is new</a></p></body></html>',
    }
    r = httpx.put(f"{shop.server.url}/v1/templates/welcome", json=own, headers=ADMIN)
    assert r.status_code == 200, r.text
    bo = outside_holdout("welcome_series", "bo")
    mail = welcome(shop, bo)
    assert kinds(mail) == ["multipart/alternative", "text/plain", "text/html"]
    assert f'<p class="lead" style="font-weight: bold;">Hi {bo.title()},</p>' in mail.part("html")
    text = mail.part("plain").replace("\r\n", "\n")
    assert text.startswith(f"Hi {bo.title()},\n")
    assert "  * Boots\n  * Socks" in text
    assert "See what is new" in text and "](http" in text  # the link with its address
    assert "Unsubscribe: http" in text
