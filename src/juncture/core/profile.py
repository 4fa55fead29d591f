"""The unified profile, kept current one event at a time by :func:`reduce`.

Every figure is kept so that late and out-of-order events give the same profile as
in-order ones, except the cart (a sequence of edits, order-dependent by definition: it
equals the in-order cart when events are replayed in timestamp order) and figures capped
for size (see below). Exact timestamp ties resolve in arrival order, except consent, where
a denial wins a tie.

What is read from which event:

- **Traits**: ``identify`` traits and any event's ``context.traits``; per trait, the value
  with the latest event time wins (``trait_at`` keeps that time).
- **Consent**, per ``channel:purpose`` (``*`` for "all"), latest event time wins:
  traits ``consent: {"email": {"marketing": true}}`` or ``consent: {"sms": false}``
  (channel-wide); track ``Consent Updated`` with ``{channel, purpose, granted}`` or a
  ``consent`` object as in traits; track ``Unsubscribed`` with optional ``channel``
  (default ``email``) and ``purpose`` (default ``marketing``). Read it with
  :func:`consent_for`.
- **Seen, sessions, channels, devices**: every event. A session is a run of events with
  gaps of at most ``session_gap``; the last ``keep_sessions`` are kept as spans so that a
  late event can extend, split or bridge them, older ones are counted in
  ``sessions_archived``. The channel is ``context.channel``, else inferred by
  :func:`channel_of`; the device is ``context.device.id``.
- **Products**: ``Product Viewed`` (``product_id`` or ``sku``): views,
  visits (views separated by at least ``revisit_gap``), time on product (``duration``,
  ``time_on_product`` or ``time_spent`` seconds), spec and review views (``section`` or
  ``tab`` of ``specs``/``reviews``, or ``Product Specs Viewed``/``Product Reviews Viewed``).
- **Affinity**: weighted (``affinity_weights`` per event name: views, ``Product Clicked``,
  ``Category Clicked``, adds, orders), time-decayed interest per ``category:``, ``brand:``
  and ``price:`` key; stored as scores at ``affinity_ref`` so that order does not matter.
- **Cart**: ``Product Added``/``Product Removed`` edit it; ``Cart Viewed`` and
  ``Checkout Started`` with a ``products`` list replace it when newer; ``Order Completed``
  empties it. Edits older than the last completed order are ignored.
- **Orders**: ``Order Completed`` (``order_id``, else the message id), deduplicated (the
  earliest report of an order stands; a repeat adds no affinity and clears no cart);
  revenue is ``revenue``, else ``total``, else ``value``, else the sum of products.
- **Feedback**: ``Survey Answered`` (``survey`` ``nps``/``csat``, ``score``),
  ``NPS Submitted``, ``CSAT Submitted``; ``Ticket Created``/``Support Ticket Created``;
  ``Product Reviewed`` (``rating``).

Events with ``source == "juncture"`` (derived signals) do not change the profile.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections.abc import Callable, Iterable
from typing import Any, Final

import msgspec

from juncture.core.events import Event

DERIVED_SOURCE: Final = "juncture"
AFFINITY_DIMENSIONS: Final = ("category", "brand", "price")
_REBASE_HALF_LIVES: Final = 256.0

Span = tuple[dt.datetime, dt.datetime]


class ProfileConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Thresholds of the reducer and of :func:`rfm`. Dict fields are read-only."""

    session_gap: dt.timedelta = dt.timedelta(minutes=30)
    keep_sessions: int = 20
    revisit_gap: dt.timedelta = dt.timedelta(minutes=30)
    keep_visits: int = 8
    affinity_half_life: dt.timedelta = dt.timedelta(days=14)
    affinity_weights: dict[str, float] = msgspec.field(
        default_factory=lambda: {
            "Product Viewed": 1.0,
            "Product Clicked": 1.0,
            "Category Clicked": 1.0,
            "Product Added": 3.0,
            "Order Completed": 5.0,
        }
    )
    price_bands: tuple[float, ...] = (25.0, 100.0, 500.0)
    recency_days: tuple[int, int, int, int] = (7, 30, 90, 180)
    frequency_orders: tuple[int, int, int, int] = (2, 3, 5, 10)
    monetary_total: tuple[float, float, float, float] = (50.0, 150.0, 500.0, 1500.0)


class Consent(msgspec.Struct, frozen=True, array_like=True):
    granted: bool
    at: dt.datetime


class Score(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A survey answer (NPS 0-10, CSAT as sent)."""

    score: float
    at: dt.datetime
    survey: str | None = None


class ProductView(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    views: int = 0
    visits: tuple[Span, ...] = ()
    visits_archived: int = 0
    last_at: dt.datetime | None = None
    seconds: float = 0.0
    spec_views: int = 0
    review_views: int = 0
    category: str | None = None
    brand: str | None = None
    price: float | None = None

    @property
    def visit_count(self) -> int:
        return len(self.visits) + self.visits_archived


NEVER_VIEWED: Final = ProductView()


class CartItem(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    product_id: str
    quantity: int = 1
    price: float = 0.0
    name: str | None = None
    category: str | None = None
    brand: str | None = None


class Cart(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """``updated_at``: last cart activity; ``cleared_at``: last completed order."""

    items: dict[str, CartItem] = {}
    updated_at: dt.datetime | None = None
    cleared_at: dt.datetime | None = None
    checkout_at: dt.datetime | None = None
    currency: str | None = None

    @property
    def value(self) -> float:
        return sum(i.price * i.quantity for i in self.items.values())

    @property
    def quantity(self) -> int:
        return sum(i.quantity for i in self.items.values())

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = plain(self)
        return out


def plain(value: Any) -> Any:
    """``value`` as plain JSON types with every field, defaults too: the stored form leaves
    defaults out (a shopper's profile is rewritten on every commit that touches it, so its
    size is paid again and again), the API shows them."""
    if isinstance(value, msgspec.Struct) and not value.__struct_config__.array_like:
        return {name: plain(getattr(value, name)) for name in value.__struct_fields__}
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    return msgspec.to_builtins(value)


class Order(msgspec.Struct, frozen=True, array_like=True):
    at: dt.datetime
    revenue: float


class Profile(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One customer. Build an empty one with ``Profile(profile_id=...)``."""

    profile_id: str
    first_seen: dt.datetime | None = None
    last_seen: dt.datetime | None = None
    event_counts: dict[str, int] = {}
    traits: dict[str, Any] = {}
    trait_at: dict[str, dt.datetime] = {}
    consent: dict[str, Consent] = {}
    sessions: tuple[Span, ...] = ()
    sessions_archived: int = 0
    channels: dict[str, dt.datetime] = {}
    last_channel: str | None = None
    devices: dict[str, dt.datetime] = {}
    last_device: str | None = None
    products: dict[str, ProductView] = {}
    last_product: str | None = None
    affinity: dict[str, float] = {}
    affinity_ref: dt.datetime | None = None
    cart: Cart = Cart()
    orders: dict[str, Order] = {}
    revenue: float = 0.0
    last_order_id: str | None = None
    nps: Score | None = None
    csat: Score | None = None
    support_tickets: int = 0
    reviews: int = 0
    rating_sum: float = 0.0

    @property
    def session_count(self) -> int:
        return len(self.sessions) + self.sessions_archived

    @property
    def order_count(self) -> int:
        return len(self.orders)

    @property
    def last_order_at(self) -> dt.datetime | None:
        return self.orders[self.last_order_id].at if self.last_order_id else None

    @property
    def aov(self) -> float:
        """Average order value; 0 without orders."""
        return self.revenue / len(self.orders) if self.orders else 0.0

    @property
    def mean_rating(self) -> float | None:
        return self.rating_sum / self.reviews if self.reviews else None

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types (times as ISO 8601 strings), every field present."""
        out: dict[str, Any] = plain(self)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Profile:
        """The inverse of :meth:`to_json`."""
        return msgspec.convert(data, cls)


class _Step:
    """One event being reduced: the inputs and the changed fields so far."""

    __slots__ = ("ch", "config", "event", "profile")

    def __init__(
        self, profile: Profile, event: Event, config: ProfileConfig, ch: dict[str, Any]
    ) -> None:
        self.profile, self.event, self.config, self.ch = profile, event, config, ch


_Handler = Callable[[_Step], None]


class RFM(msgspec.Struct, frozen=True, array_like=True):
    recency: int
    frequency: int
    monetary: int


DEFAULT_CONFIG: Final = ProfileConfig()
_EVENT_CHANNELS: Final = {
    "Email Opened": "email",
    "Email Link Clicked": "email",
    "SMS Link Clicked": "sms",
    "SMS Replied": "sms",
    "Push Notification Tapped": "push",
    "Push Notification Opened": "push",
}
_TICKET_EVENTS: Final = frozenset({"Ticket Created", "Support Ticket Created"})


def channel_of(event: Event) -> str | None:
    """``context.channel``, else inferred: ``store`` (POS: a source or library named
    ``pos``, or a ``store_id``), ``email``/``sms``/``push`` (their engagement events),
    ``app`` (screen calls, ``context.app``), ``web`` (page calls, ``context.page``).
    """
    ctx = event.context
    explicit = ctx.get("channel") if ctx else None
    if isinstance(explicit, str) and explicit:
        return explicit
    library = ctx.get("library") if ctx else None
    lib_name = library.get("name") if isinstance(library, dict) else None
    if (
        "pos" in event.source.lower()
        or (isinstance(lib_name, str) and "pos" in lib_name.lower())
        or "store_id" in event.properties
    ):
        return "store"
    named = _EVENT_CHANNELS.get(event.event or "")
    if named is not None:
        return named
    if event.type == "screen" or (ctx and "app" in ctx):
        return "app"
    if event.type == "page" or (ctx and "page" in ctx):
        return "web"
    return None


def device_of(event: Event) -> str | None:
    """``context.device.id``, if any."""
    device = event.context.get("device") if event.context else None
    return id_text(device.get("id")) if isinstance(device, dict) else None


def product_key(props: dict[str, Any]) -> str | None:
    """A product's id in Segment ecommerce properties: ``product_id``, else ``sku``."""
    return id_text(props.get("product_id") or props.get("sku"))


def id_text(value: object) -> str | None:
    """A JSON string or integer (never a bool) as an id's text; None for anything else."""
    if type(value) is str:  # the usual case, checked first: it runs for every event
        return value
    if isinstance(value, str | int) and not isinstance(value, bool):
        return str(value)
    return None


def number(value: object) -> float | None:
    """A finite number from a JSON value (numeric strings too; never a bool)."""
    if type(value) is float:  # the usual case, checked first
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        result = float(value)
    elif isinstance(value, str):
        try:
            result = float(value)
        except ValueError:
            return None
    else:
        return None
    return result if math.isfinite(result) else None


def price_band(price: float | None, config: ProfileConfig = DEFAULT_CONFIG) -> str | None:
    """The band a price falls in, e.g. ``"25-100"`` or ``"500+"``.

    >>> price_band(60.0)
    '25-100'
    """
    if price is None:
        return None
    bands = config.price_bands
    return _band_names(bands)[bisect.bisect_right(bands, price)]


def _band_names(bands: tuple[float, ...]) -> tuple[str, ...]:
    """The name of each band, below the first limit to above the last (built once per
    limits: a price band is named for every view and click)."""
    names = _BAND_NAMES.get(bands)
    if names is None:
        lows = ("0", *(f"{b:g}" for b in bands))
        names = (*(f"{low}-{b:g}" for low, b in zip(lows, bands, strict=False)), f"{lows[-1]}+")
        _BAND_NAMES[bands] = names
    return names


_BAND_NAMES: Final[dict[tuple[float, ...], tuple[str, ...]]] = {}


def reduce(profile: Profile, event: Event, config: ProfileConfig = DEFAULT_CONFIG) -> Profile:
    """The profile after ``event``. Pure; equal inputs give equal outputs."""
    if event.source == DERIVED_SOURCE:
        return profile
    t = event.timestamp
    name = event.display_name
    counts = profile.event_counts
    ch: dict[str, Any] = {"event_counts": {**counts, name: counts.get(name, 0) + 1}}
    if profile.first_seen is None or t < profile.first_seen:
        ch["first_seen"] = t
    if profile.last_seen is None or t > profile.last_seen:
        ch["last_seen"] = t
    sessions, archived = _add_time(profile.sessions, t, config.session_gap, config.keep_sessions)
    if sessions is not profile.sessions:
        ch["sessions"] = sessions
        ch["sessions_archived"] = profile.sessions_archived + archived
    _seen_on(profile, event, ch)
    traits = event.traits if event.type == "identify" else None
    ctx_traits = event.context.get("traits") if event.context else None
    if traits or ctx_traits:
        _apply_traits(profile, (traits, ctx_traits), t, ch)
    handler = _HANDLERS.get(event.event or "") if event.type == "track" else None
    if handler is not None:
        handler(_Step(profile, event, config, ch))
    return msgspec.structs.replace(profile, **ch)


def _seen_on(profile: Profile, event: Event, ch: dict[str, Any]) -> None:
    t = event.timestamp
    channel = channel_of(event)
    if channel is not None:
        last = profile.channels.get(channel)
        if last is None or t > last:
            ch["channels"] = {**profile.channels, channel: t}
            if _is_latest(profile.channels, profile.last_channel, t):
                ch["last_channel"] = channel
    device = device_of(event)
    if device is not None:
        last = profile.devices.get(device)
        if last is None or t > last:
            ch["devices"] = {**profile.devices, device: t}
            if _is_latest(profile.devices, profile.last_device, t):
                ch["last_device"] = device


def _is_latest(seen: dict[str, dt.datetime], current: str | None, t: dt.datetime) -> bool:
    return current is None or t >= seen[current]


def _add_time(
    spans: tuple[Span, ...], t: dt.datetime, gap: dt.timedelta, keep: int
) -> tuple[tuple[Span, ...], int]:
    """Add one event time to sorted spans whose neighbours are more than ``gap`` apart.

    Returns the new spans and how many old spans were dropped past ``keep``.
    """
    if spans:
        start, end = spans[-1]
        if start <= t <= end:
            return spans, 0
        if end < t <= end + gap:
            return (*spans[:-1], (start, t)), 0
    elif keep > 0:
        return ((t, t),), 0  # the first (a product's first view, most often)
    out = list(spans)
    i = bisect.bisect_right(out, (t, t))
    new = (t, t)
    if i and out[i - 1][1] + gap >= t:
        i -= 1
        new = (out[i][0], max(out[i][1], t))
        del out[i]
    while i < len(out) and out[i][0] - gap <= new[1]:
        new = (new[0], max(new[1], out[i][1]))
        del out[i]
    out.insert(i, new)
    dropped = max(0, len(out) - keep)
    return tuple(out[dropped:]), dropped


def _apply_traits(
    profile: Profile,
    sources: Iterable[dict[str, Any] | None],
    t: dt.datetime,
    ch: dict[str, Any],
) -> None:
    traits, trait_at = profile.traits, profile.trait_at
    copied = False
    for source in sources:
        if not isinstance(source, dict):
            continue
        for key, value in source.items():
            if key == "consent":
                _apply_consent_object(ch.get("consent", profile.consent), value, t, ch)
                continue
            known = trait_at.get(key)
            if known is not None and known > t:
                continue
            if not copied:
                traits, trait_at, copied = dict(traits), dict(trait_at), True
            traits[key] = value
            trait_at[key] = t
    if copied:
        ch["traits"] = traits
        ch["trait_at"] = trait_at


def _apply_consent_object(
    consent: dict[str, Consent], value: object, t: dt.datetime, ch: dict[str, Any]
) -> None:
    if not isinstance(value, dict):
        return
    for channel, purposes in value.items():
        if isinstance(purposes, bool):
            consent = set_consent(consent, f"{channel}:*", purposes, t)
        elif isinstance(purposes, dict):
            for purpose, granted in purposes.items():
                if isinstance(granted, bool):
                    consent = set_consent(consent, f"{channel}:{purpose}", granted, t)
    ch["consent"] = consent


def set_consent(
    consent: dict[str, Consent], key: str, granted: bool, t: dt.datetime
) -> dict[str, Consent]:
    known = consent.get(key)
    if known is not None and (known.at, not known.granted) >= (t, not granted):
        return consent
    return {**consent, key: Consent(granted, t)}


def consent_for(profile: Profile, channel: str, purpose: str) -> bool | None:
    """Whether ``channel`` may be used for ``purpose``; None when never stated.

    The latest statement among ``channel:purpose``, ``channel:*``, ``*:purpose`` and
    ``*:*`` wins; at equal times a denial wins.
    """
    best: Consent | None = None
    for key in (f"{channel}:{purpose}", f"{channel}:*", f"*:{purpose}", "*:*"):
        entry = profile.consent.get(key)
        if entry is not None and (
            best is None or (entry.at, not entry.granted) > (best.at, not best.granted)
        ):
            best = entry
    return None if best is None else best.granted


def rfm(profile: Profile, now: dt.datetime, config: ProfileConfig = DEFAULT_CONFIG) -> RFM:
    """Recency, frequency and monetary scores, 1 (low) to 5 (high); 1s without orders."""
    last = profile.last_order_at
    if last is None:
        return RFM(1, 1, 1)
    days = (now - last).total_seconds() / 86400
    recency = 5 - sum(1 for limit in config.recency_days if days > limit)
    frequency = 1 + sum(1 for limit in config.frequency_orders if profile.order_count >= limit)
    monetary = 1 + sum(1 for limit in config.monetary_total if profile.revenue >= limit)
    return RFM(recency, frequency, monetary)


def affinity_at(
    profile: Profile, key: str, now: dt.datetime, config: ProfileConfig = DEFAULT_CONFIG
) -> float:
    """The decayed score of an affinity key (``category:Shoes``) at time ``now``."""
    score = profile.affinity.get(key, 0.0)
    if not score or profile.affinity_ref is None:
        return 0.0
    return score * decay(profile.affinity_ref, now, config)


def top_affinity(profile: Profile, dimension: str) -> str | None:
    """The leading value of a dimension (``category``, ``brand``, ``price``).

    Decay scales every score alike, so the ranking does not depend on the time.
    """
    prefix = dimension + ":"
    best: tuple[float, str] | None = None  # the highest (score, key): ties go to the last key
    for key, score in profile.affinity.items():
        if key.startswith(prefix) and (best is None or (score, key) > best):
            best = (score, key)
    return best[1][len(prefix) :] if best else None


def top_affinities(profile: Profile) -> dict[str, str | None]:
    """:func:`top_affinity` of each of ``category``, ``brand`` and ``price``, in one pass."""
    best: dict[str, tuple[float, str]] = {}
    for key, score in profile.affinity.items():
        dimension, colon, value = key.partition(":")
        known = best.get(dimension)
        if colon and (known is None or (score, value) > known):
            best[dimension] = (score, value)
    tops: dict[str, str | None] = dict.fromkeys(AFFINITY_DIMENSIONS)
    for dimension, (_, value) in best.items():
        if dimension in tops:
            tops[dimension] = value
    return tops


def decay(since: dt.datetime, until: dt.datetime, config: ProfileConfig) -> float:
    half_lives = (until - since) / config.affinity_half_life
    return float(2.0 ** (-half_lives))


def _add_affinity(s: _Step, keys: Iterable[str], weight: float) -> None:
    profile, config, ch, t = s.profile, s.config, s.ch, s.event.timestamp
    ref = ch.get("affinity_ref", profile.affinity_ref)
    scores = dict(ch.get("affinity", profile.affinity))
    # As :func:`_decay`, with the time ratio worked out once.
    half_lives = 0.0 if ref is None else (t - ref) / config.affinity_half_life
    if ref is None:
        ref = t
    elif half_lives > _REBASE_HALF_LIVES:
        factor = float(2.0 ** (-half_lives))
        scores = {k: v * factor for k, v in scores.items()}
        ref, half_lives = t, 0.0
    gain = weight / float(2.0 ** (-half_lives))
    for key in keys:
        scores[key] = scores.get(key, 0.0) + gain
    ch["affinity"] = scores
    ch["affinity_ref"] = ref


def _affinity_keys(
    category: object, brand: object, price: float | None, config: ProfileConfig
) -> list[str]:
    keys = []
    if isinstance(category, str) and category:
        keys.append("category:" + category)
    if isinstance(brand, str) and brand:
        keys.append("brand:" + brand)
    band = price_band(price, config)
    if band is not None:
        keys.append("price:" + band)
    return keys


def _on_product_view(s: _Step) -> None:
    profile, event, config, ch = s.profile, s.event, s.config, s.ch
    props = event.properties
    t = event.timestamp
    price = number(props.get("price"))
    category, brand = props.get("category"), props.get("brand")
    weight = config.affinity_weights.get(event.event or "", 0.0)
    if weight:
        _add_affinity(s, _affinity_keys(category, brand, price, config), weight)
    pid = product_key(props) if event.event == "Product Viewed" else None  # clicks: affinity only
    if pid is None:
        return
    view = profile.products.get(pid, NEVER_VIEWED)
    section = props.get("section") or props.get("tab")
    visits, archived = _add_time(view.visits, t, config.revisit_gap, config.keep_visits)
    newer = view.last_at is None or t >= view.last_at
    seconds = number(
        props.get("duration") or props.get("time_on_product") or props.get("time_spent")
    )
    view = ProductView(
        views=view.views + 1,
        visits=visits,
        visits_archived=view.visits_archived + archived,
        last_at=t if newer else view.last_at,
        seconds=view.seconds + (seconds or 0.0),
        spec_views=view.spec_views + (section in ("specs", "specifications")),
        review_views=view.review_views + (section == "reviews"),
        category=category if newer and isinstance(category, str) else view.category,
        brand=brand if newer and isinstance(brand, str) else view.brand,
        price=price if newer and price is not None else view.price,
    )
    ch["products"] = {**profile.products, pid: view}
    last = profile.last_product
    last_view = profile.products.get(last) if last is not None else None
    if last_view is None or last_view.last_at is None or t >= last_view.last_at:
        ch["last_product"] = pid


def _on_section_view(section: str) -> _Handler:
    def handle(s: _Step) -> None:
        profile, event, ch = s.profile, s.event, s.ch
        pid = product_key(event.properties)
        if pid is None:
            return
        view = profile.products.get(pid, NEVER_VIEWED)
        view = msgspec.structs.replace(
            view,
            spec_views=view.spec_views + (section == "specs"),
            review_views=view.review_views + (section == "reviews"),
        )
        ch["products"] = {**profile.products, pid: view}

    return handle


def _cart_item(props: dict[str, Any], pid: str, previous: CartItem | None) -> CartItem:
    quantity = number(props.get("quantity"))
    price = number(props.get("price"))
    return CartItem(
        product_id=pid,
        quantity=max(1, int(quantity)) if quantity is not None else 1,
        price=price if price is not None else (previous.price if previous else 0.0),
        name=_str_or(props.get("name"), previous.name if previous else None),
        category=_str_or(props.get("category"), previous.category if previous else None),
        brand=_str_or(props.get("brand"), previous.brand if previous else None),
    )


def _str_or(value: object, default: str | None) -> str | None:
    return value if isinstance(value, str) and value else default


def _cart_touch(cart: Cart, t: dt.datetime) -> Cart | None:
    """The cart with ``t`` as activity; None when ``t`` predates the last order."""
    if cart.cleared_at is not None and t <= cart.cleared_at:
        return None
    if cart.updated_at is None or t > cart.updated_at:
        return msgspec.structs.replace(cart, updated_at=t)
    return cart


def _on_product_added(s: _Step) -> None:
    profile, event, config, ch = s.profile, s.event, s.config, s.ch
    props = event.properties
    price = number(props.get("price"))
    keys = _affinity_keys(props.get("category"), props.get("brand"), price, config)
    weight = config.affinity_weights.get("Product Added", 0.0)
    if weight and keys:
        _add_affinity(s, keys, weight)
    pid = product_key(props)
    cart = _cart_touch(profile.cart, event.timestamp)
    if pid is None or cart is None:
        return
    old = cart.items.get(pid)
    item = _cart_item(props, pid, old)
    if old is not None:
        item = msgspec.structs.replace(item, quantity=old.quantity + item.quantity)
    currency = _str_or(props.get("currency"), cart.currency)
    ch["cart"] = msgspec.structs.replace(cart, items={**cart.items, pid: item}, currency=currency)


def _on_product_removed(s: _Step) -> None:
    profile, event, ch = s.profile, s.event, s.ch
    pid = product_key(event.properties)
    cart = _cart_touch(profile.cart, event.timestamp)
    if cart is None:
        return
    old = cart.items.get(pid) if pid is not None else None
    if pid is not None and old is not None:
        items = dict(cart.items)
        quantity = number(event.properties.get("quantity"))
        left = old.quantity - int(quantity) if quantity is not None else 0
        if left > 0:
            items[pid] = msgspec.structs.replace(old, quantity=left)
        else:
            del items[pid]
        cart = msgspec.structs.replace(cart, items=items)
    ch["cart"] = cart


def _on_cart_snapshot(s: _Step) -> None:
    profile, event, ch = s.profile, s.event, s.ch
    t = event.timestamp
    before = profile.cart
    cart = _cart_touch(before, t)
    if cart is None:
        return
    products = event.properties.get("products")
    if isinstance(products, list) and products and cart.updated_at == t:
        items: dict[str, CartItem] = {}
        for entry in products:
            if isinstance(entry, dict) and (pid := product_key(entry)) is not None:
                items[pid] = _cart_item(entry, pid, before.items.get(pid))
        cart = msgspec.structs.replace(cart, items=items)
    if event.event == "Checkout Started" and (cart.checkout_at is None or t > cart.checkout_at):
        cart = msgspec.structs.replace(cart, checkout_at=t)
    ch["cart"] = cart


def order_revenue(props: dict[str, Any]) -> float:
    """``revenue``, else ``total``, else ``value``, else the sum of ``products``."""
    for key in ("revenue", "total", "value"):
        value = number(props.get(key))
        if value is not None:
            return value
    products = props.get("products")
    if not isinstance(products, list):
        return 0.0
    total = 0.0
    for entry in products:
        if isinstance(entry, dict):
            total += (number(entry.get("price")) or 0.0) * (number(entry.get("quantity")) or 1.0)
    return total


def _on_order(s: _Step) -> None:
    profile, event, config, ch = s.profile, s.event, s.config, s.ch
    props = event.properties
    t = event.timestamp
    raw_id = props.get("order_id")
    order_id = (
        str(raw_id) if isinstance(raw_id, str | int) and raw_id else "msg:" + event.message_id
    )
    known = profile.orders.get(order_id)
    if known is not None and known.at <= t:
        return
    # The same order reported twice: the earliest report stands, whatever the arrival order.
    revenue = order_revenue(props)
    orders = {**profile.orders, order_id: Order(t, revenue)}
    ch["orders"] = orders
    ch["revenue"] = profile.revenue - (known.revenue if known else 0.0) + revenue
    ch["last_order_id"] = last_order(orders) if known else profile.last_order_id
    last = profile.last_order_at
    if known is None and (last is None or t >= last):
        ch["last_order_id"] = order_id
    if known is not None:
        return
    products = [p for p in props.get("products") or () if isinstance(p, dict)]
    weight = config.affinity_weights.get("Order Completed", 0.0)
    for entry in products if weight else ():
        keys = _affinity_keys(
            entry.get("category"), entry.get("brand"), number(entry.get("price")), config
        )
        _add_affinity(s, keys, weight)
    ch["cart"] = _clear_cart(profile.cart, t, {product_key(p) for p in products})


def _clear_cart(cart: Cart, t: dt.datetime, ordered: set[str | None]) -> Cart:
    cleared = t if cart.cleared_at is None else max(cart.cleared_at, t)
    if cart.updated_at is None or cart.updated_at <= t:
        return Cart(updated_at=cart.updated_at, cleared_at=cleared, currency=cart.currency)
    # A late order: activity after it stays, except the products it bought.
    items = {k: v for k, v in cart.items.items() if k not in ordered}
    return msgspec.structs.replace(cart, items=items, cleared_at=cleared)


def _on_consent(s: _Step) -> None:
    profile, event, ch = s.profile, s.event, s.ch
    props = event.properties
    t = event.timestamp
    if event.event == "Unsubscribed":
        channel = _str_or(props.get("channel"), "email")
        purpose = _str_or(props.get("purpose"), "marketing")
        ch["consent"] = set_consent(profile.consent, f"{channel}:{purpose}", False, t)
        return
    if "consent" in props:
        _apply_consent_object(profile.consent, props["consent"], t, ch)
        return
    channel, granted = props.get("channel"), props.get("granted")
    if isinstance(channel, str) and isinstance(granted, bool):
        purpose = _str_or(props.get("purpose"), "*")
        ch["consent"] = set_consent(profile.consent, f"{channel}:{purpose}", granted, t)


def _on_survey(s: _Step) -> None:
    profile, event, ch = s.profile, s.event, s.ch
    props = event.properties
    name = event.event
    if name == "NPS Submitted":
        survey = "nps"
    elif name == "CSAT Submitted":
        survey = "csat"
    else:
        raw = props.get("survey") or props.get("survey_type")
        survey = raw.lower() if isinstance(raw, str) else ""
    score = number(props.get("score"))
    if survey not in ("nps", "csat") or score is None:
        return
    known: Score | None = getattr(profile, survey)
    if known is None or event.timestamp >= known.at:
        survey_id = props.get("survey_id")
        ch[survey] = Score(
            score=score,
            at=event.timestamp,
            survey=survey_id if isinstance(survey_id, str) else None,
        )


def _on_ticket(s: _Step) -> None:
    profile, ch = s.profile, s.ch
    ch["support_tickets"] = profile.support_tickets + 1


def _on_review(s: _Step) -> None:
    profile, event, ch = s.profile, s.event, s.ch
    ch["reviews"] = profile.reviews + 1
    rating = number(event.properties.get("rating"))
    if rating is not None:
        ch["rating_sum"] = profile.rating_sum + rating


_HANDLERS: Final[dict[str, _Handler]] = {
    "Product Viewed": _on_product_view,
    "Product Clicked": _on_product_view,
    "Category Clicked": _on_product_view,
    "Product Specs Viewed": _on_section_view("specs"),
    "Product Reviews Viewed": _on_section_view("reviews"),
    "Product Added": _on_product_added,
    "Product Removed": _on_product_removed,
    "Cart Viewed": _on_cart_snapshot,
    "Checkout Started": _on_cart_snapshot,
    "Order Completed": _on_order,
    "Consent Updated": _on_consent,
    "Unsubscribed": _on_consent,
    "Survey Answered": _on_survey,
    "NPS Submitted": _on_survey,
    "CSAT Submitted": _on_survey,
    "Ticket Created": _on_ticket,
    "Support Ticket Created": _on_ticket,
    "Product Reviewed": _on_review,
}


def last_order(orders: dict[str, Order]) -> str | None:
    last = max(orders.items(), key=lambda kv: (kv[1].at, kv[0]), default=None)
    return last[0] if last else None
