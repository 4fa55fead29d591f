"""The journeys page's example is a valid definition, and its library table is complete."""

from __future__ import annotations

import re
from pathlib import Path

from juncture.core.journeys import expr
from juncture.definitions import journeys as journey_definitions

PAGE = Path(__file__).parents[2] / "docs" / "journeys.md"


def section() -> str:
    return PAGE.read_text(encoding="utf-8")


def test_the_examples_validate() -> None:
    examples = [block.split("```", 1)[0] for block in section().split("```yaml\n")[1:]]
    specs = [journey_definitions.loads(example, "docs/journeys.md") for example in examples]
    assert [spec.id for spec in specs] == [
        "thanks",
        "birthday",
        "checkout_reminder",
        "first_order_offer",
        "goes_with_the_cart",
        "cart_or_what_goes_with_it",
    ]


def test_every_library_journey_is_listed() -> None:
    body = section()
    assert all(f"| `{j.id}` |" in body for j in journey_definitions.load_library())


def test_the_condition_examples_parse_and_mean_what_they_say() -> None:
    body = section()
    start = body.index("**Conditions.**")
    examples = body[body.index("Examples:", start) : body.index("**Arbitration", start)]
    parsed = [expr.parse(text) for text in re.findall(r"`([^`]+)`", examples)]
    assert len(parsed) == 3
    scope = {
        "profile": {"orders": {"count": 1}, "traits": {"clv_tier": "gold", "country": "FR"}},
        "event": {"properties": {"total": 120}},
        "context": {"branches": {"offer": "discount"}},
    }
    assert [expr.holds(p, scope) for p in parsed] == [True, True, True]
