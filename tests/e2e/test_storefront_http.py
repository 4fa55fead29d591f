"""The demo storefront's routes over real HTTP (no browser needed): its pages with the write
key, the catalogue the pages draw, the vendored library where its chunks are looked for, and
404s for what it does not have."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from juncture import wiring
from juncture.demo import storefront
from juncture.sim.catalog import build_catalog
from tests.conftest import ADMIN, WRITE_KEY, LiveServer, settings_for


@pytest.fixture
def shop_live(sqlite_url: str) -> Iterator[LiveServer]:
    juncture = wiring.build(settings_for(sqlite_url))
    app = juncture.app()
    storefront.mount(app, WRITE_KEY, juncture.store, juncture.clock)
    server = LiveServer(juncture, app).start()
    yield server
    server.stop()


@pytest.mark.parametrize(
    "path", ["/demo/", "/demo/category/cat-x", "/demo/product/p1", "/demo/cart", "/demo/stores"]
)
def test_every_page_is_the_shell_with_the_write_key(shop_live: LiveServer, path: str) -> None:
    r = httpx.get(f"{shop_live.url}{path}")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert f'data-write-key="{WRITE_KEY}"' in r.text
    assert 'src="/v1/juncture.js"' in r.text
    assert ('data-placement="home"' in r.text) == (path == "/demo/")


def test_the_catalogue_is_the_demo_s(shop_live: LiveServer) -> None:
    body = httpx.get(f"{shop_live.url}/demo/catalog.json").json()
    catalog = build_catalog(1)
    assert [p["id"] for p in body["products"]] == [p.product_id for p in catalog.products]
    assert {s["code"] for s in body["stores"]} == {s.location_id for s in catalog.stores}
    assert set(body["featured"]) <= {p["id"] for p in body["products"]}


def price(server: LiveServer, product_id: str) -> tuple[float, float | None]:
    r = httpx.get(f"{server.url}/demo/catalog.json")
    assert r.headers["cache-control"] == "no-cache"
    [found] = [p for p in r.json()["products"] if p["id"] == product_id]
    return found["price"], found.get("list_price")


def test_the_catalogue_has_the_prices_the_admin_api_sets(shop_live: LiveServer) -> None:
    juncture = shop_live.juncture
    assert storefront.stock(juncture.store, juncture.clock.now())
    product = build_catalog(1).products[0]
    assert price(shop_live, product.product_id) == (product.price, None)

    def change(**fields: str) -> None:
        url = f"{shop_live.url}/v1/products/{product.product_id}"
        r = httpx.patch(url, json=fields, headers=ADMIN)
        assert r.status_code == 200, r.text

    change(price="12.34 USD")
    assert price(shop_live, product.product_id) == (12.34, None)
    change(sale_price="9.99 USD")
    assert price(shop_live, product.product_id) == (9.99, 12.34)  # the sale, and the regular


def test_the_vendored_library_and_its_chunks_are_served(shop_live: LiveServer) -> None:
    lib = httpx.get(f"{shop_live.url}/demo/vendor/analytics-next.js")
    assert lib.status_code == 200 and lib.headers["content-type"].startswith("text/javascript")
    chunks = [n for n in storefront.vendored() if ".bundle." in n]
    assert chunks
    for name in chunks:
        r = httpx.get(f"{shop_live.url}/demo/cdn/analytics-next/bundles/{name}")
        assert r.status_code == 200, name


@pytest.mark.parametrize(
    "path",
    ["/demo/nope", "/demo/product", "/demo/cart/x", "/demo/vendor/..%2Fshop.js",
     "/demo/static/missing.js"],
)  # fmt: skip
def test_what_the_shop_lacks_is_a_json_404(shop_live: LiveServer, path: str) -> None:
    r = httpx.get(f"{shop_live.url}{path}")
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"
