"""Simulated customers: who they are, where, what they like and how they may be reached.

A :class:`Customer` is fixed for the run (frozen); what changes during the simulation (cart,
identification, fatigue) lives in :mod:`juncture.sim.behaviour`. Contact details use
reserved example domains and fictional phone ranges, so no real person is ever addressed.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from typing import Final, NamedTuple

from juncture.sim.catalog import Catalog


class City(NamedTuple):
    name: str
    country: str
    timezone: str
    currency: str
    phone_prefix: str
    store_id: str | None


CITIES: Final = (
    City("New York", "US", "America/New_York", "USD", "+1212555", "store-nyc"),
    City("Chicago", "US", "America/Chicago", "USD", "+1312555", "store-chi"),
    City("Los Angeles", "US", "America/Los_Angeles", "USD", "+1213555", None),
    City("Austin", "US", "America/Chicago", "USD", "+1512555", None),
    City("London", "GB", "Europe/London", "GBP", "+447700900", "store-lon"),
    City("Manchester", "GB", "Europe/London", "GBP", "+447700901", None),
    City("Berlin", "DE", "Europe/Berlin", "EUR", "+4915550", "store-ber"),
    City("Paris", "FR", "Europe/Paris", "EUR", "+3361555", None),
    City("Madrid", "ES", "Europe/Madrid", "EUR", "+3460055", None),
    City("Amsterdam", "NL", "Europe/Amsterdam", "EUR", "+3160055", None),
)
CITY_WEIGHTS: Final = (16, 10, 10, 5, 16, 6, 12, 10, 8, 7)

AGE_BANDS: Final = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
AGE_WEIGHTS: Final = (14, 27, 24, 17, 11, 7)
FIRST_NAMES: Final = (
    "alex",
    "sam",
    "maria",
    "james",
    "lena",
    "tom",
    "sofia",
    "lucas",
    "emma",
    "noah",
    "mia",
    "leo",
    "ava",
    "omar",
    "nina",
    "ivan",
    "chloe",
    "ben",
    "zoe",
    "yuki",
)
LAST_NAMES: Final = (
    "smith",
    "garcia",
    "muller",
    "martin",
    "rossi",
    "jansen",
    "brown",
    "dubois",
    "novak",
    "kim",
    "lopez",
    "schmidt",
    "walker",
    "moreau",
    "silva",
    "evans",
)
EMAIL_DOMAINS: Final = ("example.com", "example.org", "example.net")
CHANNELS: Final = ("web", "app", "store", "email", "social")
# The share of reachable customers who take marketing, per opt-in channel the simulated
# customers state consent for (a channel of juncture.core.channels; others: never stated).
MARKETING_ODDS: Final = {"email": 0.6, "sms": 0.3, "push": 0.5}
CONSENT_CHANNELS: Final = tuple(MARKETING_ODDS)
PURPOSES: Final = ("marketing", "transactional")


class Persona(NamedTuple):
    """An archetype: how often they come, what moves them, how likely they lapse."""

    name: str
    weight: int
    sessions_per_week: float
    price_sensitivity: tuple[float, float]
    brand_loyalty: tuple[float, float]
    lapse_chance: float
    channels: tuple[float, float, float, float, float]  # web, app, store, email, social


PERSONAS: Final = (
    Persona("bargain hunter", 22, 3.0, (0.7, 1.0), (0.0, 0.3), 0.15, (5, 2, 1, 3, 3)),
    Persona("brand loyalist", 14, 2.0, (0.1, 0.4), (0.7, 1.0), 0.05, (3, 4, 2, 2, 1)),
    Persona("window shopper", 24, 2.5, (0.4, 0.8), (0.1, 0.5), 0.3, (4, 2, 0.5, 1, 4)),
    Persona("busy parent", 14, 1.6, (0.4, 0.7), (0.3, 0.7), 0.1, (3, 5, 1, 2, 1)),
    Persona("in-store regular", 12, 1.4, (0.2, 0.6), (0.4, 0.8), 0.08, (1, 1, 6, 1, 0.5)),
    Persona("big spender", 6, 1.8, (0.0, 0.25), (0.3, 0.8), 0.05, (3, 3, 2, 2, 1)),
    Persona("one-off gifter", 8, 0.7, (0.3, 0.7), (0.0, 0.3), 0.5, (5, 1, 1, 1, 2)),
)


@dataclass(frozen=True, slots=True)
class Device:
    """A browser or app install: ``anonymous_id`` is the cookie or install id it reports."""

    device_id: str
    kind: str  # "mobile" | "desktop" | "tablet" | "kiosk"
    anonymous_id: str
    app: bool


@dataclass(frozen=True, slots=True)
class Customer:
    """One simulated person. ``user_id`` is what the retailer calls them once known."""

    index: int
    user_id: str
    persona: str
    age_band: str
    gender: str | None
    city: City
    price_sensitivity: float
    brand_loyalty: float
    sessions_per_week: float
    interests: tuple[tuple[str, float], ...]  # leaf category id, weight (sums to 1)
    brands: tuple[str, ...]
    channels: tuple[tuple[str, float], ...]
    devices: tuple[Device, ...]
    consent: tuple[tuple[str, str, bool], ...]  # channel, purpose, granted
    email: str | None
    phone: str | None
    loyalty_id: str | None
    known_at_start: bool
    lapse_after_days: float | None

    def consents(self, channel: str, purpose: str = "marketing") -> bool:
        return any(c == channel and p == purpose and ok for c, p, ok in self.consent)

    def consent_traits(self) -> dict[str, dict[str, bool]]:
        """Consent as identify traits write it: ``{"email": {"marketing": true, ...}}``."""
        out: dict[str, dict[str, bool]] = {}
        for channel, purpose, granted in self.consent:
            out.setdefault(channel, {})[purpose] = granted
        return out


def build_customers(seed: int, count: int, catalog: Catalog) -> tuple[Customer, ...]:
    """``count`` customers, the same for a seed and catalogue."""
    rng = random.Random(f"customers:{seed}")
    leaves = [c.category_id for c in catalog.leaves]
    return tuple(_customer(rng, index, leaves, catalog) for index in range(count))


def _customer(rng: random.Random, index: int, leaves: list[str], catalog: Catalog) -> Customer:
    persona = rng.choices(PERSONAS, weights=[p.weight for p in PERSONAS])[0]
    city = rng.choices(CITIES, weights=CITY_WEIGHTS)[0]
    devices = _devices(rng, city, persona)
    email = _email(rng, index) if rng.random() < 0.85 else None
    phone = f"{city.phone_prefix}{rng.randint(0, 999):03d}" if rng.random() < 0.45 else None
    in_store = persona.channels[2] > 2 or (city.store_id is not None and rng.random() < 0.4)
    loyalty = f"LC{rng.randint(10_000_000, 99_999_999)}" if in_store or rng.random() < 0.2 else None
    return Customer(
        index=index,
        user_id=f"cus_{uuid.UUID(int=rng.getrandbits(128)).hex[:12]}",
        persona=persona.name,
        age_band=rng.choices(AGE_BANDS, weights=AGE_WEIGHTS)[0],
        gender=rng.choice(("female", "male", "female", "male", "non-binary", None)),
        city=city,
        price_sensitivity=round(rng.uniform(*persona.price_sensitivity), 3),
        brand_loyalty=round(rng.uniform(*persona.brand_loyalty), 3),
        sessions_per_week=persona.sessions_per_week * rng.uniform(0.5, 1.6),
        interests=_interests(rng, leaves),
        brands=tuple(rng.sample(sorted({p.brand for p in catalog.products}), k=3)),
        channels=_channels(rng, persona, city, devices),
        devices=devices,
        consent=_consent(rng, email is not None, phone is not None, devices),
        email=email,
        phone=phone,
        loyalty_id=loyalty,
        known_at_start=rng.random() < 0.45,
        lapse_after_days=rng.uniform(2, 18) if rng.random() < persona.lapse_chance else None,
    )


def _interests(rng: random.Random, leaves: list[str]) -> tuple[tuple[str, float], ...]:
    """A few favourite leaves with most of the weight; shoppers stray, but rarely."""
    favourites = rng.sample(leaves, k=rng.randint(2, 5))
    raw = [(leaf, rng.paretovariate(1.2)) for leaf in favourites]
    total = sum(weight for _, weight in raw)
    return tuple((leaf, round(weight / total, 4)) for leaf, weight in raw)


def _devices(rng: random.Random, city: City, persona: Persona) -> tuple[Device, ...]:
    kinds = ["mobile"]
    if rng.random() < 0.7:
        kinds.append("desktop")
    if rng.random() < 0.25:
        kinds.append("tablet")
    devices = []
    for kind in kinds:
        app = kind != "desktop" and rng.random() < persona.channels[1] / 6
        devices.append(
            Device(
                device_id=f"dev-{uuid.UUID(int=rng.getrandbits(128)).hex[:16]}",
                kind=kind,
                anonymous_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                app=app,
            )
        )
    if city.store_id is not None and rng.random() < 0.15:
        devices.append(kiosk(city.store_id))
    return tuple(devices)


def kiosk(store_id: str) -> Device:
    """The in-store kiosk: one device and one anonymous id shared by every shopper."""
    return Device(f"kiosk-{store_id}", "kiosk", f"anon-kiosk-{store_id}", app=False)


def _channels(
    rng: random.Random, persona: Persona, city: City, devices: tuple[Device, ...]
) -> tuple[tuple[str, float], ...]:
    weights = list(persona.channels)
    if not any(d.app for d in devices):
        weights[1] = 0.0
    if city.store_id is None:
        weights[2] = 0.0
    weights = [w * rng.uniform(0.6, 1.4) for w in weights]
    total = sum(weights)
    return tuple((ch, round(w / total, 4)) for ch, w in zip(CHANNELS, weights, strict=True))


def _consent(
    rng: random.Random, has_email: bool, has_phone: bool, devices: tuple[Device, ...]
) -> tuple[tuple[str, str, bool], ...]:
    reachable = {"email": has_email, "sms": has_phone, "push": any(d.app for d in devices)}
    out = []
    for channel in CONSENT_CHANNELS:
        ok = reachable[channel]
        out.append((channel, "marketing", ok and rng.random() < MARKETING_ODDS[channel]))
        out.append((channel, "transactional", ok))
    return tuple(out)


def _email(rng: random.Random, index: int) -> str:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    return f"{first}.{last}{index}@{rng.choice(EMAIL_DOMAINS)}"
