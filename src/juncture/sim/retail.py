"""What simulated shoppers do with the retailer's tables: keep wish lists, ask about
products, open the app; and whether they let the app use their location in stores.

Every draw here comes from the shopper's ``retail_rng``, so adding these habits leaves the
rest of a shopper's behaviour (what they browse, buy and abandon) as it was for a seed.
Wish lists and questions are Segment e-commerce events (``Product Added to Wishlist``) and
Juncture's ``Question Asked`` (the demand the associate-training report counts); the on-site
touchpoints that answer them are asked for by whoever serves the pages (the demo's harness).
"""

from __future__ import annotations

from typing import Final

from juncture.sim import wire
from juncture.sim.catalog import Product
from juncture.sim.session import Session, Shopper

# The chance one product view ends on the wish list, per persona (others: DEFAULT_WISH).
WISH_CHANCE: Final = {"window shopper": 0.03, "one-off gifter": 0.04, "brand loyalist": 0.025}
DEFAULT_WISH: Final = 0.012
QUESTION_CHANCE: Final = 0.01  # a view that ends in a question (in a store: thrice that)
LOCATION_OPT_IN: Final = 0.6  # app users who let the app use their location in stores
QUESTIONS: Final = (
    "What warranty does the {name} have?",
    "Which brand makes the {name}?",
    "Is the {name} good for every day?",
)


def opts_in_to_location(shopper: Shopper) -> bool:
    """Whether this shopper allows location use: app users only, drawn once."""
    has_app = any(d.app for d in shopper.customer.devices)
    return has_app and shopper.retail_rng.random() < LOCATION_OPT_IN


def after_view(session: Session, product: Product) -> None:
    """A product page seen: perhaps onto the wish list, perhaps a question about it."""
    shopper = session.shopper
    rng = shopper.retail_rng
    wish = WISH_CHANCE.get(shopper.customer.persona, DEFAULT_WISH)
    if product.product_id not in shopper.wishes and rng.random() < wish:
        session.wait(2, 10)
        session.track(
            "Product Added to Wishlist",
            {
                "wishlist_id": f"wl-{shopper.customer.index:05d}",
                "wishlist_name": "My wish list",
                **wire.product_properties(product, session.currency),
            },
        )
        shopper.wishes.append(product.product_id)
    asks = QUESTION_CHANCE * (3 if session.channel == "store" else 1)
    if rng.random() < asks:
        session.wait(10, 60)
        question = rng.choice(QUESTIONS).format(name=product.name)
        props = {"product_id": product.product_id, "question": question}
        if session.channel == "store":
            props["store_code"] = session.device.device_id.removeprefix("kiosk-")
        session.track("Question Asked", props)


def app_opened(session: Session) -> None:
    """The app comes to the foreground (Segment's mobile spec)."""
    session.track("Application Opened", {"from_background": True, "version": "4.2.0"})
