"""The facts a segment reads from a profile: the typed columns of ``profiles`` (the batch
evaluation reads the same columns), the traits and the resolved consent, each read alone
(:func:`fact_of`) or all at once (:func:`facts_of`), and the RFM scores computed from them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, Final

from juncture.core import channels, stage
from juncture.core.collection import SHARING
from juncture.core.profile.affinity import top_affinity
from juncture.core.profile.consent import consent_for
from juncture.core.profile.model import Profile, ProfileConfig

# The facts: the typed columns of ``profiles``, by kind.
FACTS: Final[Mapping[str, str]] = {
    "stage": "str",
    "email": "str",
    "country": "str",
    "city": "str",
    "timezone": "str",
    "last_channel": "str",
    "top_category": "str",
    "order_count": "num",
    "revenue": "num",
    "cart_value": "num",
    "cart_items": "num",
    "sessions": "num",
    "nps": "num",
    "csat": "num",
    "first_seen": "time",
    "last_seen": "time",
    "last_order_at": "time",
}
CHANNELS: Final = channels.NAMES
PURPOSES: Final = ("marketing", "transactional")
RFM_SCORES: Final = ("recency", "frequency", "monetary")


def consent_facts(profile: Profile) -> dict[str, bool]:
    """Resolved consent per ``channel:purpose`` for the known channels and purposes, and
    ``*:sharing`` (the sale or sharing of the person's data) when stated."""
    out: dict[str, bool] = {}
    if not profile.consent:  # the common case on the hot path: nothing ever stated
        return out
    for channel in CHANNELS:
        for purpose in PURPOSES:
            granted = consent_for(profile, channel, purpose)
            if granted is not None:
                out[f"{channel}:{purpose}"] = granted
    sharing = consent_for(profile, "*", SHARING)
    if sharing is not None:
        out[f"*:{SHARING}"] = sharing
    return out


def _address(profile: Profile, key: str) -> object:
    raw = profile.traits.get("address")
    return raw.get(key) if isinstance(raw, dict) else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


# How a fact is read from a profile at ``now``.
Reader = Callable[[Profile, dt.datetime], Any]
# How each fact is read (one place for :func:`facts_of`, :func:`fact_of` and :func:`reader`).
_FACT_OF: Final[Mapping[str, Reader]] = {
    "first_seen": lambda p, _: p.first_seen,
    "last_seen": lambda p, _: p.last_seen,
    "stage": lambda p, now: str(stage.stage_of(p, now)),  # its value (str: a C call)
    "email": lambda p, _: _text(p.traits.get("email")),
    "country": lambda p, _: _text(p.traits.get("country") or _address(p, "country")),
    "city": lambda p, _: _text(p.traits.get("city") or _address(p, "city")),
    "timezone": lambda p, _: _text(p.traits.get("timezone")),
    "order_count": lambda p, _: p.order_count,
    "revenue": lambda p, _: p.revenue,
    "last_order_at": lambda p, _: p.last_order_at,
    "cart_value": lambda p, _: p.cart.value,
    "cart_items": lambda p, _: p.cart.quantity,
    "sessions": lambda p, _: p.session_count,
    "last_channel": lambda p, _: p.last_channel,
    "top_category": lambda p, _: top_affinity(p, "category"),
    "nps": lambda p, _: p.nps.score if p.nps else None,
    "csat": lambda p, _: p.csat.score if p.csat else None,
    "traits": lambda p, _: dict(p.traits),
    "consent": lambda p, _: consent_facts(p),
}


# The profile's fields each fact is read from (none: the stage, which reads many and the
# time): a fact of two versions of a profile whose fields are the same objects is the same.
FACT_FIELDS: Final[Mapping[str, tuple[str, ...]]] = {
    "first_seen": ("first_seen",), "last_seen": ("last_seen",),
    **dict.fromkeys(("email", "country", "city", "timezone", "traits"), ("traits",)),
    "order_count": ("orders",), "revenue": ("revenue",),
    "last_order_at": ("orders", "last_order_id"),
    "cart_value": ("cart",), "cart_items": ("cart",),
    "sessions": ("sessions", "sessions_archived"), "last_channel": ("last_channel",),
    "top_category": ("affinity",), "nps": ("nps",), "csat": ("csat",), "consent": ("consent",),
}  # fmt: skip
# Every field of the profile a fact is read from.
FIELDS: Final = tuple(sorted({f for fields in FACT_FIELDS.values() for f in fields}))


def fact_kept(before: Profile, after: Profile, key: str) -> bool:
    """Whether the fact ``key`` is surely the same of both versions of a profile at one time
    (the fields it reads are the same objects: the reducer replaces what it changes); False
    when it may differ."""
    fields = FACT_FIELDS.get(key, ())
    return bool(fields) and all(getattr(before, f) is getattr(after, f) for f in fields)


def facts_of(profile: Profile, now: dt.datetime) -> dict[str, Any]:
    """The facts of a profile at ``now``, as the ``profiles`` columns hold them.

    Keys: every name in :data:`FACTS`, plus ``traits`` (dict) and ``consent``
    (:func:`consent_facts`).
    """
    return {key: read(profile, now) for key, read in _FACT_OF.items()}


def fact_of(profile: Profile, key: str, now: dt.datetime) -> Any:
    """One fact of :func:`facts_of`, computed alone."""
    return _FACT_OF[key](profile, now)


def reader(key: str) -> Reader:
    """How :func:`fact_of` reads the fact ``key`` (for a caller that reads it often)."""
    return _FACT_OF[key]


def rfm_score(score: str, facts: Mapping[str, Any], now: dt.datetime, config: ProfileConfig) -> int:
    """One R, F or M score (1-5) from the order facts, as :func:`orders.rfm` computes it."""
    last = facts.get("last_order_at")
    if last is None:
        return 1
    if score == "recency":
        return 5 - sum(1 for d in config.recency_days if now - last > dt.timedelta(days=d))
    if score == "frequency":
        orders = facts.get("order_count") or 0
        return 1 + sum(1 for n in config.frequency_orders if orders >= n)
    revenue = facts.get("revenue") or 0.0
    return 1 + sum(1 for m in config.monetary_total if revenue >= m)
