"""Lawful email, end to end: Segment's Python client drives the shipped journeys against the
real server, a real SMTP server receives the mail, and the recipient unsubscribes over HTTP
as RFC 8058 describes it (the mail client POSTs ``List-Unsubscribe=One-Click`` to the URL of
the ``List-Unsubscribe`` header). Then no further marketing email reaches them, while their
order confirmation still does."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx

from juncture.channels.email import NO_WAY_OUT
from tests.conftest import ADMIN, PUBLIC_URL, caught_up
from tests.e2e.conftest import MAIL_JOURNEYS
from tests.e2e.test_library_segment_client import (
    DAY,
    HOUR,
    LIBRARY,
    MINUTE,
    SHOE,
    SOCKS,
    T0,
    Shop,
    outside_holdout,
)
from tests.servers import Mail

HEADER = re.compile(r"^<(https://\S+/v1/unsubscribe/\S+)>$")


def customer() -> str:
    user = outside_holdout("cart_abandonment", "ann")
    assert outside_holdout("post_purchase", user.rsplit("-", 1)[0]) is not None
    return user


def unsubscribe_url(mail: Mail) -> str:
    """The one-click URL, as a mail client reads it from the headers (RFC 2369, RFC 8058)."""
    assert mail.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    found = HEADER.match(str(mail.message["List-Unsubscribe"]).strip())
    assert found, mail.message["List-Unsubscribe"]
    return found.group(1)


def on_server(shop: Shop, url: str) -> str:
    """The public URL as reached on the test server (its path on the loopback port)."""
    assert url.startswith(PUBLIC_URL)
    return shop.server.url + urlsplit(url).path


def consent(shop: Shop, user: str) -> object:
    """Whether the profile (read over the admin API) grants email marketing, once the engine
    behind the log has applied what was sent (an unsubscribe is an event in the log)."""
    caught_up(shop.j)
    r = httpx.get(f"{shop.server.url}/v1/profiles", params={"userId": user}, headers=ADMIN)
    assert r.status_code == 200, r.text
    [profile] = r.json()["profiles"]
    granted, _at = profile["profile"]["consent"]["email:marketing"]
    return granted


def test_one_click_unsubscribe_stops_marketing_but_not_the_order_confirmation(
    shop: Shop,
) -> None:
    ann = customer()
    shop.identify(T0, ann)
    shop.track(T0 + MINUTE, ann, "Product Added", cart_id="c-1", **SHOE)
    shop.advance(T0 + 2 * HOUR)
    [reminder] = shop.mails(ann)
    url = unsubscribe_url(reminder)
    assert url in reminder.part("html") and url in reminder.part("plain")  # the footer's link

    page = httpx.get(on_server(shop, url))  # a link scanner, or the person opening it
    assert page.status_code == 200 and 'name="List-Unsubscribe"' in page.text
    assert consent(shop, ann) is True  # a GET changes nothing

    forged = re.sub(r"/(\d+)\.", lambda m: f"/{int(m.group(1)) + 1}.", url)
    for wrong in (forged, url[:-3] + "AAA"):
        r = httpx.post(on_server(shop, wrong), data={"List-Unsubscribe": "One-Click"})
        assert r.status_code == 404 and r.json()["code"] == "invalid_link"
    assert consent(shop, ann) is True

    r = httpx.post(on_server(shop, url), data={"List-Unsubscribe": "One-Click"})
    assert r.status_code == 200 and "unsubscribed" in r.text
    assert r.headers.get("location") is None  # RFC 8058: no redirect
    assert consent(shop, ann) is False
    again = httpx.post(on_server(shop, url), data={"List-Unsubscribe": "One-Click"})
    assert again.status_code == 200

    shop.track(T0 + 3 * HOUR, ann, "Order Completed", order_id="o-1", total=89.0,
               revenue=89.0, currency="EUR", products=[SHOE])  # fmt: skip
    shop.track(T0 + 4 * HOUR, ann, "Product Added", cart_id="c-2", **SOCKS)
    shop.advance(T0 + 20 * DAY)
    subjects = [m.message["Subject"] for m in shop.mails(ann)]
    assert len(subjects) == 2 and "order" in subjects[1].lower(), subjects
    confirmation = shop.mails(ann)[1]
    assert confirmation.message["List-Unsubscribe"] is None  # transactional: no list
    held = {r["node_id"]: r["reason"] for r in shop.outbox(ann) if r["status"] == "suppressed"}
    assert held.get("reminder") == "no_consent:email:marketing", held  # the second cart
    assert held.get("tips") == "no_consent:email:marketing", held  # post-purchase marketing
    events = httpx.get(f"{shop.server.url}/v1/events", params={"userId": ann}, headers=ADMIN)
    said = [e for e in events.json()["events"] if e.get("event") == "Unsubscribed"]
    assert len(said) == 1  # pressed twice, stored once
    assert said[0]["properties"]["channel"] == "email"


def test_marketing_email_without_an_unsubscribe_link_is_not_sent(
    database_url: str, segment_clock: None
) -> None:
    shop = Shop(database_url, [LIBRARY[j] for j in MAIL_JOURNEYS], public_url=None)
    try:
        ann = customer()
        shop.identify(T0, ann)
        shop.track(T0 + MINUTE, ann, "Product Added", cart_id="c-1", **SHOE)
        shop.track(T0 + 2 * HOUR, ann, "Order Completed", order_id="o-1", total=89.0,
                   revenue=89.0, currency="EUR", products=[SOCKS])  # fmt: skip
        shop.advance(T0 + 3 * HOUR)
        [confirmation] = shop.mails(ann)  # transactional mail needs no way out
        assert confirmation.message["List-Unsubscribe"] is None
        [reminder] = [r for r in shop.outbox(ann) if r["node_id"] == "reminder"]
        assert (reminder["status"], reminder["last_error"]) == ("dead", NO_WAY_OUT)
    finally:
        shop.close()
