"""The demo retailer's storefront, app and in-store kiosk: which touchpoint each page asks
Juncture for while the shoppers shop.

For a share of the shoppers (chosen by their id: :data:`PAGES` for the product, cart and
app home pages, :data:`HELP_PAGES` for the store and help pages, rarer and where shoppers
act) :class:`Pages` asks ``POST /v1/decide``'s decider, in-process, for the touchpoints of
the page each stored event stands for, and hands what was shown to the simulated shopper
(who sees it if still on the site). The pages and what they ask for:

- the app's home (``Application Opened``): ``app``, the cart left (``cart_reminder``) and
  store events about what the shopper looks at (``event``, at the shopper's store: the one
  in the city of their account, else the first they were seen in); its points screen
  (the ``Loyalty`` screen): ``loyalty``;
- the gift finder (``Products Searched`` with a budget): ``gift``;
- a product added to the wish list: ``wishlist``; a store entered (``Store Visited``):
  ``presence``, else the store's own events (``event``); a question asked in a store or of
  its experts (``store_code``): ``expert``, else ``specs``;
- a product page in a store (the kiosk's, or a product scanned in the app: ``store_code``):
  out of stock here, where it is in stock (``endless_aisle``), else where it is in this
  store (``product_location``);
- a product page seen again (one shopper, one step): its ``reviews``; the product pages of
  one category seen close together: a comparison on the 3rd, an offer or product for the
  strong interest (``clickstream``) on the 4th;
- the cart page: its recommendation slot (a kind per arm, :func:`juncture.demo.retail.arm`)
  and the best coupon for the cart (``coupon``, once per shopper and step).

The answer's ``detail`` names what its buttons act on (the coupon, where to ship from, the
associate, the event), for the shopper's errands (:mod:`juncture.demo.errands`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any, Final

from juncture import wiring
from juncture.core import touchpoints as tp
from juncture.core.identity import profile_id_for
from juncture.core.journeys.machine import bucket
from juncture.demo.retail import SLOT, arm
from juncture.recommend.base import KINDS
from juncture.runtime.clock import Clock
from juncture.runtime.decide import Decider
from juncture.runtime.touchpoints import Touchpoints
from juncture.sim.response import Delivery

# The share of shoppers whose pages ask for touchpoints (by their userId, else anonymousId):
# each answer costs milliseconds, and the demo must stay under a minute.
PAGES: Final = 0.1
BY_CATEGORY: Final = {3: "compare", 4: "clickstream"}  # on the nth product of a category
HOME: Final = ("app", "cart_reminder", "event")  # the app home's placements
# The store and help pages and store events (rare, and where the shopper acts: books,
# orders, registers, redeems) are asked for a larger share of the shoppers (:data:`HELP_PAGES`).
HELP: Final = frozenset({"presence", "expert", "gift", "loyalty", "event"})
HELP_PAGES: Final = 0.15
ONCE: Final = frozenset({"coupon"})  # asked once per shopper and step (a cart seen again)
KIOSK: Final = "kiosk-"

Asks = tuple[tp.Ask, ...]  # one placement: the first of these that shows anything


class Pages:
    """The storefront, app and kiosk of the demo retailer (see the module's docstring)."""

    def __init__(
        self,
        juncture: wiring.Juncture,
        clock: Clock,
        share: float = PAGES,
        help_share: float = HELP_PAGES,
    ) -> None:
        store, self.clock, self.shares = juncture.store, clock, (share, help_share)
        self.placements = store.placements
        touchpoints = Touchpoints(*juncture.cached_reads())  # as the server's decide reads
        self.decider = Decider(
            store.placements, clock, juncture.settings.onsite_cap_per_day,
            juncture.templates(), touchpoints, recommendations=juncture.recommendations(),
        )  # fmt: skip
        self.asked: Counter[str] = Counter()
        self.answered: Counter[str] = Counter()
        self.unanswered: Counter[str] = Counter()  # "kind:why nothing was shown"
        self.stores: dict[str, str] = {}  # each shopper's store, as the app knows it
        self.catalog, self.cities = store.catalog, dict[str, str]()  # a city's store

    def serve(self, batch: list[dict[str, Any]]) -> list[Delivery]:
        """Ask for the touchpoints each message's page would show; what was shown, to hand
        to the shoppers."""
        shown: list[Delivery] = []
        if not self.cities:  # read once the retailer's tables are in
            stores = self.catalog.locations("store")
            self.cities = {x.locality: x.store_code for x in stores if x.locality}
        for message, asks in _asks(batch, (self.stores, self.cities), *self.shares):
            ids = [f"{k}:{v}" for k, v in (("user_id", message.get("userId")),
                   ("anonymous_id", message.get("anonymousId"))) if v]  # fmt: skip
            for ask in asks:
                found = self._decide(ids, ask)
                if found is not None:
                    shown.append(_delivery(found, ask, message, self.clock))
                    break
        return shown

    def _decide(self, ids: list[str], ask: tp.Ask) -> tuple[str, Mapping[str, Any]] | None:
        kind = ask.touchpoint
        if kind == SLOT:
            pid = self.placements.resolve(ids) or profile_id_for(ids[0])
            kind = arm(pid)
            ask = tp.Ask(f"recs:{kind}", user_id=ask.user_id, anonymous_id=ask.anonymous_id)
        self.asked[kind] += 1
        answer = self.decider.decide(ids, ask.touchpoint, ask)
        if answer.show is None:
            self.unanswered[f"{kind}:{answer.reason}"] += 1
            return None
        self.answered[kind] += 1
        return (kind if kind in KINDS else answer.show.kind), answer.show.data


def _asks(
    batch: list[dict[str, Any]],
    stores: tuple[dict[str, str], dict[str, str]],
    share: float,
    help_share: float,
) -> Iterator[tuple[dict[str, Any], Asks]]:
    """The placements each message's page asks for: the product, cart and app home pages for
    a ``share`` of the shoppers, the store and help pages for a ``help_share``. ``stores``:
    each shopper's store, kept up to date here (the store in the city their account names,
    else the first they were seen in), and each city's store."""
    home, cities = stores
    seen: dict[str, Counter[str]] = {}
    for m in batch:
        shopper = str(m.get("userId") or m.get("anonymousId"))
        chosen = bucket("demo-pages", shopper)
        if chosen >= share and chosen >= help_share:
            continue
        who = {"user_id": m.get("userId"), "anonymous_id": m.get("anonymousId")}
        props = m.get("properties") or {}
        device = str(((m.get("context") or {}).get("device") or {}).get("id") or "")
        store = device[len(KIOSK) :] if device.startswith(KIOSK) else props.get("store_code")
        _remember(home, cities, shopper, m, store or None)
        product = props.get("product_id")
        if m.get("event") == "Product Viewed" and store and chosen < help_share:
            yield m, tuple(tp.Ask(kind, product_id=product, store_code=store, **who)
                           for kind in ("endless_aisle", "product_location"))  # fmt: skip
        elif m.get("event") == "Product Viewed" and isinstance(props.get("category"), str):
            viewed = seen.setdefault(str(m.get("anonymousId")), Counter())
            viewed[props["category"]] += 1
            viewed[f"product:{product}"] += 1
            again = viewed[f"product:{product}"] == 2 and "reviews"
            kind = again or BY_CATEGORY.get(viewed[props["category"]])
            if kind and not viewed[f"({kind})"] and chosen < share:
                viewed[f"({kind})"] = 1
                yield m, (tp.Ask(kind, product_id=product, **who),)
        else:
            viewed = seen.setdefault(str(m.get("anonymousId")), Counter())
            for asks in _page(m, props, who, home.get(shopper)):
                kind = asks[0].touchpoint
                once = kind in ONCE and viewed[f"({kind})"]
                if not once and chosen < (help_share if kind in HELP else share):
                    viewed[f"({kind})"] = 1
                    yield m, asks


def _remember(
    home: dict[str, str], cities: dict[str, str], shopper: str, m: dict[str, Any], seen: Any
) -> None:
    """The shopper's store: their account's city's (``identify``), else where first seen."""
    city = (m.get("traits") or {}).get("city")
    if m.get("type") == "identify" and city in cities:
        home[shopper] = cities[city]
    elif m.get("event") == "Store Visited" or seen:
        home.setdefault(shopper, str(seen or (m.get("properties") or {}).get("store_id")))


def _page(
    m: dict[str, Any], props: dict[str, Any], who: dict[str, Any], home: str | None
) -> Iterator[Asks]:
    """The placements of a page that one event stands for (product pages aside); ``home``
    the shopper's store, if known."""
    event, product = m.get("event"), props.get("product_id")
    if event == "Application Opened":
        yield from ((tp.Ask(k, store_code=home if k == "event" else None, **who),) for k in HOME)
    elif m.get("type") == "screen" and m.get("name") == "Loyalty":
        yield (tp.Ask("loyalty", **who),)
    elif event == "Products Searched" and props.get("budget") is not None:
        budget, category = props["budget"], props.get("category")
        yield (tp.Ask("gift", budget=float(budget), category=category, **who),)
    elif event == "Product Added to Wishlist":
        yield (tp.Ask("wishlist", product_id=product, **who),)
    elif event == "Store Visited":  # the app in the store: presence, else its events
        here = props.get("store_id")
        yield tuple(tp.Ask(k, store_code=here, **who) for k in ("presence", "event"))
    elif event == "Question Asked" and props.get("store_code"):
        yield (tp.Ask("expert", product_id=product, store_code=props["store_code"], **who),)
    elif event == "Question Asked":
        yield (tp.Ask("specs", product_id=product, question=props.get("question"), **who),)
    elif event == "Cart Viewed":
        yield from ((tp.Ask(SLOT, **who),), (tp.Ask("coupon", **who),))


def _delivery(
    found: tuple[str, Mapping[str, Any]], ask: tp.Ask, message: dict[str, Any], clock: Clock
) -> Delivery:
    kind, data = found
    listed = data.get("products") if kind in KINDS else None
    recommended = tuple(str(p["product_id"]) for p in listed or ())
    return Delivery(
        at=clock.now(),
        channel="onsite",
        template=f"onsite_{kind}",
        user_id=message.get("userId"),
        anonymous_id=message.get("anonymousId"),
        product_ids=recommended or tuple(_products(data)),
        recommendation_id=data.get("recommendationId") if recommended else None,
        recommended=recommended,
        detail=detail(ask, data),
    )


def detail(ask: tp.Ask, data: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """What an answer's buttons act on: the placement asked for, the product and store, the
    coupon shown, the first place to ship from, the first associate, the event."""
    offer = data.get("coupon") or data.get("offer") or {}
    coupon = offer.get("id") if offer.get("kind", "coupon") == "coupon" else None
    elsewhere = data.get("elsewhere") or [{}]
    associates = data.get("associates") or [data.get("associate") or {}]
    event = data.get("event") or {}
    store = (data.get("store") or event.get("store") or {}).get("storeCode") or ask.store_code
    found = {
        "placement": ask.touchpoint, "product_id": ask.product_id, "store_code": store,
        "coupon_id": coupon, "ship_from": (elsewhere[0].get("store") or {}).get("storeCode"),
        "associate_id": associates[0].get("id"), "event_id": event.get("id"),
    }  # fmt: skip
    return tuple((k, str(v)) for k, v in found.items() if v is not None)


def _products(data: object) -> Iterator[str]:
    """The products an answer shows, in order (product views: ``id`` beside ``title``)."""
    if isinstance(data, dict):
        if isinstance(data.get("id"), str) and "title" in data:
            yield data["id"]
        for value in data.values():
            yield from _products(value)
    elif isinstance(data, list):
        for value in data:
            yield from _products(value)
