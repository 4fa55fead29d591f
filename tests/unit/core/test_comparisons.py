"""Comparison tables and who knows a product's line, from plain records."""

from __future__ import annotations

import datetime as dt

from juncture.core import comparisons, offers, retail

T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
KETTLE = retail.Product(
    "k1",
    "Kettle",
    brand="Acme",
    category="Home > Kitchen > Kettles",
    price=40.0,
    sale_price=30.0,
    details=(retail.Detail("Power", "Watts", "2200"), retail.Detail("General", "Colour", "red")),
)
OTHER = retail.Product(
    "k2", "Other", price=35.0, details=(retail.Detail("General", "Colour", "red"),)
)


def test_a_table_has_every_line_any_product_has_and_marks_differences() -> None:
    found = comparisons.table([KETTLE, OTHER], T0)
    assert [(c["id"], c["price"], c["onSale"]) for c in found["columns"]] == [
        ("k1", 30.0, True),
        ("k2", 35.0, False),
    ]
    assert [(r["name"], r["values"], r["differs"]) for r in found["rows"]] == [
        ("Watts", ["2200", None], True),
        ("Colour", ["red", "red"], False),
    ]


def test_experts_know_the_brand_or_a_category_prefix_and_working_ones_come_first() -> None:
    staff = [
        offers.Associate("a1", "Zoe", "s", ("home > kitchen",), {"monday": ("09:00", "17:00")}),
        offers.Associate("a2", "Al", "s", ("ACME",)),
        offers.Associate("a3", "Bo", "s", ("Home > Garden",)),
        offers.Associate("a4", "Cy", "s", ("Kitchen",)),  # not a prefix of the path
    ]
    assert [a.name for a in comparisons.experts(staff, KETTLE, "monday")] == ["Zoe", "Al"]
    assert [a.name for a in comparisons.experts(staff, KETTLE, "sunday")] == ["Al", "Zoe"]
