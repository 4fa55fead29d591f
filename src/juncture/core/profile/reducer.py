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
  ``consent`` object as in traits; track ``SMS Replied`` whose ``body`` is ``STOP`` or
  ``START``; track ``Unsubscribed`` with optional ``channel``
  (default ``email``) and ``purpose`` (default ``marketing``). Read it with
  :func:`~juncture.core.profile.consent.consent_for`.
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
  empties it. Edits older than the last completed order are ignored. It remembers the
  ``cart_id``, ``checkout_id`` and ``order_id`` its events named since it was last emptied.
- **Orders**: ``Order Completed`` (``order_id``, else the message id), deduplicated (the
  earliest report of an order stands; a repeat adds no affinity and clears no cart);
  revenue is ``revenue``, else ``total``, else ``value``, else the sum of products. Each
  order keeps what it settled (the ids of the cart it emptied, its products), and the trait
  ``replenish_at`` follows the purchases of consumables (:mod:`.replenish`).
- **Feedback**: ``Survey Answered`` (``survey`` ``nps``/``csat``, ``score``),
  ``NPS Submitted``, ``CSAT Submitted``; ``Ticket Created``/``Support Ticket Created``;
  ``Product Reviewed`` (``rating``).

Events with ``source == "juncture"`` (derived signals) do not change the profile.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable
from typing import Any, Final

import msgspec

from juncture.core import channels
from juncture.core.events import Event
from juncture.core.profile.affinity import add_affinity, affinity_keys
from juncture.core.profile.cart import on_cart_snapshot, on_product_added, on_product_removed
from juncture.core.profile.consent import apply_consent_object, on_consent
from juncture.core.profile.feedback import on_review, on_survey, on_ticket
from juncture.core.profile.model import (
    DEFAULT_CONFIG,
    NEVER_VIEWED,
    ProductView,
    Profile,
    ProfileConfig,
    Span,
)
from juncture.core.profile.orders import on_order
from juncture.core.profile.properties import id_text, number, product_key
from juncture.core.profile.step import Handler, Step

DERIVED_SOURCE: Final = "juncture"


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
    named = channels.ENGAGEMENT.get(event.event or "")
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
        handler(Step(profile, event, config, ch))
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
    """Each trait stated at ``t`` or later than its value. A value restated as it was keeps
    the ``traits`` dict (only ``trait_at`` is replaced): most events of a known shopper repeat the
    same ``context.traits``, and what reads the traits (segment facts) skips an unchanged
    dict."""
    traits, trait_at = profile.traits, profile.trait_at
    new_traits = new_at = False
    for source in sources:
        if not isinstance(source, dict):
            continue
        for key, value in source.items():
            if key == "consent":
                apply_consent_object(ch.get("consent", profile.consent), value, t, ch)
                continue
            known = trait_at.get(key)
            if known is not None and known > t:
                continue
            if not new_at:
                trait_at, new_at = dict(trait_at), True
            trait_at[key] = t
            if key not in traits or not same_json(traits[key], value):
                if not new_traits:
                    traits, new_traits = dict(traits), True
                traits[key] = value
    if new_traits:
        ch["traits"] = traits
    if new_at:
        ch["trait_at"] = trait_at


def same_json(a: object, b: object) -> bool:
    """Whether two JSON values are the same, types and key order included (``1``, ``1.0``
    and ``True`` are equal in Python, not as traits).

    >>> same_json({"a": [1, "x"]}, {"a": [1, "x"]}), same_json(1, True), same_json([1], [1.0])
    (True, False, False)
    """
    if type(a) is not type(b):
        return False
    if isinstance(a, dict) and isinstance(b, dict):
        return len(a) == len(b) and all(
            k == j and same_json(v, w) for (k, v), (j, w) in zip(a.items(), b.items(), strict=True)
        )
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _on_product_view(s: Step) -> None:
    profile, event, config, ch = s.profile, s.event, s.config, s.ch
    props = event.properties
    t = event.timestamp
    price = number(props.get("price"))
    category, brand = props.get("category"), props.get("brand")
    weight = config.affinity_weights.get(event.event or "", 0.0)
    if weight:
        add_affinity(s, affinity_keys(category, brand, price, config), weight)
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


def _on_section_view(section: str) -> Handler:
    def handle(s: Step) -> None:
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


_HANDLERS: Final[dict[str, Handler]] = {
    "Product Viewed": _on_product_view,
    "Product Clicked": _on_product_view,
    "Category Clicked": _on_product_view,
    "Product Specs Viewed": _on_section_view("specs"),
    "Product Reviews Viewed": _on_section_view("reviews"),
    "Product Added": on_product_added,
    "Product Removed": on_product_removed,
    "Cart Viewed": on_cart_snapshot,
    "Checkout Started": on_cart_snapshot,
    "Order Completed": on_order,
    "Consent Updated": on_consent,
    "Unsubscribed": on_consent,
    "SMS Replied": on_consent,  # STOP and START
    "Survey Answered": on_survey,
    "NPS Submitted": on_survey,
    "CSAT Submitted": on_survey,
    "Ticket Created": on_ticket,
    "Support Ticket Created": on_ticket,
    "Product Reviewed": on_review,
}
