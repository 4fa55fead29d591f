"""The simulated retailer as a discrete-event simulation, driven in event time.

Happenings (a session starts, an abandoned cart is revisited, a message arrives, an order's
aftermath) wait in a priority queue keyed by time. :meth:`Simulation.advance` runs every
happening up to a moment and returns the Segment messages stamped up to it, in time order
(ties in the order they were made). Nothing reads the wall clock: ``start`` is given.

>>> import datetime as dt
>>> sim = Simulation(SimConfig(seed=7, customers=20, days=1,
...                            start=dt.datetime(2026, 3, 2, tzinfo=dt.UTC)))
>>> messages = sim.advance(sim.end)
>>> sim.done, all(m["timestamp"] <= "2026-03-03T00:00:00.000Z" for m in messages)
(True, True)
"""

from __future__ import annotations

import datetime as dt
import heapq
import random
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any, Final

from juncture.sim import errands, onsite, response, retail, visits, wire
from juncture.sim.behaviour import browse
from juncture.sim.calendar import waking
from juncture.sim.catalog import Catalog, build_catalog
from juncture.sim.personas import Customer, build_customers
from juncture.sim.response import Delivery
from juncture.sim.session import DAY, Basket, Session, Shopper, World
from juncture.sim.truth import CustomerTruth, GroundTruth

WEEK = 7 * DAY
# How often the shop's clients hand over what they have: taken a step at a time
# (:meth:`Simulation.iter_batches`), a step's messages are received at its end
# (:attr:`Simulation.now`), minutes after they happened, as a live shop receives them.
SEND_STEP: Final = dt.timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class SimConfig:
    """``start`` must be timezone-aware; the run covers ``days`` from it."""

    start: dt.datetime
    seed: int = 1
    customers: int = 2000
    days: int = 21
    products: int = 600


class Simulation:
    """A retailer and its customers; see the module docstring. With ``only`` (user ids), only
    those customers shop: each draws from generators of their own, so they do exactly what
    they do in the full run (see :mod:`juncture.sim.counterfactual`)."""

    def __init__(self, config: SimConfig, *, only: Collection[str] | None = None) -> None:
        if config.start.tzinfo is None:
            raise ValueError("SimConfig.start must be timezone-aware (UTC)")
        self.config = config
        self.catalog: Catalog = build_catalog(config.seed, config.products)
        self.customers: tuple[Customer, ...] = build_customers(
            config.seed, config.customers, self.catalog
        )
        self.ground_truth = GroundTruth()
        self._start = wire.to_ms(config.start)
        self._end = self._start + config.days * DAY
        self._clock = self._start
        self._seq = 0
        self._queue: list[tuple[int, int, str, Shopper, object]] = []
        self._out: list[tuple[int, int, dict[str, Any]]] = []
        self._errands: list[tuple[int, int, errands.Errand]] = []
        self._world = World(
            self.catalog,
            wire.MessageIds(config.seed),
            self.ground_truth,
            self._emit,
            self._schedule,
            self._errand,
        )
        self._shoppers = [
            self._shopper(c) for c in self.customers if only is None or c.user_id in only
        ]
        self._index = self._lookup()

    @property
    def start(self) -> dt.datetime:
        return wire.from_ms(self._start)

    @property
    def end(self) -> dt.datetime:
        return wire.from_ms(self._end)

    @property
    def now(self) -> dt.datetime:
        return wire.from_ms(self._clock)

    @property
    def done(self) -> bool:
        return self._clock >= self._end

    def advance(self, until: dt.datetime) -> list[dict[str, Any]]:
        """Run to ``until`` (capped at :attr:`end`); the messages stamped up to it, in order."""
        limit = min(wire.to_ms(until), self._end)
        while self._queue and self._queue[0][0] <= limit:
            ms, _, kind, shopper, payload = heapq.heappop(self._queue)
            self._happen(ms, kind, shopper, payload)
        self._clock = max(self._clock, limit)
        batch = []
        while self._out and self._out[0][0] <= limit:
            batch.append(heapq.heappop(self._out)[2])
        return batch

    def due_errands(self) -> list[errands.Errand]:
        """The shoppers' errands due by now (see :mod:`juncture.sim.errands`), in time order:
        for whoever plays the retailer's systems to carry out after :meth:`advance`."""
        due = []
        while self._errands and self._errands[0][0] <= self._clock:
            due.append(heapq.heappop(self._errands)[2])
        return due

    def iter_batches(self, step: dt.timedelta) -> Iterator[list[dict[str, Any]]]:
        """Advance by ``step`` until the end, yielding each step's messages."""
        while not self.done:
            yield self.advance(self.now + step)

    def deliver(self, message: Delivery) -> None:
        """A message reaches a customer at ``message.at`` (not before the clock)."""
        shopper = self._find(message)
        if shopper is None:
            self.ground_truth.reactions["unmatched"] += 1
            return
        self._schedule(max(wire.to_ms(message.at), self._clock), "delivery", shopper, message)

    def _happen(self, ms: int, kind: str, shopper: Shopper, payload: object) -> None:
        if kind == "session":
            self._session(ms, shopper)
        elif kind == "return" and isinstance(payload, Basket):
            self._revisit(ms, shopper, payload)
        elif kind == "aftercare" and isinstance(payload, tuple):
            visits.aftercare(self._world, shopper, ms, payload)
        elif kind == "delivery" and isinstance(payload, Delivery):
            if payload.template.startswith(errands.CONFIRM):
                errands.confirmed(self._world, shopper, payload, ms)
            elif payload.channel == "onsite":
                onsite.receive(self._world, shopper, payload, ms)
            else:
                response.receive(self._world, shopper, payload, ms)
        elif kind == "come" and isinstance(payload, Delivery):
            visits.arrive(self._world, shopper, ms, str(payload.named("store_code")))
            errands.came(self._world, shopper, payload, ms)
        elif kind == "reaction" and isinstance(payload, response.Reaction):
            response.react(self._world, shopper, payload, ms)
        elif isinstance(payload, tuple):
            visits.follow_up(self._world, shopper, ms, kind, payload)

    def _session(self, ms: int, shopper: Shopper) -> None:
        if shopper.lapse_ms is not None and ms >= shopper.lapse_ms:
            self.ground_truth.per_customer[shopper.customer.user_id].lapsed = True
            return
        start = max(ms, shopper.busy_until)
        channels, weights = zip(*shopper.customer.channels, strict=True)
        visits.visit(self._world, shopper, shopper.rng.choices(channels, weights)[0], start)
        shopper.busy_until = shopper.last_seen + 60_000
        self._plan_next(shopper, max(shopper.last_seen, start))

    def _revisit(self, ms: int, shopper: Shopper, basket: Basket) -> None:
        """Coming back on their own to a cart they left, if it is still what they left."""
        if shopper.abandoned is not basket:
            return
        rng = shopper.rng
        device = rng.choice([d for d in shopper.customer.devices if d.kind != "kiosk"])
        session = Session(self._world, shopper, "web", device, max(ms, shopper.busy_until), rng)
        self.ground_truth.sessions_by_channel["web"] += 1
        browse(session, basket.product_ids[:2])
        shopper.busy_until = shopper.last_seen + 60_000

    def _plan_next(self, shopper: Shopper, after: int) -> None:
        rate = shopper.customer.sessions_per_week / WEEK
        ms = waking(
            after + int(shopper.rng.expovariate(rate)), shopper.customer.city.timezone, shopper.rng
        )
        if ms < self._end:
            self._schedule(ms, "session", shopper, None)

    def _shopper(self, customer: Customer) -> Shopper:
        seed = self.config.seed
        shopper = Shopper(
            customer,
            random.Random(f"organic:{seed}:{customer.index}"),
            random.Random(f"reaction:{seed}:{customer.index}"),
            retail_rng=random.Random(f"retail:{seed}:{customer.index}"),
        )
        shopper.location_opt_in = retail.opts_in_to_location(shopper)
        if customer.known_at_start:
            shopper.logged_in.add(customer.devices[0].device_id)
        if customer.lapse_after_days is not None:
            shopper.lapse_ms = self._start + int(customer.lapse_after_days * DAY)
        self.ground_truth.per_customer[customer.user_id] = CustomerTruth(customer.persona)
        first = self._start + int(shopper.rng.uniform(0, WEEK / customer.sessions_per_week))
        self._plan_next(shopper, first - WEEK // 100)
        return shopper

    def _lookup(self) -> dict[str, Shopper]:
        index: dict[str, Shopper] = {}
        for shopper in self._shoppers:
            customer = shopper.customer
            index[customer.user_id] = shopper
            if customer.email is not None:
                index[customer.email] = shopper
            for device in customer.devices:
                if device.kind != "kiosk":
                    index[device.anonymous_id] = shopper
        return index

    def _find(self, delivery: Delivery) -> Shopper | None:
        for key in (delivery.user_id, delivery.email, delivery.anonymous_id):
            if key is not None and key in self._index:
                return self._index[key]
        return None

    def _emit(self, ms: int, message: dict[str, Any]) -> None:
        if ms <= self._end:
            self._seq += 1
            heapq.heappush(self._out, (ms, self._seq, message))

    def _errand(self, errand: errands.Errand) -> None:
        self._seq += 1
        heapq.heappush(self._errands, (errand.ms, self._seq, errand))

    def _schedule(self, ms: int, kind: str, shopper: Shopper, payload: object) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (ms, self._seq, kind, shopper, payload))
