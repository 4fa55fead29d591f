"""The demo's retailer: its tables imported, touchpoints asked for by its pages, and
recommendations against a best-sellers holdout; the summary's figures are what the store
recorded, and the holdout never saw anything but best-sellers."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from juncture.core.profile import consent
from juncture.demo import harness, retail
from juncture.recommend import attribution
from juncture.recommend.base import BEST_SELLERS
from juncture.runtime import touchpoint_outcomes as outcomes
from juncture.store import catalog_tables, programme_tables, tables
from juncture.store.sql import SqlStore
from tests.conftest import settings_for

CUSTOMERS, DAYS, SEED, PAGES = 400, 10, 3, 1.0
# The 18 touchpoints: the summary's row, and the figure that says it led somewhere
# (training is a report, below). The recommendation row is the personalised arm's.
EIGHTEEN = {
    "wish list": ("wishlist", "clicked"), "recommendation": (retail.PERSONAL, "clicked"),
    "endless aisle": ("endless_aisle", "ordered"), "click stream": ("clickstream", "clicked"),
    "cart abandon": ("cart_reminder", "clicked"), "gift suggestions": ("gift", "bought"),
    "third-party coupons": ("coupon", "redeemed"), "loyalty query": ("loyalty", "clicked"),
    "promo offers": ("promo", "clicked"), "expert appointment": ("expert", "booked"),
    "event": ("event", "attended"), "presentation and info": ("specs", "clicked"),
    "comparative shop": ("compare", "clicked"), "reviews": ("reviews", "clicked"),
    "product location": ("product_location", "clicked"), "presence": ("presence", "clicked"),
    "app": ("app", "clicked"),
}  # fmt: skip


@pytest.fixture(scope="module")
def demo(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Any]:
    path = tmp_path_factory.mktemp("demo-retail") / "demo.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    juncture, clock = harness.build(settings_for(url, sqlite_synchronous="NORMAL"))
    try:
        summary = harness.run(
            juncture, clock, seed=SEED, customers=CUSTOMERS, days=DAYS, pages=PAGES,
            help_pages=PAGES,
        )  # fmt: skip
    finally:
        juncture.close()
    return url, summary.to_json()


def rows(url: str, query: Any) -> list[Any]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        found = list(conn.execute(query))
    engine.dispose()
    return found


def test_the_tables_are_imported_through_the_feeds(demo: tuple[str, Any]) -> None:
    url, s = demo
    imported = s["retail"]["tables"]
    products = rows(url, sa.select(sa.func.count()).select_from(catalog_tables.products))[0][0]
    assert imported["products"] == products == 600
    assert imported["inventory"] == 3000 and imported["reviews"] > 0
    assert s["retail"]["announced"] > 0  # the daily changes became shoppers' events


def test_touchpoints_shown_and_clicked_are_the_stored_ones(demo: tuple[str, Any]) -> None:
    url, s = demo
    figures = s["retail"]["touchpoints"]
    o = tables.outbox
    stored = rows(url, sa.select(o.c.payload).where(o.c.status == "shown"))
    by_kind: Counter[str] = Counter()
    for (payload,) in stored:
        body = orjson.loads(payload) if isinstance(payload, str | bytes) else payload
        data = body.get("data") or {}
        kind = data.get("kind")
        by_kind[kind if isinstance(kind, str) else str(body["kind"])] += 1
        by_kind[outcomes.APP] += body.get("placement") == outcomes.APP
    assert {k: v["shown"] for k, v in figures.items()} == dict(by_kind)
    assert {"compare", "wishlist", BEST_SELLERS, retail.PERSONAL} <= set(by_kind)
    e = tables.events
    clicks = rows(url, sa.select(e.c.body).where(e.c.event == "Promotion Clicked"))
    clicked = Counter(orjson.loads(b)["properties"]["promotion_id"] for (b,) in clicks)
    touch = {
        k: v["clicked"]
        for k, v in figures.items()
        if k not in (BEST_SELLERS, retail.PERSONAL, outcomes.APP)
    }
    assert {f"touchpoint_{k}": v for k, v in touch.items() if v} == dict(clicked)
    # the simulator's own counts are not these: some shoppers had left the page, some
    # answers reached no one the simulation knows (the kiosk), or came after its end
    truth = s["simulation"]["onsite"]
    reached = sum(v.get("shown", 0) + v.get("missed", 0) for v in truth.values())
    assert sum(v["shown"] for v in figures.values()) >= reached > 0


def test_the_summary_is_read_back_from_the_store(demo: tuple[str, Any]) -> None:
    url, s = demo
    store = SqlStore(url)
    try:
        again = outcomes.report(store.outbox, store.recommend)
    finally:
        store.close()
    assert again["touchpoints"] == s["retail"]["touchpoints"]
    assert again["recommendations"] == s["retail"]["recommendations"]
    arms = s["retail"]["recommendations"]["arms"]
    assert arms["personal"]["shoppers"] > 0 and arms["popular"]["shoppers"] > 0
    comparison = s["retail"]["recommendations"]["revenue_per_shopper"]
    assert comparison["difference_low"] <= comparison["difference"] <= comparison["difference_high"]


def test_the_holdout_got_best_sellers_only(demo: tuple[str, Any]) -> None:
    url, s = demo
    o = tables.outbox
    shown = rows(url, sa.select(o.c.profile_id, o.c.payload).where(o.c.status == "shown"))
    p = tables.profiles
    redirects = dict(rows(url, sa.select(p.c.profile_id, p.c.redirect_to)))
    merged: dict[str, set[str]] = {}  # a merge moves the merged profile's rows to the survivor
    for pid, first in redirects.items():
        survivor = first
        while survivor is not None and redirects.get(survivor) is not None:
            survivor = redirects[survivor]
        if survivor is not None:
            merged.setdefault(survivor, set()).add(pid)
    slots = 0
    for profile_id, payload in shown:
        body = orjson.loads(payload) if isinstance(payload, str | bytes) else payload
        data = body.get("data") or {}
        if "recommendationId" not in data:
            continue
        slots += 1
        assert attribution.kind_of(data["recommendationId"]) == data["kind"]
        arms = {retail.arm(x) for x in {profile_id, *merged.get(profile_id, ())}}
        assert (retail.POPULAR if data["kind"] == BEST_SELLERS else retail.PERSONAL) in arms
    assert slots > 0
    messages = s["retail"]["messages_recommending"]
    assert sum(messages.values()) > 0  # the messages listed recommendations
    for key in messages:
        arm, kind = key.split(":")
        assert (kind == BEST_SELLERS) == (arm == retail.POPULAR), key


def test_every_touchpoint_is_used_and_leads_somewhere(demo: tuple[str, Any]) -> None:
    _, s = demo
    figures = s["retail"]["touchpoints"]
    missing = {
        name: figures.get(kind)
        for name, (kind, outcome) in EIGHTEEN.items()
        if not (figures.get(kind, {}).get("shown") and figures[kind].get(outcome))
    }
    assert not missing
    assert s["retail"]["training"]["lines"] > 0 and s["retail"]["training"]["demand"] > 0
    expert = figures["expert"]
    assert expert.get("cancelled", 0) + expert.get("attended", 0) > 0


def test_the_outcomes_are_what_the_api_recorded(demo: tuple[str, Any]) -> None:
    url, s = demo
    figures, done = s["retail"]["touchpoints"], s["retail"]["errands"]
    a, r = programme_tables.appointments, programme_tables.coupon_redemptions
    booked = dict(rows(url, sa.select(a.c.status, sa.func.count()).group_by(a.c.status)))
    cancelled = figures["expert"].get("cancelled", 0)
    assert cancelled == done.get("cancel", 0)
    assert (
        booked.get("booked", 0)
        == figures["expert"]["booked"] - cancelled
        == done["book"] - cancelled
    )
    assert booked.get("cancelled", 0) <= cancelled  # a cancelled slot booked again is gone
    redeemed = rows(url, sa.select(sa.func.count()).select_from(r))[0][0]
    assert redeemed == done["redeem"] == sum(v.get("redeemed", 0) for v in figures.values())
    e = tables.events
    shipped = rows(url, sa.select(e.c.body).where(e.c.event == "Order Completed"))
    elsewhere = [b for (b,) in shipped if orjson.loads(b)["properties"].get("ship_from")]
    assert len(elsewhere) == figures["endless_aisle"]["ordered"] == done["order"]


def test_presence_answers_only_shoppers_who_allowed_location(demo: tuple[str, Any]) -> None:
    url, s = demo
    assert s["retail"]["unanswered"]["presence:no_location_opt_in"] > 0
    o = tables.outbox
    query = sa.select(o.c.profile_id, o.c.payload).where(o.c.status == "shown")
    store = SqlStore(url)
    try:
        shown = 0
        for profile_id, payload in rows(url, query):
            body = orjson.loads(payload) if isinstance(payload, str | bytes) else payload
            if body.get("kind") != "presence":
                continue
            shown += 1
            found = store.profiles.profile(profile_id)
            assert found is not None
            assert consent.consent_for(found.profile, "location", "presence") is True
    finally:
        store.close()
    assert shown == s["retail"]["touchpoints"]["presence"]["shown"] > 0
