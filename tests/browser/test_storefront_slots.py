"""The demo storefront's inline slots in real headless Chromium over a seeded demo: the
product page shows similar products, the stores to pick it up from and its spec sheet from
the retailer's tables (the demo's, imported from its feeds), and a price drop once the price
the shopper saw falls; the cart page shows what is bought with it. Every slot is answered
by ``POST /v1/decide`` through ``/v1/juncture.js``; no console error, no failed request."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import sqlalchemy as sa

from juncture import wiring
from juncture.demo import storefront
from juncture.sim.catalog import build_catalog
from juncture.store import tables
from tests.browser import seeded
from tests.browser.conftest import PageProblems, screenshot
from tests.conftest import ADMIN, WRITE_KEY, LiveServer, settings_for

pytestmark = pytest.mark.slow

CATALOG = build_catalog(seeded.SEED)  # the seeded demo's, which the shop shows
STORE = CATALOG.stores[0].location_id  # the shopper's store on every page


@pytest.fixture(scope="module")
def shop(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    url = seeded.demo_database(sqlite_template, tmp_path_factory.mktemp("slots"))
    juncture = wiring.build(settings_for(url))
    # the demo imported its retailer's tables already: the shop's filling leaves them be
    assert not storefront.stock(juncture.store, juncture.clock.now())
    app = juncture.app()
    storefront.mount(app, WRITE_KEY, juncture.store, juncture.clock, seed=seeded.SEED)
    server = LiveServer(juncture, app).start()
    yield server
    server.stop()


def product_in_store() -> Any:
    """A product with more than three at the shopper's store (no low-stock answer)."""
    return next(p for p in CATALOG.products if dict(p.inventory).get(STORE, 0) > 3)


def answered(page: Any) -> dict[str, str]:
    """Each slot of the page once /v1/juncture.js answered it: placement to the kind shown,
    or to ``-reason`` when there was nothing to show."""
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-juncture-slot]')].length > 0 &&"
        " [...document.querySelectorAll('[data-juncture-slot]')].every("
        "s => s.hasAttribute('data-juncture-kind') || s.hasAttribute('data-juncture-empty'))"
    )
    return dict(
        page.evaluate(
            "() => [...document.querySelectorAll('[data-juncture-slot]')].map(s =>"
            " [s.dataset.junctureSlot, s.dataset.junctureKind || '-' + s.dataset.junctureEmpty])"
        )
    )


def viewed(shop: LiveServer, product_id: str) -> None:
    """Wait until the page's Product Viewed of ``product_id`` is stored (Segment's library
    sends it when it will: on a loaded machine, after the page has gone idle)."""
    events = tables.events
    query = sa.select(events.c.body).where(events.c.event == "Product Viewed")
    deadline = time.monotonic() + 30
    while True:
        with shop.juncture.store.engine.connect() as conn:
            bodies = [json.loads(b) for b in conn.execute(query).scalars()]
        if any(b.get("properties", {}).get("product_id") == product_id for b in bodies):
            return
        assert time.monotonic() < deadline, "the page's Product Viewed never arrived"
        time.sleep(0.1)


def slot_text(page: Any, placement: str) -> str:
    return str(page.inner_text(f"[data-juncture-slot='{placement}']"))


def test_a_product_page_shows_its_touchpoints_and_a_price_drop(
    shop: LiveServer, page: Any, page_problems: PageProblems
) -> None:
    product = product_in_store()
    page.goto(f"{shop.url}/demo/product/{product.product_id}")
    page.wait_for_selector("html[data-shop-ready]", state="attached")
    found = answered(page)
    assert found["pickup"] == "pickup"
    held = dict(product.inventory)
    stores = [s.name for s in CATALOG.stores if held.get(s.location_id)]
    assert any(name in slot_text(page, "pickup") for name in stores)  # where it is held
    assert found["specs"] == "specs"
    assert product.brand in slot_text(page, "specs")
    assert found["recs:similar"] == "product_recommendation"
    names = {p.name for p in CATALOG.products}
    assert any(name in slot_text(page, "recs:similar") for name in names)
    assert found["price_drop"] == "-no_price_drop"  # nothing fell since the shopper saw it
    assert found["low_stock"] == "-no_low_stock"
    screenshot(page, "storefront-product-slots")
    page.wait_for_load_state("networkidle")
    viewed(shop, product.product_id)  # the drop must come after the view, not before it

    stored = shop.juncture.store.catalog.product(product.product_id)
    assert stored is not None and stored.price is not None
    cheaper = msgspec.structs.replace(stored, price=round(stored.price * 0.8, 2))
    now = dt.datetime.now(dt.UTC)
    assert shop.juncture.store.catalog.upsert_products([cheaper], now)
    page.reload()
    page.wait_for_selector("html[data-shop-ready]", state="attached")
    assert answered(page)["price_drop"] == "price_drop"
    assert f"{cheaper.price:.2f}" in slot_text(page, "price_drop")
    screenshot(page, "storefront-price-drop")
    page_problems.assert_none()


def test_the_cart_page_shows_what_goes_with_the_basket(
    shop: LiveServer, page: Any, page_problems: PageProblems
) -> None:
    product = product_in_store()
    page.goto(f"{shop.url}/demo/product/{product.product_id}")
    page.wait_for_selector("#add")
    page.click("#add")
    page.wait_for_selector("#add:has-text('Added')")
    page.wait_for_load_state("networkidle")
    page.goto(f"{shop.url}/demo/cart")
    page.wait_for_selector("html[data-shop-ready]", state="attached")
    found = answered(page)
    assert set(found) == {"recs:bought_together", "coupon", "loyalty"}
    # what was bought with it in the demo's orders, or, when nothing was, said so
    assert found["recs:bought_together"] in {"product_recommendation", "-nothing_to_recommend"}
    assert found["loyalty"] == "-no_loyalty_account"  # an anonymous shopper has none
    screenshot(page, "storefront-cart-slots")
    page_problems.assert_none()


def test_a_price_changed_through_the_admin_api_shows_on_the_product_page(
    shop: LiveServer, page: Any, page_problems: PageProblems
) -> None:
    product = CATALOG.products[-1]  # not the one the other tests change
    url = f"{shop.url}/demo/product/{product.product_id}"
    page.goto(url)
    page.wait_for_selector("html[data-shop-ready]", state="attached")
    assert page.inner_text("article .price") == f"${product.price:.2f}"
    page.wait_for_load_state("networkidle")  # its events and decisions arrived before leaving
    changed = {"price": "123.45 USD", "sale_price": "99.90 USD"}
    r = httpx.patch(f"{shop.url}/v1/products/{product.product_id}", json=changed, headers=ADMIN)
    assert r.status_code == 200, r.text
    page.reload()
    page.wait_for_selector("html[data-shop-ready]", state="attached")
    assert page.inner_text("article .price") == "$123.45 $99.90"
    assert page.inner_text("article .price .was") == "$123.45"  # struck through
    page.wait_for_load_state("networkidle")
    page.goto(f"{shop.url}/demo/category/{product.category_id}")
    page.wait_for_selector("html[data-shop-ready]", state="attached")
    card = page.locator(".card", has=page.locator(f"a[href='/demo/product/{product.product_id}']"))
    assert card.locator(".price").inner_text() == "$123.45 $99.90"
    page_problems.assert_none()
