"""The simulated retailer's catalogue: categories, products, locations and inventory.

Everything here is generated from a seed with :class:`random.Random`, so the same seed gives
the same catalogue. Prices are list prices in US dollars; :data:`CURRENCY_RATES` converts
them for customers in other countries.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from typing import Any, Final

from juncture.sim import vocabulary
from juncture.sim.vocabulary import Leaf

CURRENCY_RATES: Final = {"USD": 1.0, "EUR": 0.92, "GBP": 0.79}


@dataclass(frozen=True, slots=True)
class Location:
    """A store or the warehouse that holds stock."""

    location_id: str
    name: str
    kind: str  # "store" | "warehouse"
    city: str
    country: str
    timezone: str


@dataclass(frozen=True, slots=True)
class Category:
    """A node of the category tree; ``path`` runs from department to this node."""

    category_id: str
    path: tuple[str, ...]
    parent_id: str | None

    @property
    def name(self) -> str:
        return self.path[-1]

    @property
    def is_leaf(self) -> bool:
        return len(self.path) == 3


@dataclass(frozen=True, slots=True)
class Product:
    """One sellable product with its stock per location (``inventory``: id and units)."""

    product_id: str
    sku: str
    name: str
    description: str
    brand: str
    category_id: str
    category_path: tuple[str, str, str]
    price: float
    cost: float
    inventory: tuple[tuple[str, int], ...]

    @property
    def category(self) -> str:
        """The category as Segment's ``category`` property writes it."""
        return " > ".join(self.category_path)

    @property
    def margin(self) -> float:
        return round((self.price - self.cost) / self.price, 4)

    def price_in(self, currency: str) -> float:
        return round(self.price * CURRENCY_RATES[currency], 2)

    def stock_at(self, location_id: str) -> int:
        return dict(self.inventory).get(location_id, 0)


LOCATIONS: Final = (
    Location("store-nyc", "Juncture SoHo", "store", "New York", "US", "America/New_York"),
    Location("store-chi", "Juncture Michigan Ave", "store", "Chicago", "US", "America/Chicago"),
    Location("store-lon", "Juncture Covent Garden", "store", "London", "GB", "Europe/London"),
    Location("store-ber", "Juncture Mitte", "store", "Berlin", "DE", "Europe/Berlin"),
    Location(
        "wh-cmh", "Columbus Fulfilment Centre", "warehouse", "Columbus", "US", "America/New_York"
    ),
)


@dataclass(frozen=True)
class Catalog:
    """The whole catalogue, with lookups by product id and by leaf category id."""

    categories: tuple[Category, ...]
    products: tuple[Product, ...]
    locations: tuple[Location, ...]
    _by_id: dict[str, Product] = field(init=False, repr=False, compare=False)
    _by_leaf: dict[str, tuple[Product, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_leaf: dict[str, list[Product]] = {}
        for product in self.products:
            by_leaf.setdefault(product.category_id, []).append(product)
        object.__setattr__(self, "_by_id", {p.product_id: p for p in self.products})
        object.__setattr__(self, "_by_leaf", {k: tuple(v) for k, v in by_leaf.items()})

    def product(self, product_id: str) -> Product:
        return self._by_id[product_id]

    def has_product(self, product_id: str) -> bool:
        return product_id in self._by_id

    def in_leaf(self, category_id: str) -> tuple[Product, ...]:
        return self._by_leaf.get(category_id, ())

    @property
    def leaves(self) -> tuple[Category, ...]:
        return tuple(c for c in self.categories if c.is_leaf)

    @property
    def stores(self) -> tuple[Location, ...]:
        return tuple(loc for loc in self.locations if loc.kind == "store")

    def as_rows(self) -> dict[str, list[dict[str, Any]]]:
        """Plain dicts per table (categories, products, locations, inventory) for loading."""
        products = []
        for p in self.products:
            row = asdict(p)
            del row["inventory"]
            row["category_path"] = p.category
            row["margin"] = p.margin
            products.append(row)
        return {
            "categories": [
                {
                    "category_id": c.category_id,
                    "name": c.name,
                    "parent_id": c.parent_id,
                    "path": " > ".join(c.path),
                    "depth": len(c.path),
                }
                for c in self.categories
            ],
            "products": products,
            "locations": [asdict(loc) for loc in self.locations],
            "inventory": [
                {"product_id": p.product_id, "location_id": loc, "quantity": qty}
                for p in self.products
                for loc, qty in p.inventory
            ],
        }


def build_catalog(seed: int, n_products: int = 600) -> Catalog:
    """A catalogue of ``n_products`` spread over every leaf category, the same for a seed."""
    rng = random.Random(f"catalog:{seed}")
    categories = _category_tree()
    leaf_ids = {c.path: c.category_id for c in categories if c.is_leaf}
    leaves = vocabulary.LEAVES
    names: set[str] = set()
    products = []
    for index in range(n_products):
        leaf = leaves[index % len(leaves)] if index < len(leaves) else rng.choice(leaves)
        product = _product(rng, index, leaf, leaf_ids[leaf.path], names)
        products.append(product)
    return Catalog(tuple(categories), tuple(products), LOCATIONS)


def _category_tree() -> list[Category]:
    categories: list[Category] = []
    ids: dict[tuple[str, ...], str] = {}
    for leaf in vocabulary.LEAVES:
        for depth in range(1, 4):
            path = leaf.path[:depth]
            if path in ids:
                continue
            ids[path] = "cat-" + "-".join(_slug(part) for part in path)
            parent = ids[path[:-1]] if depth > 1 else None
            categories.append(Category(ids[path], path, parent))
    return categories


def _product(
    rng: random.Random, index: int, leaf: Leaf, category_id: str, names: set[str]
) -> Product:
    department = leaf.path[0]
    brand = rng.choice(vocabulary.BRANDS[department])
    adjective = rng.choice(vocabulary.ADJECTIVES)
    noun = rng.choice(leaf.nouns)
    name = f"{brand} {adjective} {noun}"
    if name in names:
        name = f"{name} - {rng.choice(vocabulary.COLOURS)}"
    if name in names:
        name = f"{name} {index}"
    names.add(name)
    low, high = leaf.price
    price = _retail_price(low + (high - low) * rng.random() ** 1.6)
    cost = round(price * rng.uniform(0.35, 0.7), 2)
    sku = f"{department[:2].upper()}{_slug(leaf.path[2])[:3].upper()}-{index:05d}"
    return Product(
        product_id=f"p{100000 + index}",
        sku=sku,
        name=name,
        description=_description(rng, leaf, brand, adjective, noun),
        brand=brand,
        category_id=category_id,
        category_path=leaf.path,
        price=price,
        cost=cost,
        inventory=_inventory(rng),
    )


def _retail_price(raw: float) -> float:
    """Prices end in .99 or .00, as shelf prices do."""
    whole = max(1, int(raw))
    return float(whole) if whole % 10 == 0 else whole + 0.99


def _description(rng: random.Random, leaf: Leaf, brand: str, adjective: str, noun: str) -> str:
    features = rng.sample(leaf.features, k=2)
    opener = rng.choice(vocabulary.OPENERS).format(
        use=rng.choice(vocabulary.USES),
        noun=noun.lower(),
        feature=features[0],
        adjective=adjective.lower(),
    )
    middle = f"It also {features[1]}."
    closer = rng.choice(vocabulary.CLOSERS).format(brand=brand)
    return " ".join(part for part in (opener, middle, closer) if part)


def _inventory(rng: random.Random) -> tuple[tuple[str, int], ...]:
    stock = []
    for loc in LOCATIONS:
        if loc.kind == "warehouse":
            stock.append((loc.location_id, rng.randint(0, 400)))
        else:
            stock.append((loc.location_id, 0 if rng.random() < 0.2 else rng.randint(1, 30)))
    return tuple(stock)


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-")
