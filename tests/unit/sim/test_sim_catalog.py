from __future__ import annotations

from juncture.sim import build_catalog, build_customers


def test_catalog_has_products_across_a_category_tree() -> None:
    catalog = build_catalog(seed=1)
    assert len(catalog.products) >= 500
    leaves = catalog.leaves
    assert len(leaves) >= 25
    assert len({leaf.path[0] for leaf in leaves}) >= 5
    ids = {c.category_id for c in catalog.categories}
    for category in catalog.categories:
        assert category.parent_id is None or category.parent_id in ids
    assert all(catalog.in_leaf(leaf.category_id) for leaf in leaves)


def test_products_are_complete_and_stocked_per_location() -> None:
    catalog = build_catalog(seed=2)
    stores = {loc.location_id for loc in catalog.stores}
    assert 3 <= len(stores) <= 4
    assert any(loc.kind == "warehouse" for loc in catalog.locations)
    assert len({p.product_id for p in catalog.products}) == len(catalog.products)
    assert len({p.name for p in catalog.products}) == len(catalog.products)
    for product in catalog.products:
        assert 0 < product.cost < product.price
        assert product.description.endswith(".")
        assert {loc for loc, _ in product.inventory} == {
            loc.location_id for loc in catalog.locations
        }
        assert product.category_path[0] in product.category


def test_as_rows_gives_plain_tables() -> None:
    rows = build_catalog(seed=3, n_products=50).as_rows()
    assert set(rows) == {"categories", "products", "locations", "inventory"}
    assert len(rows["products"]) == 50
    assert len(rows["inventory"]) == 50 * len(rows["locations"])
    assert isinstance(rows["products"][0]["category_path"], str)


def test_catalog_and_customers_depend_only_on_the_seed() -> None:
    assert build_catalog(5) == build_catalog(5)
    assert build_catalog(5).products != build_catalog(6).products
    catalog = build_catalog(5)
    assert build_customers(5, 50, catalog) == build_customers(5, 50, catalog)


def test_customers_have_personas_devices_and_consent() -> None:
    catalog = build_catalog(1)
    customers = build_customers(1, 500, catalog)
    assert len({c.user_id for c in customers}) == 500
    assert len({c.persona for c in customers}) >= 5
    assert any(c.loyalty_id for c in customers)
    assert any(len(c.devices) > 1 for c in customers)
    assert any(d.kind == "kiosk" for c in customers for d in c.devices)
    for customer in customers:
        assert abs(sum(w for _, w in customer.interests) - 1) < 0.01
        assert 0 <= customer.price_sensitivity <= 1
        assert 0 <= customer.brand_loyalty <= 1
        if customer.email is None:
            assert not customer.consents("email", "transactional")
        else:
            assert customer.email.split("@")[1].startswith("example.")
