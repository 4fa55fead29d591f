"""What simulated shoppers do with the retailer's tables: keep wish lists, ask about
products (online, and of the staff in a store), look for gifts, check their loyalty points,
open the app; and whether they let the app use their location in stores (told once, in the
app, as the ``location`` consent that presence needs).

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
IN_STORE_QUESTION: Final = 0.3  # a store visitor asks the staff about a product of theirs
IN_STORE_SCAN: Final = 0.8  # a store visitor scans a product they came for in the app
ASK_EXPERT: Final = 0.5  # an online question sent to the experts of the shopper's store
GIFT_SEARCH: Final = {"one-off gifter": 0.3}  # a session that starts with a gift search
DEFAULT_GIFT: Final = 0.03
LOYALTY_LOOK: Final = 0.3  # an app session of a loyalty member that opens the points screen
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
        home = shopper.customer.city.store_id
        if session.channel == "store":
            props["store_code"] = session.device.device_id.removeprefix("kiosk-")
        elif home is not None and rng.random() < ASK_EXPERT:  # "ask an expert at my store"
            props["store_code"] = home
        session.track("Question Asked", props)


def app_opened(session: Session) -> None:
    """The app comes to the foreground (Segment's mobile spec); a loyalty member may open
    the points screen."""
    session.track("Application Opened", {"from_background": True, "version": "4.2.0"})
    shopper = session.shopper
    if shopper.customer.loyalty_id is not None and shopper.retail_rng.random() < LOYALTY_LOOK:
        session.wait(2, 10)
        session.view("Loyalty", "app://loyalty")


def allow_location(session: Session) -> None:
    """The app tells the shopper's location opt-in once (an ``identify`` of the consent; a
    shopper who has not allowed it says nothing, and presence stays silent for them)."""
    shopper = session.shopper
    if shopper.location_opt_in and not shopper.told_location:
        shopper.told_location = True
        session.send("identify", traits={"consent": {"location": {"presence": True}}})


def in_store(session: Session, store_id: str) -> None:
    """In the store, with the app: the shopper may scan a product they came for (one of
    their wish list, else of their interests; its page with the store: ``Product Viewed``
    with ``store_code``), and may ask the staff about a product they looked at (the help
    button: ``Question Asked`` with the store)."""
    shopper = session.shopper
    rng, catalog = shopper.retail_rng, session.world.catalog
    if rng.random() < IN_STORE_SCAN:
        leaf = rng.choices(*zip(*shopper.customer.interests, strict=True))[0]
        wanted = shopper.wishes or [p.product_id for p in catalog.in_leaf(leaf)]
        if wanted:  # what they wished for first
            session.wait(60, 600)
            product = catalog.product(rng.choice(wanted))
            props = wire.product_properties(product, session.currency)
            session.track("Product Viewed", {**props, "store_code": store_id})
    if not shopper.viewed or rng.random() >= IN_STORE_QUESTION:
        return
    product = catalog.product(rng.choice(shopper.viewed[-5:]))
    session.wait(60, 300)
    question = rng.choice(QUESTIONS).format(name=product.name)
    session.track("Question Asked", {"product_id": product.product_id, "question": question,
                                     "store_code": store_id})  # fmt: skip


def gift_search(session: Session) -> None:
    """Perhaps a gift search first: Segment's ``Products Searched`` with the department of
    one of the shopper's interests and a budget (the gift finder's fields)."""
    shopper = session.shopper
    rng = shopper.retail_rng
    if rng.random() >= GIFT_SEARCH.get(shopper.customer.persona, DEFAULT_GIFT):
        return
    leaf = rng.choice(shopper.customer.interests)[0]
    products = session.world.catalog.in_leaf(leaf)
    if not products:
        return
    department = products[0].category_path[0]
    budget = rng.choice((25, 50, 100, 200))
    session.track("Products Searched", {"query": f"gift {department.lower()}",
                                        "category": department, "budget": budget})  # fmt: skip
