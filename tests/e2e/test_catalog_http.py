"""The retailer's tables over real HTTP on every store: feeds uploaded in each format, bad
rows answered 422 with where and why while the good ones go in, re-uploads that change
nothing, and the reads (a product with its variants and price in force, search, stock by
location nearest first, a location's stock)."""

from __future__ import annotations

import json

import httpx

from tests.conftest import ADMIN, LiveServer
from tests.unit.test_catalog_feeds import XML

PRODUCTS_TSV = (
    "id\ttitle\tbrand\tproduct_type\titem_group_id\tcolor\tprice\tsale_price\t"
    "sale_price_effective_date\tavailability\tproduct_detail\n"
    "k1\tSteel Kettle\tAcme\tHome > Kitchen > Kettles\tkettle\tsteel\t40.00 EUR\t30.00 EUR\t"
    "2026-11-01T00:00Z/2026-11-08T00:00Z\tin stock\tGeneral:Capacity:1.7 l\n"
    "k2\tRed Kettle\tAcme\tHome > Kitchen > Kettles\tkettle\tred\t42.00 EUR\t\t\tout of stock\t\n"
    "k3\tBroken\tAcme\tHome\t\t\tforty\t\t\tin stock\t\n"
)
INVENTORY_CSV = (
    "store_code,id,quantity,price,availability,pickup_method,pickup_sla,aisle,bay\n"
    "berlin,k2,0,,out of stock,,,7,C\n"
    "munich,k2,4,41.00 EUR,in stock,buy,same day,3,A\n"
    "hamburg,k2,2,,in stock,reserve,next day,,\n"
)
LOCATIONS_JSONL = "\n".join(
    json.dumps(x)
    for x in [
        {"store_code": "berlin", "name": "Berlin", "latitude": 52.52, "longitude": 13.405},
        {"store_code": "munich", "name": "Munich", "latitude": 48.137, "longitude": 11.575},
        {"store_code": "hamburg", "name": "Hamburg", "latitude": 53.551, "longitude": 9.993},
        {"store_code": "dc1", "name": "Depot", "kind": "warehouse"},
    ]
)


def upload(api: httpx.Client, kind: str, body: str, media: str, **query: str) -> httpx.Response:
    headers = {**ADMIN, "Content-Type": media}
    return api.post(f"/v1/catalog/{kind}", content=body.encode(), headers=headers, params=query)


def test_feeds_over_http_and_the_reads(live: LiveServer) -> None:
    with httpx.Client(base_url=live.url) as api:
        r = upload(api, "products", XML, "application/rss+xml")
        assert r.status_code == 200, r.text
        assert (r.json()["format"], r.json()["new"]) == ("xml", 1)
        r = upload(api, "products", PRODUCTS_TSV, "text/tab-separated-values", filename="p.tsv")
        assert r.status_code == 422, r.text
        body = r.json()
        assert (body["code"], body["where"], body["new"], body["changed"]) == (
            "rows_refused",
            "p.tsv:4",
            1,
            1,
        )
        assert body["problems"] == [
            {
                "where": "p.tsv:4",
                "column": "price",
                "message": "'forty' is not a price such as '15.00 USD'",
            }
        ]
        again = upload(api, "products", PRODUCTS_TSV, "text/tab-separated-values").json()
        assert (again["new"], again["changed"], again["unchanged"]) == (0, 0, 2)
        assert upload(api, "locations", LOCATIONS_JSONL, "application/x-ndjson").status_code == 200
        assert upload(api, "inventory", INVENTORY_CSV, "text/csv").json()["new"] == 3

        r = api.get("/v1/products/k1", headers=ADMIN, params={"at": "2026-11-03T12:00:00Z"})
        assert r.status_code == 200, r.text
        shown = r.json()
        assert (shown["currentPrice"], shown["onSale"], shown["variants"]) == (30.0, True, ["k2"])
        assert shown["details"] == [{"section": "General", "name": "Capacity", "value": "1.7 l"}]
        later = api.get("/v1/products/k1", headers=ADMIN, params={"at": "2026-11-09T00:00:00Z"})
        assert (later.json()["currentPrice"], later.json()["onSale"]) == (40.0, False)

        found = api.get("/v1/products", headers=ADMIN, params={"q": "kettle", "brand": "ACME"})
        assert [p["id"] for p in found.json()["products"]] == ["k1", "k2"]

        near_berlin = {"near": "52.5,13.4"}
        stock = api.get("/v1/products/k2/stock", headers=ADMIN, params=near_berlin).json()
        lines = [(s["storeCode"], s["available"], s["price"]) for s in stock["stock"]]
        assert lines == [("berlin", False, 42.0), ("hamburg", True, 42.0), ("munich", True, 41.0)]
        assert stock["stock"][0]["distanceKm"] < 5 < 250 < stock["stock"][1]["distanceKm"]

        here = api.get("/v1/locations/munich/stock", headers=ADMIN).json()
        assert [(s["productId"], s["aisle"], s["bay"]) for s in here["stock"]] == [("k2", "3", "A")]
        stores = api.get("/v1/locations", headers=ADMIN, params={"kind": "store"}).json()
        assert [x["storeCode"] for x in stores["locations"]] == ["berlin", "hamburg", "munich"]


def test_refusals_say_what_and_where(live: LiveServer) -> None:
    with httpx.Client(base_url=live.url) as api:
        assert api.get("/v1/products/k1").status_code == 401
        missing = api.get("/v1/products/nope", headers=ADMIN)
        assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
        assert upload(api, "prices", "x", "text/csv").status_code == 404
        empty = upload(api, "products", "\n", "text/csv")
        assert (empty.status_code, empty.json()["code"], empty.json()["where"]) == (
            400,
            "invalid_feed",
            "body.csv:1",
        )
        bad_near = api.get("/v1/products/k1/stock", headers=ADMIN, params={"near": "north"})
        assert (bad_near.status_code, bad_near.json()["where"]) == (400, "query.near")


def test_a_feed_of_many_bad_rows_answers_the_first_problems_and_counts_them_all(
    live: LiveServer,
) -> None:
    rows = "".join(f"p{n}\tP\t{n} dollars\tin stock\n" for n in range(500))
    with httpx.Client(base_url=live.url) as api:
        r = upload(api, "products", "id\ttitle\tprice\tavailability\n" + rows,
                   "text/tab-separated-values", filename="bad.tsv")  # fmt: skip
    assert r.status_code == 422, r.text
    body = r.json()
    assert (body["refusedRows"], body["problemCount"], len(body["problems"])) == (500, 500, 100)
    assert body["problems"][-1]["where"] == "bad.tsv:101"
    assert body["message"] == (
        "500 of 500 rows refused (the first 100 of 500 problems listed); the others were imported"
    )
