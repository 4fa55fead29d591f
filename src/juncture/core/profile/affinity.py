"""Affinity: weighted, time-decayed interest per ``category:``, ``brand:`` and ``price:``
key, kept as scores at ``affinity_ref`` so that the order of events does not matter; read
with :func:`affinity_at`, :func:`top_affinity` and :func:`top_affinities`."""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable
from typing import Final

from juncture.core.profile.model import DEFAULT_CONFIG, Profile, ProfileConfig
from juncture.core.profile.step import Step

AFFINITY_DIMENSIONS: Final = ("category", "brand", "price")

_REBASE_HALF_LIVES: Final = 256.0


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


def add_affinity(s: Step, keys: Iterable[str], weight: float) -> None:
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


def affinity_keys(
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
