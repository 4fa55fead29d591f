"""What really happened in a simulation, including what no event reveals.

The engine sees only the messages; tests and the demo summary compare what it inferred with
this record: why a cart was abandoned, which orders followed a message, who lapsed.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

RECOMMENDED = ("lists", "expected_clicks", "clicks", "orders", "revenue_usd")


@dataclass(frozen=True, slots=True)
class Abandonment:
    """A session that ended with a non-empty cart; ``reason`` never appears in events."""

    user_id: str
    at: dt.datetime
    product_ids: tuple[str, ...]
    reason: str  # "price" | "shipping" | "distraction"
    stage: str  # "cart" | "checkout"


@dataclass(frozen=True, slots=True)
class Purchase:
    """An order; ``journey`` names the delivered message whose click led to it, if any."""

    user_id: str
    order_id: str
    at: dt.datetime
    channel: str
    total: float
    currency: str
    product_ids: tuple[str, ...]
    journey: str | None


@dataclass(slots=True)
class CustomerTruth:
    """Running counts for one customer."""

    persona: str
    sessions: int = 0
    orders: int = 0
    revenue_usd: float = 0.0
    abandonments: int = 0
    deliveries: int = 0
    opened: int = 0
    clicked: int = 0
    unsubscribed: bool = False
    lapsed: bool = False


@dataclass(slots=True)
class GroundTruth:
    """Everything recorded so far; ``reactions`` counts delivered, opened, clicked, ..."""

    abandonments: list[Abandonment] = field(default_factory=list)
    purchases: list[Purchase] = field(default_factory=list)
    per_customer: dict[str, CustomerTruth] = field(default_factory=dict)
    reactions: Counter[str] = field(default_factory=Counter)
    sessions_by_channel: Counter[str] = field(default_factory=Counter)
    # On-site answers (touchpoint or recommendation kind): shown, missed (the shopper had
    # left), clicked; and per recommendation kind, ``expected_clicks``: the sum over lists
    # shown of the true chance that the shopper clicks one, from their tastes.
    onsite: dict[str, Counter[str]] = field(default_factory=dict)
    recommended: dict[str, dict[str, float]] = field(default_factory=dict)

    def seen(self, kind: str, what: str) -> None:
        self.onsite.setdefault(kind, Counter())[what] += 1

    def recommendation(self, kind: str, **figures: float) -> None:
        found = self.recommended.setdefault(kind, dict.fromkeys(RECOMMENDED, 0.0))
        for name, value in figures.items():
            found[name] += value

    def order_times(self) -> dict[str, list[dt.datetime]]:
        """Each customer's order instants (by user id), in time order."""
        out: dict[str, list[dt.datetime]] = {}
        for purchase in sorted(self.purchases, key=lambda p: p.at):
            out.setdefault(purchase.user_id, []).append(purchase.at)
        return out

    def abandonment_reasons(self) -> Counter[str]:
        return Counter(a.reason for a in self.abandonments)

    def buyers_since(self, user_ids: set[str], since: dt.datetime) -> set[str]:
        """Which of ``user_ids`` ordered at or after ``since``."""
        return {p.user_id for p in self.purchases if p.user_id in user_ids and p.at >= since}

    def summary(self) -> dict[str, Any]:
        """Aggregate counts, free of personal data, for logs and the demo."""
        return {
            "customers": len(self.per_customer),
            "sessions": dict(self.sessions_by_channel),
            "purchases": len(self.purchases),
            "revenue_usd": round(sum(c.revenue_usd for c in self.per_customer.values()), 2),
            "abandonments": len(self.abandonments),
            "abandonment_reasons": dict(self.abandonment_reasons()),
            "purchases_after_message": sum(p.journey is not None for p in self.purchases),
            "reactions": dict(self.reactions),
            "lapsed": sum(c.lapsed for c in self.per_customer.values()),
            "unsubscribed": sum(c.unsubscribed for c in self.per_customer.values()),
            "onsite": {k: dict(v) for k, v in sorted(self.onsite.items())},
            "recommended": {k: {n: round(x, 2) for n, x in v.items()}
                            for k, v in sorted(self.recommended.items())},
        }  # fmt: skip
