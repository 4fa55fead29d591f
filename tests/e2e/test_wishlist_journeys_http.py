"""The ready wish list journeys over real HTTP on every store: a shopper tracked by Segment's
Python client puts two kettles on their wish list; a feed drops one's price and brings the
other back; the shipped journeys ``price_drop_wishlist`` and ``back_in_stock_wishlist`` send
one real email each through an SMTP server, and none to a shopper who only viewed them."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources

import httpx
import pytest
from segment.analytics.client import Client

from tests.conftest import ADMIN, WRITE_KEY, LiveServer, caught_up, mail_server
from tests.e2e.test_catalog_events_http import FEED
from tests.e2e.test_catalog_http import upload
from tests.servers import SmtpSink

LIBRARY = resources.files("juncture.library") / "journeys"


@pytest.fixture
def shop(database_url: str) -> Iterator[tuple[LiveServer, SmtpSink]]:
    with mail_server(database_url) as running:
        yield running


def test_wish_listed_products_that_drop_or_come_back_are_mailed(
    shop: tuple[LiveServer, SmtpSink],
) -> None:
    live, sink = shop
    api = httpx.Client(base_url=live.url)
    yaml = {**ADMIN, "Content-Type": "application/yaml"}
    for name in ("price_drop_wishlist.yaml", "back_in_stock_wishlist.yaml"):
        r = api.post("/v1/journeys", content=(LIBRARY / name).read_text(), headers=yaml)
        assert r.status_code == 201, r.text
    feed = FEED.format(k1="40.00", k2="out of stock")
    assert upload(api, "products", feed, "text/tab-separated-values").status_code == 200

    client = Client(WRITE_KEY, host=live.url, sync_mode=True)
    consent = {"email": {"marketing": True}}
    client.identify("s1", {"email": "s1@example.com", "first_name": "Sam", "consent": consent})
    client.identify("s2", {"email": "s2@example.com", "consent": consent})
    for pid in ("k1", "k2"):
        client.track("s1", "Product Added to Wishlist", {"product_id": pid, "wishlist_id": "w"})
        client.track("s2", "Product Viewed", {"product_id": pid})  # viewed, never wished
    client.flush()
    caught_up(live.juncture)  # the announcements read who wished and viewed

    feed = FEED.format(k1="30.00", k2="in stock")
    done = upload(api, "products", feed, "text/tab-separated-values").json()
    assert (done["changed"], done["announced"]) == (2, 4)  # both shoppers are told
    mails = sink.wait_for(2)
    subjects = sorted(str(m.message["Subject"]) for m in mails)
    assert subjects == [
        "On your wish list, back in stock: Red Kettle",
        "On your wish list, now 30.0 EUR: Steel Kettle",
    ]
    assert all(m.recipients == ["s1@example.com"] for m in mails)
    body = next(m for m in mails if "Steel" in str(m.message["Subject"])).message.get_body(
        ("plain",)
    )
    assert body is not None
    assert "Hi Sam" in body.get_content() and "down from 40.0" in body.get_content()
    again = upload(api, "products", feed, "text/tab-separated-values").json()
    assert again["announced"] == 0
    assert len(sink.wait_for(3, timeout=1)) == 2  # nothing more
    api.close()
