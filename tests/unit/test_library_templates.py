"""Every message the shipped journeys send has a template that renders with the context the
engine gives it (profile, event, cart)."""

from __future__ import annotations

import pytest

from juncture.channels.templates import Templates
from juncture.core.journeys import spec as s
from juncture.definitions import journeys as journey_definitions

SENDS = sorted(
    {
        (journey.id, node.template)
        for journey in journey_definitions.load_library()
        for node in journey.nodes.values()
        if isinstance(node, s.SendMessage) and node.template
    }
)
CONTEXT = {
    "profile": {"first_name": "Ada", "email": "ada@example.com", "traits": {}},
    "event": {"name": "Order Completed", "order_id": "o1", "total": 80.0, "properties": {}},
    "cart": {
        "items": [{"product_id": "P1", "name": "Trail shoe", "quantity": 2, "price": 40.0}],
        "count": 2,
        "value": 80.0,
        "currency": "EUR",
    },
}


def test_the_library_sends_messages() -> None:
    assert len(SENDS) >= 10


@pytest.mark.parametrize(("journey", "template"), SENDS)
def test_library_template_renders(journey: str, template: str) -> None:
    content = Templates().render(template, CONTEXT)
    assert content.subject.strip(), (journey, template)
    assert "Ada" in content.text, (journey, template)
