"""A retailer's own template, from the templates folder, reads the shopper's segments, their
recommendations and the catalogue, over real HTTP with Segment's own Python client and a
real SMTP server: a VIP and a plain shopper add the tent to their carts, the retailer cuts
the tent's price before the messages leave, and each email shows the price in force when it
left, the VIP line only to the VIP, and what goes with the tent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from segment.analytics.client import Client

from juncture import wiring
from tests.conftest import ADMIN, LiveServer, settings_for
from tests.e2e.test_recommendations_http import opened
from tests.servers import SmtpSink

JOURNEY = """
id: tent_in_cart
version: 1
name: What the tent costs now
entry: {reentry: always}
nodes:
  - {id: added, type: trigger, event: Product Added, next: mail}
  - {id: mail, type: send, channel: email, purpose: transactional, template: tent_now, next: done}
  - {id: done, type: exit}
"""
VIPS = """id: vip
name: VIPs
description: Shoppers marked VIP.
where:
  all:
    - trait: vip
      eq: true
"""
SUBJECT = "{% assign item = event.product_id | product %}{{ item.title }} now {{ item.price }}"
TEXT = """{% assign item = event.product_id | product %}\
{% if segments contains "vip" %}VIP price{% else %}Price{% endif %}: \
{{ item.price | money }} {{ item.currency }} ({{ item.availability }})
{% for r in recommendations.bought_together limit: 2 %}Goes with it: {{ r.name }}
{% endfor %}{{ catalog["pegs"].title }} from {{ catalog["pegs"].price | money }}
{{ "nothing" | product | default: "no such product" }}
"""


@pytest.fixture
def shop(database_url: str, tmp_path: Path) -> Iterator[tuple[LiveServer, SmtpSink, Client]]:
    folder = tmp_path / "templates" / "tent_now"
    folder.mkdir(parents=True)
    (folder / "subject.liquid").write_text(SUBJECT)
    (folder / "body.txt.liquid").write_text(TEXT)
    sink = SmtpSink().start()
    settings = settings_for(
        database_url, smtp_url=SecretStr(sink.url), email_from="Shop <shop@example.com>",
        dispatch_interval=0.05, recs_refresh=0.0, templates_dir=str(tmp_path / "templates"),
    )  # fmt: skip
    server = LiveServer(wiring.build(settings)).start()
    client = opened(server)
    yield server, sink, client
    server.stop()
    sink.stop()


def test_a_template_reads_segments_recommendations_and_the_catalogue_as_they_are_now(
    shop: tuple[LiveServer, SmtpSink, Client],
) -> None:
    server, sink, client = shop
    api = httpx.Client(base_url=server.url, headers=ADMIN, timeout=60)
    assert api.post("/v1/recommendations/train").status_code == 200
    assert api.post("/v1/segments", json={"source": VIPS}).status_code == 201
    yaml = {"Content-Type": "application/yaml"}
    assert api.post("/v1/journeys", content=JOURNEY, headers=yaml).status_code == 201
    client.identify("vera", {"email": "vera@example.com", "vip": True})
    client.identify("paul", {"email": "paul@example.com"})
    for user in ("vera", "paul"):
        client.track(user, "Product Added", {"cart_id": f"cart-{user}", "product_id": "tent",
                                             "sku": "tent", "name": "Trail Tent",
                                             "price": 200.0, "quantity": 1})  # fmt: skip
    client.flush()
    cut = api.patch("/v1/products/tent", json={"price": "180.00 EUR"})
    assert cut.status_code == 200, cut.text

    server.juncture.start_dispatcher()  # the messages leave after the price cut
    mails = {m.recipients[0]: m for m in sink.wait_for(2)}
    vera, paul = mails["vera@example.com"], mails["paul@example.com"]
    assert vera.message["Subject"] == "Trail Tent now 180.0"
    text = vera.part("plain").replace("\r\n", "\n")
    assert text.startswith("VIP price: 180.00 EUR (in_stock)\n"), text
    assert "Goes with it: Tent Pegs\n" in text
    assert "Tent Pegs from 10.00\n" in text
    assert "no such product" in text
    assert paul.part("plain").startswith("Price: 180.00 EUR (in_stock)\r\n")
    api.close()
