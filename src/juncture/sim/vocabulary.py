"""The words the simulated retailer is made of: departments, leaf categories, brands.

Plain data, no logic. Each leaf category names the nouns its products are, a price band in
US dollars, and feature phrases that descriptions draw on, so that products of one leaf read
alike (useful for text similarity) while staying varied.
"""

from __future__ import annotations

from typing import Final, NamedTuple


class Leaf(NamedTuple):
    """One leaf of the category tree with what is needed to invent its products."""

    path: tuple[str, str, str]
    nouns: tuple[str, ...]
    price: tuple[float, float]
    features: tuple[str, ...]


BRANDS: Final[dict[str, tuple[str, ...]]] = {
    "Women": ("Aurelle", "Northway", "Velia", "Marlowe & Finch", "Solenne"),
    "Men": ("Northway", "Halvard", "Grayson Field", "Ostrava", "Bexley"),
    "Kids": ("Little Otter", "Pipkin", "Northway Kids", "Bramble"),
    "Home": ("Casa Linden", "Hearthwell", "Brewcraft", "Oak & Ember", "Nordlys"),
    "Beauty": ("Lumiere Lab", "Petalwise", "Dune & Dew", "Verdant"),
    "Sports": ("Stridewell", "Summit Co", "Aquila", "Northway Active", "Kinetica"),
    "Electronics": ("Voltra", "Sonance", "Pixelor", "Arcwave"),
}

ADJECTIVES: Final = (
    "Classic",
    "Everyday",
    "Essential",
    "Premium",
    "Lightweight",
    "Signature",
    "Urban",
    "Heritage",
    "Eco",
    "Pro",
    "Soft",
    "Compact",
    "Bold",
    "Vintage",
    "Modern",
    "Cloud",
    "Coastal",
    "Alpine",
    "Studio",
    "Weekend",
)

COLOURS: Final = (
    "Black",
    "White",
    "Navy",
    "Sand",
    "Olive",
    "Slate",
    "Rust",
    "Sage",
    "Ivory",
    "Charcoal",
)

OPENERS: Final = (
    "Made for {use}, this {noun} {feature}.",
    "A {adjective} {noun} that {feature}.",
    "Our {noun} {feature}, ideal for {use}.",
    "Designed in-house, the {noun} {feature}.",
    "Customers love how this {noun} {feature}.",
)

CLOSERS: Final = (
    "Free returns within 30 days.",
    "Part of our {brand} collection.",
    "Pairs well with the rest of the range.",
    "Made with responsibly sourced materials.",
    "Backed by a two-year guarantee.",
    "",
)

USES: Final = (
    "daily use",
    "long weekends",
    "busy mornings",
    "the commute",
    "travel",
    "gifting",
    "small spaces",
    "all seasons",
)

_SHOE = ("cushions every step", "has a breathable knit upper", "grips on wet pavement")
_TOP = ("is cut from soft organic cotton", "keeps its shape wash after wash", "layers easily")
_BOTTOM = ("has a relaxed tapered fit", "stretches where you need it", "sits high on the waist")
_OUTER = ("keeps out wind and rain", "packs into its own pocket", "is lined for warmth")
_BAG = ("fits a 15-inch laptop", "has a padded strap", "is made of water-resistant canvas")

LEAVES: Final[tuple[Leaf, ...]] = (
    Leaf(
        ("Women", "Shoes", "Running"), ("Running Shoe", "Trail Runner", "Racer"), (70, 180), _SHOE
    ),
    Leaf(
        ("Women", "Shoes", "Boots"),
        ("Ankle Boot", "Chelsea Boot", "Hiking Boot"),
        (90, 260),
        ("is waterproof", "has a leather upper", "has a cushioned footbed"),
    ),
    Leaf(
        ("Women", "Shoes", "Sandals"),
        ("Sandal", "Slide", "Espadrille"),
        (30, 110),
        ("has an adjustable strap", "is light enough to pack", "moulds to your foot"),
    ),
    Leaf(
        ("Women", "Clothing", "Dresses"),
        ("Midi Dress", "Wrap Dress", "Shirt Dress"),
        (45, 190),
        ("drapes beautifully", "has hidden pockets", "is cut from linen"),
    ),
    Leaf(("Women", "Clothing", "Tops"), ("Tee", "Blouse", "Knit Top"), (20, 90), _TOP),
    Leaf(
        ("Women", "Clothing", "Jeans"),
        ("Straight Jean", "Wide-Leg Jean", "Skinny Jean"),
        (50, 140),
        _BOTTOM,
    ),
    Leaf(("Women", "Accessories", "Bags"), ("Tote", "Crossbody Bag", "Backpack"), (35, 240), _BAG),
    Leaf(("Men", "Shoes", "Sneakers"), ("Sneaker", "Court Shoe", "Runner"), (60, 170), _SHOE),
    Leaf(
        ("Men", "Shoes", "Boots"),
        ("Work Boot", "Chukka", "Hiking Boot"),
        (100, 280),
        ("is waterproof", "has a Goodyear welt", "has a lug sole"),
    ),
    Leaf(
        ("Men", "Clothing", "Shirts"),
        ("Oxford Shirt", "Flannel Shirt", "Linen Shirt"),
        (35, 120),
        _TOP,
    ),
    Leaf(("Men", "Clothing", "Trousers"), ("Chino", "Cargo Trouser", "Jogger"), (40, 130), _BOTTOM),
    Leaf(
        ("Men", "Clothing", "Jackets"), ("Rain Jacket", "Puffer", "Field Jacket"), (80, 350), _OUTER
    ),
    Leaf(
        ("Men", "Accessories", "Watches"),
        ("Field Watch", "Chronograph", "Dress Watch"),
        (90, 450),
        ("is water resistant to 100 m", "has a sapphire crystal", "runs on a solar movement"),
    ),
    Leaf(
        ("Kids", "Clothing", "Baby"),
        ("Romper", "Sleepsuit", "Bodysuit Set"),
        (12, 45),
        ("is gentle on sensitive skin", "has easy poppers", "is made of organic cotton"),
    ),
    Leaf(
        ("Kids", "Toys", "Building"),
        ("Block Set", "Marble Run", "Construction Kit"),
        (15, 120),
        ("sparks hours of creative play", "has 200 pieces", "is made of sustainable wood"),
    ),
    Leaf(
        ("Kids", "Toys", "Plush"),
        ("Teddy", "Plush Fox", "Cuddle Bunny"),
        (10, 40),
        ("is machine washable", "is extra soft", "is safe from birth"),
    ),
    Leaf(
        ("Kids", "Shoes", "School"),
        ("School Shoe", "Velcro Sneaker", "Mary Jane"),
        (30, 80),
        ("has a scuff-proof toe", "fastens in seconds", "leaves room to grow"),
    ),
    Leaf(
        ("Home", "Kitchen", "Coffee"),
        ("Espresso Machine", "Pour-Over Kettle", "Burr Grinder", "French Press"),
        (25, 650),
        ("brews cafe-quality coffee", "heats up in seconds", "has a precise temperature dial"),
    ),
    Leaf(
        ("Home", "Kitchen", "Cookware"),
        ("Skillet", "Dutch Oven", "Saucepan Set"),
        (30, 320),
        ("works on induction", "has a non-toxic ceramic coating", "goes from hob to oven"),
    ),
    Leaf(
        ("Home", "Kitchen", "Tableware"),
        ("Dinner Set", "Stoneware Mug", "Serving Bowl"),
        (15, 160),
        ("is dishwasher safe", "is glazed by hand", "stacks neatly"),
    ),
    Leaf(
        ("Home", "Bedding", "Duvets"),
        ("Duvet", "Weighted Blanket", "Quilt"),
        (60, 280),
        ("keeps you cool at night", "is hypoallergenic", "is filled with recycled down"),
    ),
    Leaf(
        ("Home", "Bedding", "Linen"),
        ("Sheet Set", "Pillowcase Pair", "Duvet Cover"),
        (25, 180),
        ("is stonewashed for softness", "is 400 thread count", "gets softer"),
    ),
    Leaf(
        ("Home", "Decor", "Lighting"),
        ("Table Lamp", "Floor Lamp", "Pendant Light"),
        (35, 300),
        ("gives a warm dimmable glow", "has a linen shade", "takes any E27 bulb"),
    ),
    Leaf(
        ("Home", "Decor", "Candles"),
        ("Scented Candle", "Candle Trio", "Diffuser"),
        (12, 60),
        ("burns for 50 hours", "is poured from soy wax", "smells of cedar and fig"),
    ),
    Leaf(
        ("Beauty", "Skincare", "Moisturisers"),
        ("Day Cream", "Night Cream", "Face Oil"),
        (18, 95),
        ("hydrates for 24 hours", "is fragrance free", "has hyaluronic acid"),
    ),
    Leaf(
        ("Beauty", "Skincare", "Cleansers"),
        ("Gel Cleanser", "Cleansing Balm", "Toner"),
        (12, 45),
        ("removes make-up gently", "balances oily skin", "is pH balanced"),
    ),
    Leaf(
        ("Beauty", "Makeup", "Lips"),
        ("Lipstick", "Lip Tint", "Lip Balm"),
        (9, 38),
        ("lasts all day", "has a satin finish", "is enriched with shea butter"),
    ),
    Leaf(
        ("Beauty", "Fragrance", "Perfume"),
        ("Eau de Parfum", "Eau de Toilette", "Solid Perfume"),
        (35, 160),
        ("opens with bergamot", "has warm amber notes", "lasts from morning to night"),
    ),
    Leaf(
        ("Sports", "Fitness", "Yoga"),
        ("Yoga Mat", "Yoga Block", "Strap Set"),
        (15, 110),
        ("gives a non-slip grip", "is extra thick", "is made of natural rubber"),
    ),
    Leaf(
        ("Sports", "Fitness", "Weights"),
        ("Dumbbell Pair", "Kettlebell", "Resistance Bands"),
        (20, 250),
        ("has a knurled grip", "stores away neatly", "adjusts in seconds"),
    ),
    Leaf(
        ("Sports", "Outdoor", "Camping"),
        ("Tent", "Sleeping Bag", "Camp Stove"),
        (40, 420),
        ("pitches in five minutes", "weighs under two kilos", "is rated to minus five"),
    ),
    Leaf(
        ("Sports", "Cycling", "Accessories"),
        ("Bike Light", "Helmet", "Saddle Bag"),
        (15, 160),
        ("is USB rechargeable", "is visible from 500 m", "clips on in seconds"),
    ),
    Leaf(
        ("Electronics", "Audio", "Headphones"),
        ("Over-Ear Headphones", "Earbuds", "Sport Earphones"),
        (30, 380),
        ("cancels background noise", "lasts 30 hours per charge", "pairs instantly"),
    ),
    Leaf(
        ("Electronics", "Audio", "Speakers"),
        ("Bluetooth Speaker", "Smart Speaker", "Soundbar"),
        (40, 500),
        ("fills a room with rich sound", "is splash proof", "works with voice assistants"),
    ),
    Leaf(
        ("Electronics", "Wearables", "Fitness Trackers"),
        ("Fitness Band", "Smartwatch", "Heart Rate Strap"),
        (40, 400),
        ("tracks sleep and steps", "has built-in GPS", "lasts a week per charge"),
    ),
)

SEARCH_TERMS: Final = (
    "gift",
    "sale",
    "new in",
    "black",
    "organic",
    "waterproof",
    "set",
    "kids",
    "best seller",
)
