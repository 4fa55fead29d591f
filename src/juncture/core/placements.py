"""What an on-site placement shows a visitor, and why: the pure decision behind
``POST /v1/decide``.

Given what is known of the visitor (:class:`Visitor`), the on-site messages journeys queued
for them (:class:`Queued`, oldest first), the placement asking and the daily cap,
:func:`decide` answers the candidates in the order to try them (the first one the runtime can
render and record is shown) and the reason to give when none is:

1. a queued message for this placement or ``any``, reason ``queued``;
2. then the defaults chosen by rule: a cart reminder when the profile has a cart (once per
   cart, ``cart_recovery``), a welcome on a first visit (once per profile, ``first_visit``),
   each with the idempotency key that makes it once; in the :data:`EXIT` placement (asked
   when the visitor is leaving the page) only an exit offer while the cart holds items
   (once per cart, ``exit_intent``), so that leaving neither spends the cart reminder meant
   for the next visit nor greets anyone on the way out;
3. otherwise ``no_consent``, ``frequency_cap``, ``already_shown`` or ``nothing_to_show``.

Marketing messages need the profile's consent for channel ``onsite`` and fewer than ``cap``
impressions since :func:`cap_since`; transactional ones respect neither. When marketing is
blocked no default is offered.

>>> decide(Visitor("p1", shown=3), [], "home", cap=3).otherwise
'frequency_cap'
>>> decide(Visitor("p1"), [Queued(7, "any", "marketing")], "home", cap=3).candidates[0]
FromQueue(id=7)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from juncture.core import channels
from juncture.core.profile.consent import consent_for
from juncture.core.profile.model import Profile

CHANNEL: Final = channels.ON_SITE
ANY: Final = "any"  # a queued message for every placement
EXIT: Final = "exit"  # the placement an on-site script asks when the visitor is leaving
CAP_WINDOW: Final = dt.timedelta(days=1)
TRANSACTIONAL: Final = "transactional"
# What the on-site script reports of an answer it rendered (docs/onsite.md: its events carry
# ``promotion_id``, ``creative`` the kind and ``position`` the placement), and what each says
# became of that answer: the on-site impressions of a customer's timeline.
REPORTED: Final = {
    "Promotion Viewed": "shown",
    "Promotion Clicked": "clicked",
    "Promotion Dismissed": "dismissed",
    "Form Submitted": "submitted",
    "Survey Answered": "answered",
}


@dataclass(frozen=True, slots=True)
class Visitor:
    """What the decision needs of a visitor. ``consent``: marketing consent on channel
    ``onsite`` (None when never stated); ``cart``: what identifies the cart when it holds
    items (when it last changed), else None; ``shown``: impressions since :func:`cap_since`."""

    profile_id: str
    consent: bool | None = None
    cart: str | None = None
    first_visit: bool = True
    shown: int = 0


@dataclass(frozen=True, slots=True)
class Queued:
    """An on-site message queued for the visitor. ``placement`` is where it may show
    (:data:`ANY` for everywhere); None, a placement that was not a name, matches none."""

    id: int
    placement: str | None
    purpose: str


@dataclass(frozen=True, slots=True)
class FromQueue:
    """Show the queued message ``id``."""

    id: int
    reason = "queued"


@dataclass(frozen=True, slots=True)
class ByRule:
    """Show a default popover of ``kind``, recorded under ``key`` (shown once per key)."""

    kind: str
    key: str
    reason: str


Candidate = FromQueue | ByRule


@dataclass(frozen=True, slots=True)
class Decision:
    """The candidates in the order to try them, and the reason when none is shown."""

    candidates: tuple[Candidate, ...]
    otherwise: str


def cap_since(now: dt.datetime) -> dt.datetime:
    """Where the frequency cap starts counting impressions."""
    return now - CAP_WINDOW


def visitor(profile_id: str, profile: Profile | None, shown: int) -> Visitor:
    """The facts of ``profile`` (None: not known yet) that the decision reads."""
    if profile is None:
        return Visitor(profile_id, shown=shown)
    cart = profile.cart
    stamp = (cart.updated_at.isoformat() if cart.updated_at else "cart") if cart.items else None
    return Visitor(
        profile_id,
        consent=consent_for(profile, CHANNEL, "marketing"),
        cart=stamp,
        first_visit=profile.session_count <= 1 and profile.order_count == 0,
        shown=shown,
    )


def blocked(visitor: Visitor, cap: int) -> str | None:
    """Why marketing may not be shown to ``visitor`` now, or None."""
    if visitor.consent is False:
        return "no_consent"
    if visitor.shown >= cap:
        return "frequency_cap"
    return None


def decide(visitor: Visitor, queued: Sequence[Queued], placement: str, cap: int) -> Decision:
    """What to try showing ``visitor`` in ``placement``, in order, and why not otherwise."""
    why_not = blocked(visitor, cap)
    fitting = tuple(
        FromQueue(q.id)
        for q in queued
        if q.placement in (placement, ANY) and (why_not is None or q.purpose == TRANSACTIONAL)
    )
    if why_not is not None:
        return Decision(fitting, why_not)
    defaults = _on_exit(visitor) if placement == EXIT else _defaults(visitor)
    return Decision(fitting + defaults, "already_shown" if defaults else "nothing_to_show")


def _on_exit(visitor: Visitor) -> tuple[ByRule, ...]:
    if visitor.cart is None:
        return ()
    key = f"onsite:{visitor.profile_id}:exit_intent:{visitor.cart}"
    return (ByRule("exit_intent", key, "exit_intent"),)


def _defaults(visitor: Visitor) -> tuple[ByRule, ...]:
    pid = visitor.profile_id
    found = []
    if visitor.cart is not None:
        key = f"onsite:{pid}:cart_recovery:{visitor.cart}"
        found.append(ByRule("cart_recovery", key, "cart_recovery"))
    if visitor.first_visit:
        found.append(ByRule("welcome", f"onsite:{pid}:welcome", "first_visit"))
    return tuple(found)
