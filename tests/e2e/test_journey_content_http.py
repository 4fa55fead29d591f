"""Content that journeys set, end to end: a send node's ``data`` (an offer with its expiry,
products, a deadline) reaches the email's template and the on-site answer, with times made
absolute from the moment the message was decided; a queued on-site message expires. Driven
by Segment's Python client against the real server, mail received by a real SMTP server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from segment.analytics import client as segment_client
from segment.analytics import request as segment_request

from juncture.definitions import journeys as journey_definitions
from juncture.store import tables
from tests.conftest import WRITE_KEY, signed
from tests.e2e.test_library_segment_client import HOUR, MINUTE, SHOE, T0, DeviceClock, Shop

JOURNEY = journey_definitions.loads("""
id: flash_sale
version: 1
name: A flash offer for a product viewed twice
entry: {reentry: always}
nodes:
  - {id: viewed, type: trigger, event: Product Viewed, next: mail}
  - id: mail
    type: send
    channel: email
    inline:
      subject: "{{ data.offer.value }} off with {{ data.offer.code }}"
      text: |
        Code {{ data.offer.code }}, until {{ data.offer.expires_at | date: "%Y-%m-%d %H:%M" }}.
        {%- for p in data.products %}
        - {{ p.name }} {{ p.price | money }} {{ p.currency }} {{ p.url }}
        {%- endfor %}
        Answer by {{ data.deadline | date: "%Y-%m-%d" }}: {{ data.survey.question }}
    data:
      offer: {code: FLASH20, value: 20%, expires: 2h}
      products:
        - {product_id: "507f1f77", name: Trail Runner 2, price: 89.0, currency: EUR,
           url: "https://shop.example/p/507f1f77"}
      survey: {question: "Did you find your size?", scale: 5}
      deadline: 2026-06-05T12:00:00Z
    next: popover
  - id: popover
    type: send
    channel: onsite
    kind: time_sensitive_offer
    template: onsite_time_sensitive_offer
    data:
      offer: {code: FLASH20, value: 20%, expires: 2h}
    next: done
  - {id: done, type: exit}
""")


class OnSiteShop(Shop):
    """The shop, waiting only for what the dispatcher sends (on-site messages wait for the
    visitor's next visit instead)."""

    def _settle(self) -> None:
        t = tables.outbox
        due = sa.and_(t.c.status.in_(("pending", "deferred")), t.c.channel != "onsite",
                      t.c.next_attempt_at <= self.clock.now())  # fmt: skip
        waiting = sa.select(sa.func.count()).where(sa.or_(due, t.c.status == "sending"))
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with self.j.store.engine.connect() as conn:
                if conn.execute(waiting).scalar_one() == 0:
                    return
            time.sleep(0.05)
        raise AssertionError("the dispatcher did not send what was due")


@pytest.fixture
def shop(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Shop]:
    monkeypatch.setattr(segment_client, "datetime", DeviceClock)
    monkeypatch.setattr(segment_request, "datetime", DeviceClock)
    s = OnSiteShop(database_url, [JOURNEY])
    yield s
    s.close()


def decide(shop: Shop, user: str) -> dict[str, Any]:
    body = {"userId": user, "userHash": signed(user), "placement": "home"}
    r = httpx.post(f"{shop.server.url}/v1/decide", json=body, auth=(WRITE_KEY, ""))
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


def test_the_offer_reaches_the_email_and_the_popover_and_the_popover_expires(shop: Shop) -> None:
    for user in ("ann", "bob"):
        shop.identify(T0, user)
    viewed = T0 + 30 * MINUTE
    for user in ("ann", "bob"):
        shop.track(viewed, user, "Product Viewed", currency="EUR", **SHOE)
    shop.advance(viewed + MINUTE)
    [mail] = shop.mails("ann")
    assert mail.message["Subject"] == "20% off with FLASH20"
    ends = viewed + 2 * HOUR  # two hours from the moment it was decided
    assert mail.part("plain").splitlines()[:3] == [  # then the unsubscribe footer
        f"Code FLASH20, until {ends:%Y-%m-%d %H:%M}.",
        "- Trail Runner 2 89.00 EUR https://shop.example/p/507f1f77",
        "Answer by 2026-06-05: Did you find your size?",
    ]

    shown = decide(shop, "ann")["show"]
    assert shown["kind"] == "time_sensitive_offer"
    assert shown["data"]["offer"] == {"code": "FLASH20", "value": "20%",
                                      "expires_at": ends.isoformat()}  # fmt: skip
    assert f'data-ends-at="{ends.isoformat()}"' in shown["html"]  # for a countdown
    assert "FLASH20" in shown["text"]

    shop.advance(ends + MINUTE)  # bob comes back after the offer ended
    late = decide(shop, "bob")
    assert late["show"] is None or late["show"]["kind"] != "time_sensitive_offer", late
    [row] = [r for r in shop.outbox("bob") if r["channel"] == "onsite"]
    assert (row["status"], row["reason"]) == ("suppressed", "expired")


def test_data_is_never_older_than_the_send(shop: Shop) -> None:
    """Two customers viewing at different times get different expiry times."""
    shop.identify(T0, "cy")
    shop.identify(T0, "di")
    shop.track(T0 + MINUTE, "cy", "Product Viewed", currency="EUR", **SHOE)
    shop.track(T0 + 3 * HOUR, "di", "Product Viewed", currency="EUR", **SHOE)
    shop.advance(T0 + 3 * HOUR + MINUTE)
    first = (T0 + MINUTE + 2 * HOUR).strftime("%H:%M")
    second = (T0 + 5 * HOUR).strftime("%H:%M")
    assert first in shop.mails("cy")[0].part("plain")
    assert second in shop.mails("di")[0].part("plain")
