"""A shopper's running state and the session that writes their messages.

A :class:`Shopper` is the mutable state of one :class:`~juncture.sim.personas.Customer`. A
:class:`Session` writes that shopper's messages on one channel and device, moving its own
cursor forward as a person would (seconds to minutes between steps). Every draw comes from
the shopper's own generators, so one shopper's reaction to a message never changes what
another shopper does.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from juncture.sim import wire
from juncture.sim.catalog import Catalog
from juncture.sim.personas import Customer, Device
from juncture.sim.truth import GroundTruth

MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR
FREE_SHIPPING_USD = 75.0

Emit = Callable[[int, dict[str, Any]], None]
Schedule = Callable[[int, str, "Shopper", object], None]
Ask = Callable[[Any], None]  # an errand for the retailer's systems (juncture.sim.errands)


@dataclass(slots=True)
class Basket:
    """An abandoned cart as the shopper remembers it."""

    product_ids: tuple[str, ...]
    reason: str
    ms: int


@dataclass(slots=True)
class Shopper:
    """What changes about a customer while the simulation runs."""

    customer: Customer
    rng: random.Random
    react_rng: random.Random
    logged_in: set[str] = field(default_factory=set)
    cart: list[str] = field(default_factory=list)
    abandoned: Basket | None = None
    viewed: list[str] = field(default_factory=list)
    orders: int = 0
    busy_until: int = 0
    last_seen: int = -DAY
    lapse_ms: int | None = None
    unsubscribed: set[str] = field(default_factory=set)
    told_unsubscribed: dict[str, int] = field(default_factory=dict)  # channel -> ms sent

    def consent_traits(self) -> dict[str, dict[str, bool]]:
        """The persona's consent less the marketing the shopper has unsubscribed from, and
        the use of their location in stores when they allowed it (in the app)."""
        consent = self.customer.consent_traits()
        for channel in self.unsubscribed:
            if channel in consent:
                consent[channel]["marketing"] = False
        if self.location_opt_in:
            consent["location"] = {"presence": True}
        return consent

    received: list[int] = field(default_factory=list)
    social_device: Device | None = None
    # What the shopper does with the retailer's tables (wish lists, questions), drawn from
    # a generator of its own so that the rest of their behaviour stays as it was.
    retail_rng: random.Random = field(default_factory=lambda: random.Random(0))
    location_opt_in: bool = False
    told_location: bool = False  # the app has told the retailer the location opt-in
    wishes: list[str] = field(default_factory=list)
    coupon: tuple[str, str, int] | None = None  # a coupon clicked: id, touchpoint, use by (ms)
    registered: set[str] = field(default_factory=set)  # store events registered for


@dataclass(slots=True)
class World:
    """What a session writes to: the catalogue, the message stream, the queue, the truth."""

    catalog: Catalog
    ids: wire.MessageIds
    truth: GroundTruth
    emit: Emit
    schedule: Schedule
    errand: Ask = lambda _errand: None


@dataclass(slots=True)
class Session:
    """One visit. ``rng`` is the shopper's organic or reaction generator."""

    world: World
    shopper: Shopper
    channel: str
    device: Device
    ms: int
    rng: random.Random
    campaign: dict[str, str] | None = None
    journey: str | None = None
    screen_app: bool = False

    @property
    def user_id(self) -> str | None:
        known = self.device.device_id in self.shopper.logged_in
        return self.shopper.customer.user_id if known else None

    def wait(self, low_s: float, high_s: float) -> None:
        self.ms += int(self.rng.uniform(low_s, high_s) * 1000)

    def context(self, url: str | None) -> dict[str, Any]:
        customer = self.shopper.customer
        ctx: dict[str, Any] = {
            "channel": self.channel,
            "device": {"id": self.device.device_id, "type": self.device.kind},
            "timezone": customer.city.timezone,
            "library": wire.LIBRARY,
        }
        if url is not None:
            ctx["page"] = {"url": url}
        if self.campaign is not None:
            ctx["campaign"] = self.campaign
        if self.user_id is not None and customer.email is not None:
            ctx["traits"] = {"email": customer.email}
        elif self.device.kind == "pos" and customer.loyalty_id is not None:
            ctx["traits"] = {"loyalty_id": customer.loyalty_id}  # the card shown at the till
        return ctx

    def send(
        self,
        kind: str,
        *,
        event: str | None = None,
        name: str | None = None,
        properties: dict[str, Any] | None = None,
        traits: dict[str, Any] | None = None,
        url: str | None = None,
    ) -> None:
        msg = wire.message(
            self.world.ids,
            kind,
            self.ms,
            user_id=self.user_id,
            anonymous_id=self.device.anonymous_id,
            context=self.context(url),
            event=event,
            name=name,
            properties=properties,
            traits=traits,
        )
        self.world.emit(self.ms, msg)
        self.shopper.last_seen = self.ms

    def track(self, event: str, properties: dict[str, Any], url: str | None = None) -> None:
        self.send("track", event=event, properties=properties, url=url)

    def view(self, name: str, url: str, properties: dict[str, Any] | None = None) -> None:
        """A ``page`` on the web, a ``screen`` in the app."""
        props = {"url": url, **(properties or {})}
        self.send("screen" if self.screen_app else "page", name=name, properties=props, url=url)

    def identify(self) -> None:
        """Log in (or sign up): the device now speaks with the shopper's userId."""
        customer = self.shopper.customer
        self.shopper.logged_in.add(self.device.device_id)
        traits: dict[str, Any] = {
            "consent": self.shopper.consent_traits(),
            "city": customer.city.name,
            "country": customer.city.country,
        }
        for key, value in (
            ("email", customer.email),
            ("phone", customer.phone),
            ("loyalty_id", customer.loyalty_id),
        ):
            if value is not None:
                traits[key] = value
        self.send("identify", traits=traits)

    @property
    def currency(self) -> str:
        return self.shopper.customer.city.currency
