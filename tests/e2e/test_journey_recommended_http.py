"""A journey's send that needs something good to recommend, over real HTTP on every store:
``recommended: {kind: bought_together}`` on the send node of a journey applied over the
API; a shopper whose cart has products bought with it gets the email (through a real SMTP
server), one whose cart has none is not sent anything (``suppressed``,
``nothing_to_recommend``)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import ADMIN, LiveServer, caught_up, mail_server
from tests.e2e.test_recommendations_http import opened
from tests.servers import SmtpSink

JOURNEY = """
id: goes_with_it
version: 1
name: What goes with the cart
entry: {reentry: always}
nodes:
  - {id: added, type: trigger, event: Product Added, next: mail}
  - id: mail
    type: send
    channel: email
    purpose: transactional
    recommended: {kind: bought_together}
    inline:
      subject: "Goes with your cart"
      text: "{% for item in recommendations.bought_together limit: 3 %}{{ item.name }} {% endfor %}"
    next: done
  - {id: done, type: exit}
"""


@pytest.fixture
def shop(database_url: str) -> Iterator[tuple[LiveServer, SmtpSink]]:
    with mail_server(database_url, recs_refresh=0.0) as running:
        yield running


def _deliveries(api: httpx.Client, user: str) -> list[dict[str, object]]:
    deadline = time.monotonic() + 15
    while True:
        found = api.get("/v1/deliveries", params={"userId": user}).json()["deliveries"]
        if all(d["status"] not in {"pending", "sending"} for d in found) and found:
            return list(found)
        if time.monotonic() > deadline:
            raise AssertionError(f"no settled delivery for {user}: {found}")
        time.sleep(0.1)


def test_a_send_leaves_only_with_something_good_to_recommend(
    shop: tuple[LiveServer, SmtpSink],
) -> None:
    live, sink = shop
    api = httpx.Client(base_url=live.url, headers=ADMIN)
    r = api.post("/v1/journeys", content=JOURNEY, headers={"Content-Type": "application/yaml"})
    assert r.status_code == 201, r.text
    client = opened(live)
    client.identify("t1", {"email": "t1@example.com"})
    client.identify("m1", {"email": "m1@example.com"})
    client.track("t1", "Product Added", {"product_id": "tent", "cart_id": "ct"})
    client.track("m1", "Product Added", {"product_id": "lamp", "cart_id": "cm"})
    client.flush()
    caught_up(live.juncture)  # the journey has enrolled them and queued its sends

    (sent,) = _deliveries(api, "t1")
    assert sent["status"] == "sent", sent
    (mail,) = sink.wait_for(1)
    assert mail.recipients == ["t1@example.com"]
    body = mail.message.get_body(("plain",))
    assert body is not None and "Tent Pegs" in body.get_content()
    (held,) = _deliveries(api, "m1")
    assert (held["status"], held["reason"]) == ("suppressed", "nothing_to_recommend")
    assert len(sink.wait_for(2, timeout=1)) == 1
    api.close()


def test_a_send_that_needs_an_unknown_kind_is_refused_with_its_line(
    shop: tuple[LiveServer, SmtpSink],
) -> None:
    live, _ = shop
    bad = JOURNEY.replace("kind: bought_together}", "kind: bestsellers, at_least: 0}")
    r = httpx.post(
        f"{live.url}/v1/journeys", content=bad,
        headers={**ADMIN, "Content-Type": "application/yaml"},
    )  # fmt: skip
    assert r.status_code == 422, r.text
    problems = " ".join(p["message"] for p in r.json()["problems"])
    assert "'bestsellers' is not one of" in problems and "at_least" in problems
