"""Every message the shipped journeys send has a template that renders with the context the
engine gives it (profile, event, cart)."""

from __future__ import annotations

import pytest

from juncture.channels.templates import EmptyCart, Templates
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


EMPTY = {**CONTEXT, "cart": {"items": [], "count": 0, "value": 0, "currency": "EUR"}}
CART_TEMPLATES = [
    "cart_discount_10",
    "cart_last_call",
    "cart_recovery",
    "onsite_cart_recovery",
    "onsite_email_my_basket",
]


@pytest.mark.parametrize("template", Templates().names())
def test_a_template_that_lists_the_cart_refuses_an_empty_one(template: str) -> None:
    templates = Templates()
    if template in CART_TEMPLATES:
        with pytest.raises(EmptyCart) as info:
            templates.render(template, EMPTY)
        assert info.value.code == "empty_cart"
        assert templates.render(template, CONTEXT).subject.strip()
    else:  # a welcome, a review request, ...: the cart is no part of them
        assert templates.render(template, EMPTY).subject.strip()


def test_an_inline_template_that_lists_the_cart_refuses_an_empty_one_too() -> None:
    listing = {
        "subject": "Still yours",
        "text": "{% for i in cart.items %}{{ i.name }}{% endfor %}",
    }
    with pytest.raises(EmptyCart):
        Templates().render(None, EMPTY, inline=listing)
    total = {"subject": "Total {{ cart.value }}", "text": "Thanks"}  # reads the cart, lists none
    assert Templates().render(None, EMPTY, inline=total).subject == "Total 0"


@pytest.mark.parametrize(("journey", "template"), SENDS)
def test_no_template_shows_the_name_of_the_event_instead_of_a_product(
    journey: str, template: str
) -> None:
    """The engine hands templates the enrollment's event with its properties at the top level
    and its own name as ``event.name`` (``Product Viewed``, ``Date Reached``): a product's
    name is ``event.properties.name``."""
    props = {"product_id": "P1", "name": "Trail shoe", "trait": "replenish_at", "score": 3}
    for name in ("Product Viewed", "Date Reached", "Order Completed", "NPS Submitted"):
        event = {**props, "name": name, "properties": props}
        content = Templates().render(template, {**CONTEXT, "event": event})
        assert name not in content.subject + content.text, (journey, template)
