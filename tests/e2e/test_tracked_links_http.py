"""Tracked clicks and opens, end to end: Segment's Python client drives a journey whose email
links to the product viewed; the real SMTP server receives it with its links rewritten through
Juncture's signed redirect and an open pixel. Following the link over HTTP goes to the product
(a changed target goes nowhere), the click and the open are recorded against the delivery and
told to the profile as Segment's email events, and the engagement per journey and node counts
them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from segment.analytics import client as segment_client
from segment.analytics import request as segment_request

from juncture.definitions import journeys as journey_definitions
from tests.conftest import ADMIN, PUBLIC_URL
from tests.e2e.test_library_segment_client import MINUTE, SHOE, T0, DeviceClock, Shop
from tests.servers import Mail

JOURNEY = journey_definitions.loads("""
id: viewed_mail
version: 1
name: A mail about the product viewed
entry: {reentry: never}
nodes:
  - {id: viewed, type: trigger, event: Product Viewed, next: mail}
  - id: mail
    type: send
    channel: email
    inline:
      subject: "{{ event.name }}"
      html: '<html><body><p><a href="{{ event.url }}?ref=mail&amp;x=1">{{ event.name }}</a></p>
        <p><a href="mailto:help@shop.example">Write to us</a></p></body></html>'
      text: "{{ event.name }}: {{ event.url }}"
    next: done
  - {id: done, type: exit}
""")
HREF = re.compile(r'href="([^"]+)"')


@pytest.fixture
def shop(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Shop]:
    monkeypatch.setattr(segment_client, "datetime", DeviceClock)
    monkeypatch.setattr(segment_request, "datetime", DeviceClock)
    s = Shop(database_url, [JOURNEY], track_opens=True)
    yield s
    s.close()


def local(shop: Shop, url: str) -> str:
    """A public URL of Juncture's, on the test server."""
    assert url.startswith(PUBLIC_URL), url
    parts = urlsplit(url)
    return f"{shop.server.url}{parts.path}" + (f"?{parts.query}" if parts.query else "")


def mail_to(shop: Shop, user: str) -> Mail:
    shop.identify(T0, user)
    shop.track(T0 + MINUTE, user, "Product Viewed", currency="EUR", **SHOE)
    shop.advance(T0 + 2 * MINUTE)
    [mail] = shop.mails(user)
    return mail


def events(shop: Shop, user: str, name: str) -> list[dict[str, object]]:
    r = httpx.get(f"{shop.server.url}/v1/events", params={"userId": user}, headers=ADMIN)
    return [e for e in r.json()["events"] if e.get("event") == name]


def test_clicks_and_opens_are_tracked_and_go_only_where_the_mail_pointed(shop: Shop) -> None:
    mail = mail_to(shop, "ann")
    mail_to(shop, "bob")
    links = [unescape(h) for h in HREF.findall(mail.part("html"))]
    product = f"{SHOE['url']}?ref=mail&x=1"
    [tracked] = [h for h in links if "/v1/links/" in h]
    assert parse_qs(urlsplit(tracked).query)["u"] == [product]
    assert "mailto:help@shop.example" in links  # not a web link: left alone
    assert any("/v1/unsubscribe/" in h for h in links)  # the way out is not tracked
    assert SHOE["url"] in mail.part("plain")  # text parts keep their links

    go = httpx.get(local(shop, tracked))
    assert go.status_code == 302 and go.headers["location"] == product
    elsewhere = tracked.split("?")[0] + "?" + urlencode({"u": "https://evil.example/"})
    r = httpx.get(local(shop, elsewhere))
    assert r.status_code == 404 and "location" not in r.headers  # no open redirect
    assert r.json()["code"] == "invalid_link"

    [pixel] = re.findall(r'<img src="([^"]+/v1/opens/[^"]+)"', mail.part("html"))
    for _ in range(2):
        seen = httpx.get(local(shop, unescape(pixel)))
        assert seen.status_code == 200 and seen.headers["content-type"] == "image/gif"

    [clicked] = events(shop, "ann", "Email Link Clicked")
    assert clicked["properties"]["link_url"] == product  # type: ignore[index]
    assert len(events(shop, "ann", "Email Opened")) == 1  # opened twice, told once
    assert events(shop, "bob", "Email Opened") == []

    r = httpx.get(f"{shop.server.url}/v1/messages/engagement", params={"journeyId": "viewed_mail"},
                  headers=ADMIN)  # fmt: skip
    [row] = r.json()["engagement"]
    assert (row["sent"], row["opened"], row["clicked"]) == (2, 1, 1)
    assert (row["openedRate"], row["clickedRate"], row["unsubscribedRate"]) == (0.5, 0.5, 0.0)


def test_tracking_urls_that_were_not_signed_here_are_refused(shop: Shop) -> None:
    forged = "1.AAAAAAAAAAAAAAAAAAAAAA"
    paths = (f"/v1/links/{forged}?u=https://shop.example/", f"/v1/opens/{forged}.gif",
             "/v1/links/1.x?u=javascript:alert(1)")  # fmt: skip
    for path in paths:
        r = httpx.get(f"{shop.server.url}{path}")
        assert r.status_code in (400, 404) and "location" not in r.headers, path
