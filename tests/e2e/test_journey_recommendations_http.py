"""Journeys that use recommendations, over real HTTP on every store, with Segment's own
Python client and a real SMTP server: a condition that branches on what there is to
recommend (two shoppers, one branch each), and an A/B test of two kinds through a split
whose variants list different kinds, told apart by the per-kind report."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from segment.analytics.client import Client

from tests.conftest import ADMIN, LiveServer, caught_up, mail_server
from tests.e2e.test_recommendations_http import opened, order
from tests.servers import SmtpSink

CONDITION = """
id: goes_with_the_cart
version: 1
name: What goes with the cart, or a plain reminder
entry: {reentry: always}
nodes:
  - {id: added, type: trigger, event: Product Added, next: enough}
  - id: enough
    type: condition
    branches:
      - {recommended: {kind: bought_together, at_least: 2}, next: recs}
    else: plain
  - id: recs
    type: send
    channel: email
    purpose: transactional
    inline:
      subject: "Goes with your cart"
      text: "{% for item in recommendations.bought_together %}{{ item.name }}; {% endfor %}"
    next: done
  - id: plain
    type: send
    channel: email
    purpose: transactional
    inline: {subject: "Your cart is waiting", text: "Come back to your cart."}
    next: done
  - {id: done, type: exit}
"""

SPLIT = """
id: which_kind_sells
version: 1
name: Similar or related under the cart
entry: {reentry: never}
nodes:
  - {id: added, type: trigger, event: Product Added, next: arm}
  - id: arm
    type: split
    branches:
      - {name: similar, weight: 1, next: similar}
      - {name: related, weight: 1, next: related}
  - id: similar
    type: send
    channel: email
    purpose: transactional
    inline:
      subject: "similar"
      text: "{% for item in recommendations.similar limit: 1 %}{{ item.product_id }} {{ item.recommendation_id }}{% endfor %}"
    next: done
  - id: related
    type: send
    channel: email
    purpose: transactional
    inline:
      subject: "related"
      text: "{% for item in recommendations.related limit: 1 %}{{ item.product_id }} {{ item.recommendation_id }}{% endfor %}"
    next: done
  - {id: done, type: exit}
"""  # noqa: E501


@pytest.fixture
def shop(database_url: str) -> Iterator[tuple[LiveServer, SmtpSink, httpx.Client, Client]]:
    with (
        mail_server(database_url, recs_refresh=0.0) as (server, sink),
        httpx.Client(base_url=server.url, headers=ADMIN) as api,
    ):
        client = opened(server)
        assert api.post("/v1/recommendations/train").status_code == 200  # as `serve` does
        yield server, sink, api, client


def _apply(api: httpx.Client, text: str) -> None:
    r = api.post("/v1/journeys", content=text, headers={"Content-Type": "application/yaml"})
    assert r.status_code == 201, r.text


def test_a_condition_branches_on_what_there_is_to_recommend(
    shop: tuple[LiveServer, SmtpSink, httpx.Client, Client],
) -> None:
    _, sink, api, client = shop
    order(client, "c5", "oc5", "tent", "lamp")  # the lamp goes with the tent too, now
    order(client, "c6", "oc6", "tent", "lamp")
    client.flush()
    _apply(api, CONDITION)
    client.identify("t1", {"email": "t1@example.com"})
    client.identify("m1", {"email": "m1@example.com"})
    client.track("t1", "Product Added", {"product_id": "tent", "cart_id": "ct", "price": 200.0})
    client.track("m1", "Product Added", {"product_id": "mug", "cart_id": "cm", "price": 5.0})
    client.flush()

    mails = {m.recipients[0]: m for m in sink.wait_for(2)}
    assert set(mails) == {"t1@example.com", "m1@example.com"}
    recs, plain = mails["t1@example.com"], mails["m1@example.com"]
    assert recs.message["Subject"] == "Goes with your cart"
    assert set(recs.part("plain").strip().rstrip(";").split("; ")) == {"Tent Pegs", "Camp Lamp"}
    # Green Tea goes with the mug, but one product is not the two the branch asks for.
    assert plain.message["Subject"] == "Your cart is waiting"


def test_kinds_are_ab_tested_through_a_split(
    shop: tuple[LiveServer, SmtpSink, httpx.Client, Client],
) -> None:
    live, sink, api, client = shop
    _apply(api, SPLIT)
    shoppers = [f"ab{n}" for n in range(16)]
    for user in shoppers:
        client.identify(user, {"email": f"{user}@example.com"})
        client.track(user, "Product Added", {"product_id": "k1", "cart_id": f"{user}c"})
    client.flush()

    mails = sink.wait_for(len(shoppers), timeout=30)
    assert len(mails) == len(shoppers)
    arms: dict[str, int] = {"similar": 0, "related": 0}
    for n, mail in enumerate(mails):
        user = mail.recipients[0].split("@")[0]
        product, rid = mail.part("plain").split()
        kind = str(mail.message["Subject"])
        assert re.fullmatch(rf"rec_{kind}_\w+", rid), rid
        arms[kind] += 1
        client.track(user, "Product Clicked", {"product_id": product, "recommendation_id": rid})
        if n % 2 == 0:
            order(client, user, f"{user}o", product)
    client.flush()
    caught_up(live.juncture)  # the report reads the orders' attribution the engine made
    assert min(arms.values()) > 0, arms  # 16 shoppers: each arm has some (1 in 2**15 not)

    report = api.get("/v1/recommendations/report").json()["kinds"]
    assert {k: report[k]["clicks"] for k in arms} == arms
    converted = sum(report[k]["conversions"] for k in arms)
    assert converted == (len(shoppers) + 1) // 2
