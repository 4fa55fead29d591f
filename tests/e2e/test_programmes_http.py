"""The retailer's programmes over real HTTP on every store: loyalty tiers and accounts,
promotions, coupons, associates and reviews uploaded as feeds (bad rows answered by line),
then read back; a coupon's redemptions kept within its limit, a retried redemption counted
once."""

from __future__ import annotations

import json

import httpx

from tests.conftest import ADMIN, BASIC, LiveServer, caught_up
from tests.e2e.test_catalog_http import upload

TIERS = (
    'tier,name,threshold,benefits\nsilver,Silver,0,\ngold,Gold,1000,"free delivery,early access"\n'
)
ACCOUNTS = "customer_id\tpoints\tlifetime_points\ttier\nc1\t250\t800\t\nc2\tlots\t\t\n"
PROMOTIONS = "\n".join(
    json.dumps(x)
    for x in [
        {
            "promotion_id": "kettles10",
            "long_title": "10% off kettles",
            "percent_off": 10,
            "product_type": ["Home > Kitchen > Kettles"],
            "promotion_effective_dates": "2026-11-01T00:00Z/2026-12-01T00:00Z",
        },
        {
            "promotion_id": "old",
            "long_title": "Gone",
            "money_off_amount": "5 EUR",
            "promotion_effective_dates": "2025-01-01T00:00Z/2025-02-01T00:00Z",
        },
        {"promotion_id": "none", "long_title": "No discount"},
    ]
)
COUPONS = (
    "coupon_id,title,issuer,issuer_kind,money_off_amount,minimum_purchase_amount,brand,"
    "store_code,redemption_limit\n"
    "acme5,5 EUR off Acme,Acme,supplier,5.00 EUR,20.00 EUR,Acme,,2\n"
    "mall3,3 EUR off at the mall,Mall,mall,3.00 EUR,,,munich,\n"
    "bad,Bad,Acme,landlord,1.00 EUR,,,,\n"
)
ASSOCIATES = (
    "associate_id\tname\tstore_code\tskills\tmonday_hours\n"
    "a1\tAnn\tberlin\tHome > Kitchen,Acme\t09:00-17:00\n"
    "a2\tBo\tmunich\tGarden\t\n"
)
REVIEWS = (
    "review_id,product_id,rating,author_kind,content\n"
    "r1,k1,5,customer,Boils fast\nr2,k1,3,media,Loud\nr3,k1,6,customer,Too good\n"
)


def test_programme_feeds_and_reads(live: LiveServer) -> None:
    with httpx.Client(base_url=live.url) as api:
        assert upload(api, "loyalty_tiers", TIERS, "text/csv").status_code == 200
        refused = upload(api, "loyalty", ACCOUNTS, "text/tab-separated-values", filename="a.tsv")
        assert refused.status_code == 422
        assert refused.json()["problems"][0]["where"] == "a.tsv:3"
        r = upload(api, "promotions", PROMOTIONS, "application/x-ndjson")
        assert (r.status_code, r.json()["new"], r.json()["problems"][0]["column"]) == (
            422,
            2,
            "percent_off",
        )
        r = upload(api, "coupons", COUPONS, "text/csv")
        assert (r.json()["new"], r.json()["problems"][0]["column"]) == (2, "issuer_kind")
        assert upload(api, "associates", ASSOCIATES, "text/tab-separated-values").status_code == 200
        assert upload(api, "reviews", REVIEWS, "text/csv").json()["new"] == 2

        member = api.get("/v1/loyalty/c1", headers=ADMIN).json()
        assert (member["points"], member["tier"]["tier"], member["nextTier"]["tier"]) == (
            250,
            "silver",
            "gold",
        )
        assert (member["pointsToNextTier"], member["nextTier"]["benefits"]) == (
            200,
            ["free delivery", "early access"],
        )
        assert api.get("/v1/loyalty/c2", headers=ADMIN).status_code == 404

        now = {"at": "2026-11-15T12:00:00Z"}
        promos = api.get("/v1/promotions", headers=ADMIN, params=now).json()["promotions"]
        assert [p["promotion_id"] for p in promos] == ["kettles10"]

        def redeem(order: str) -> httpx.Response:
            body = {"redemptionId": order, "customerId": "c1"}
            return api.post("/v1/coupons/acme5/redemptions", json=body, headers=ADMIN)

        assert [redeem(o).status_code for o in ("o1", "o1", "o2")] == [201, 200, 201]
        over = redeem("o3")
        assert (over.status_code, over.json()["code"]) == (409, "limit_reached")
        coupons = api.get("/v1/coupons", headers=ADMIN).json()["coupons"]
        assert [(c["coupon_id"], c["issuer_kind"], c["redeemed"]) for c in coupons] == [
            ("acme5", "supplier", 2),
            ("mall3", "mall", 0),
        ]
        unknown = api.post(
            "/v1/coupons/nope/redemptions", json={"redemptionId": "x"}, headers=ADMIN
        )
        assert unknown.status_code == 404

        staff = api.get("/v1/associates", headers=ADMIN, params={"skill": "kitchen"}).json()
        assert [(a["associate_id"], a["schedule"]) for a in staff["associates"]] == [
            ("a1", {"monday": ["09:00", "17:00"]})
        ]
        reviews = api.get("/v1/products/k1/reviews", headers=ADMIN).json()
        assert reviews["summary"]["count"] == 2
        assert reviews["summary"]["byAuthorKind"]["media"] == {"count": 1, "average": 3.0}


def test_a_members_loyalty_account_and_redemptions_are_exported_and_erased(
    live: LiveServer,
) -> None:
    with httpx.Client(base_url=live.url) as api:
        r = api.post("/v1/identify", json={"userId": "m9", "traits": {"a": 1}}, headers=BASIC)
        assert r.status_code == 200
        caught_up(live.juncture)  # the engine behind the log has made m9's profile
        assert (
            upload(api, "loyalty", "customer_id,points\nm9,50\nm8,70\n", "text/csv").status_code
            == 200
        )
        assert (
            upload(
                api,
                "coupons",
                COUPONS.splitlines()[0] + "\n" + COUPONS.splitlines()[1] + "\n",
                "text/csv",
            ).status_code
            == 200
        )
        body = {"redemptionId": "o9", "customerId": "m9"}
        assert (
            api.post("/v1/coupons/acme5/redemptions", json=body, headers=ADMIN).status_code == 201
        )
        [found] = api.get("/v1/profiles", params={"userId": "m9"}, headers=ADMIN).json()["profiles"]
        pid = found["profileId"]
        exported = api.get(f"/v1/profiles/{pid}/export", headers=ADMIN).json()["tables"]
        assert exported["loyalty_accounts"][0]["body"]["points"] == 50
        assert exported["coupon_redemptions"][0]["redemption_id"] == "o9"
        gone = api.delete(f"/v1/profiles/{pid}", params={"reference": "REQ-9"}, headers=ADMIN)
        assert gone.status_code == 200, gone.text
        assert api.get("/v1/loyalty/m9", headers=ADMIN).status_code == 404
        assert api.get("/v1/loyalty/m8", headers=ADMIN).status_code == 200  # someone else's
        coupons = api.get("/v1/coupons", headers=ADMIN).json()["coupons"]
        assert coupons[0]["redeemed"] == 0
