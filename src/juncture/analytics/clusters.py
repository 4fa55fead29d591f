"""Automatic segments: k-means over behavioural features, each cluster described in words.

Features per live profile (:func:`features`): recency in days, orders, revenue and average
order value (log scaled), sessions, the share of category affinity per top-level category,
the channels used, and a price level from the price-band affinity (0: cheapest band,
1: dearest; price sensitivity is a low level). Features are standardized, clustered with
scikit-learn's ``KMeans`` (seeded: the same data and seed give the same clusters), and each
cluster is described by the features whose cluster mean lies furthest, in standard
deviations, from the mean of all profiles.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from juncture.core.profile.affinity import price_band
from juncture.core.profile.model import DEFAULT_CONFIG, Profile

CATEGORIES: Final = ("Women", "Men", "Kids", "Home", "Beauty", "Sports", "Electronics")
CHANNELS: Final = ("web", "app", "store", "email", "sms", "push")
NO_ORDER_DAYS: Final = 365.0
FEATURES: Final = (
    "recency_days",
    "orders",
    "revenue",
    "aov",
    "sessions",
    "price_level",
    *(f"category:{c}" for c in CATEGORIES),
    *(f"channel:{c}" for c in CHANNELS),
)

# How a feature reads when the cluster is above (first) or below (second) the mean.
_WORDS: Final = {
    "recency_days": ("have not ordered for a long time", "ordered recently"),
    "orders": ("order often", "order rarely"),
    "revenue": ("spend a lot", "spend little"),
    "aov": ("buy big baskets", "buy small baskets"),
    "sessions": ("visit often", "visit rarely"),
    "price_level": ("prefer premium prices", "are price-sensitive"),
    **{f"category:{c}": (f"favour {c}", f"seldom look at {c}") for c in CATEGORIES},
    **{f"channel:{c}": (f"shop through {c}", f"seldom use {c}") for c in CHANNELS},
}


@dataclass(frozen=True, slots=True)
class Cluster:
    """One automatic segment: its members, a name and a plain-words description."""

    index: int
    name: str
    description: str
    members: tuple[str, ...]
    traits: tuple[tuple[str, float], ...]  # (feature, z-score of the cluster mean), strongest first


def features(profile: Profile, now: dt.datetime) -> list[float]:
    """The behavioural feature vector of a profile, in the order of :data:`FEATURES`."""
    last = profile.last_order_at
    recency = NO_ORDER_DAYS if last is None else min(NO_ORDER_DAYS, (now - last).days)
    shares = _category_shares(profile)
    return [
        float(recency),
        math.log1p(profile.order_count),
        math.log1p(profile.revenue),
        math.log1p(profile.aov),
        math.log1p(profile.session_count),
        _price_level(profile),
        *(shares.get(c, 0.0) for c in CATEGORIES),
        *(1.0 if c in profile.channels else 0.0 for c in CHANNELS),
    ]


def _category_shares(profile: Profile) -> dict[str, float]:
    totals: dict[str, float] = {}
    for key, score in profile.affinity.items():
        if key.startswith("category:") and score > 0:
            top = key[len("category:") :].split(" > ")[0]
            totals[top] = totals.get(top, 0.0) + score
    whole = sum(totals.values())
    return {k: v / whole for k, v in totals.items()} if whole else {}


def _price_level(profile: Profile) -> float:
    bands = DEFAULT_CONFIG.price_bands
    names = [price_band(p) for p in (0.0, *bands)]
    weighted = total = 0.0
    for index, name in enumerate(names):
        score = profile.affinity.get(f"price:{name}", 0.0)
        weighted += index * score
        total += score
    return weighted / total / len(bands) if total else 0.5


def cluster(
    ids: Sequence[str], matrix: Sequence[Sequence[float]], k: int, seed: int = 0
) -> list[Cluster]:
    """Cluster profiles (one row of :func:`features` each) into ``k`` described groups,
    largest first."""
    if len(ids) < k:
        raise ValueError(f"{len(ids)} profiles cannot make {k} clusters")
    from sklearn.cluster import KMeans  # slow to import; only needed here

    data = np.asarray(matrix, dtype=float)
    mean, std = data.mean(axis=0), data.std(axis=0)
    std[std == 0] = 1.0
    scaled = (data - mean) / std
    distinct = len(np.unique(scaled, axis=0))
    if distinct < k:
        raise ValueError(f"only {distinct} different customers: too few for {k} clusters")
    labels = KMeans(n_clusters=k, random_state=seed, n_init=10).fit_predict(scaled)
    groups = []
    for label in range(k):
        rows = labels == label
        z = scaled[rows].mean(axis=0)
        order = sorted(range(len(FEATURES)), key=lambda i: (-abs(z[i]), i))
        traits = tuple((FEATURES[i], round(float(z[i]), 3)) for i in order[:5])
        members = tuple(sorted(i for i, keep in zip(ids, rows, strict=True) if keep))
        groups.append((members, traits))
    groups.sort(key=lambda g: (-len(g[0]), g[0]))
    return _distinct([_described(i, members, traits) for i, (members, traits) in enumerate(groups)])


def _distinct(found: list[Cluster]) -> list[Cluster]:
    """Clusters whose names would repeat (two groups far from the mean in the same first
    two ways) named by more of their traits, else numbered: segments need names apart."""
    names = [c.name for c in found]
    for n, c in enumerate(found):
        if names.count(c.name) == 1:
            continue
        phrases = [_phrase(f, z) for f, z in c.traits]
        longer = (
            "Customers who " + " and ".join(phrases[:size]) for size in range(3, len(phrases) + 1)
        )
        names[n] = next((x for x in longer if x not in names), f"{c.name} ({n + 1})")
    return [dataclasses.replace(c, name=name) for c, name in zip(found, names, strict=True)]


def _described(
    index: int, members: tuple[str, ...], traits: tuple[tuple[str, float], ...]
) -> Cluster:
    phrases = [_phrase(f, z) for f, z in traits[:3] if abs(z) >= 0.25]
    if not phrases:
        phrases = ["are close to the average customer"]
    name = "Customers who " + " and ".join(phrases[:2])
    detail = "; ".join(f"{f} {z:+.2f} sd" for f, z in traits[:3])
    description = f"{len(members)} customers who {', '.join(phrases)} ({detail} from the mean)."
    return Cluster(index, name, description, members, traits)


def _phrase(feature: str, z: float) -> str:
    above, below = _WORDS[feature]
    return above if z > 0 else below
