from __future__ import annotations

from typing import Any

import pytest

from juncture.core.journeys import expr

SCOPE: dict[str, Any] = {
    "profile": {
        "traits": {"city": "Lyon", "vip": False, "tags": ["a", "b"]},
        "orders": {"count": 3},
    },
    "event": {"name": "Order Completed", "properties": {"value": 120.5, "items": [{"sku": "x"}]}},
    "context": {"key": "c1"},
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('profile.traits.city == "Lyon"', True),
        ("profile.traits.city != 'Lyon'", False),
        ("event.properties.value >= 100 and profile.orders.count > 2", True),
        ("event.properties.value < 100 or not profile.traits.vip", True),
        ("not (profile.orders.count == 3)", False),
        ('profile.traits.city in ["Paris", "Lyon"]', True),
        ('profile.traits.city not in ["Paris", "Lyon"]', False),
        ('"a" in profile.traits.tags', True),
        ('event.properties.items.0.sku == "x"', True),
        ("profile.traits.missing == null", True),
        ("profile.traits.missing > 3", False),
        ("profile.traits.city < 3", False),
        ("profile.orders.count == 3.0", True),
        ("context.key == 'c1' and true", True),
        ("-1 < 0", True),
    ],
)
def test_evaluate(text: str, expected: bool) -> None:
    assert expr.holds(expr.parse(text), SCOPE) is expected


@pytest.mark.parametrize(
    ("text", "column", "fragment"),
    [
        ("profile.traits.city ==", 23, "expected a value"),
        ("user.city == 1", 1, "unknown name 'user'"),
        ("profile.orders.count = 3", 22, "unexpected character"),
        ("(profile.x == 1", 16, "expected ')'"),
        ("profile.x == 1 profile.y", 16, "unexpected 'profile'"),
        ("__import__('os')", 1, "unknown name"),
    ],
)
def test_parse_errors_name_the_column(text: str, column: int, fragment: str) -> None:
    with pytest.raises(expr.ExprError) as info:
        expr.parse(text)
    assert info.value.column == column
    assert fragment in str(info.value)
