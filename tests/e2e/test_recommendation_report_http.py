"""Click-through and conversion per kind over real HTTP: a page shows a recommendation,
Segment's Python client sends what the storefront sends (Product List Viewed with the
recommendation's id as list_id, Product Clicked with recommendation_id, Order Completed),
and GET /v1/recommendations/report attributes them."""

from __future__ import annotations

import datetime as dt

import httpx

from tests.conftest import ADMIN, LiveServer
from tests.e2e.test_recommendations_http import items, opened


def test_clicks_and_orders_are_attributed_to_the_kind(live: LiveServer) -> None:
    client = opened(live)
    similar = items(live, "similar", productId="k1")
    together = items(live, "bought_together", productId="tent")
    rid, other = similar[0]["recommendationId"], together[0]["recommendationId"]
    assert rid.startswith("rec_similar_") and other.startswith("rec_bought_together_")

    shown = [{"product_id": i["productId"]} for i in similar]
    client.track("z1", "Product List Viewed", {"list_id": rid, "products": shown})
    client.track("z2", "Product List Viewed", {"list_id": rid, "products": shown})
    client.track("z1", "Product List Viewed", {"list_id": other, "products": shown})
    client.track("z1", "Product Clicked", {"product_id": "k2", "recommendation_id": rid})
    client.track("z2", "Product Clicked", {"product_id": "k2", "recommendation_id": rid})
    bought = [{"product_id": "k2", "price": 45.0, "quantity": 1}]
    client.track("z1", "Order Completed", {"order_id": "z1o", "products": bought})
    late = dt.datetime.now(dt.UTC) + dt.timedelta(days=8)  # after the window: not counted
    client.track("z2", "Order Completed", {"order_id": "z2o", "products": bought}, timestamp=late)
    client.flush()

    r = httpx.get(f"{live.url}/v1/recommendations/report", headers=ADMIN)
    assert r.status_code == 200, r.text
    kinds = r.json()["kinds"]
    assert kinds["similar"] == {
        "impressions": 2, "clicks": 2, "conversions": 1, "revenue": 45.0,
        "click_through": 1.0, "conversion": 0.5,
    }  # fmt: skip
    assert (kinds["bought_together"]["impressions"], kinds["bought_together"]["clicks"]) == (1, 0)
    later = httpx.get(
        f"{live.url}/v1/recommendations/report", params={"since": late.isoformat()}, headers=ADMIN
    )
    assert later.json()["kinds"]["similar"]["clicks"] == 0
    naive = httpx.get(
        f"{live.url}/v1/recommendations/report", params={"since": "2026-01-01T00:00:00"},
        headers=ADMIN,
    )  # fmt: skip
    assert naive.status_code == 400, naive.text
    assert httpx.get(f"{live.url}/v1/recommendations/report").status_code == 401
