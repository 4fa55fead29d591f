"""``juncture demo``: a simulated retailer driven through the real pipeline, in event time.

The simulation (``juncture.sim``) produces Segment messages for a few thousand customers
over a few weeks; they enter through the same ingestion path as live traffic (validation,
dedup, quarantine, group commit) on a fresh embedded database, with a manual clock that
follows event time, so a month runs in seconds and two runs with one seed are identical.

The ready journeys are applied to that database as ``juncture journeys apply --library``
would, and the engine runs the stored catalog: what the API and ``juncture journeys`` show
afterwards is what ran. No segments are applied: the one ready journey that a segment
starts (``win_back``, on ``lapsed_90d``) waits for 90 days without an order, which a run of
a few weeks cannot reach.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import msgspec
import orjson

from juncture import wiring
from juncture.analytics import journeys as journey_report
from juncture.channels.base import DeliveryResult, OutboundMessage
from juncture.core import channels, messages
from juncture.core.journeys.arbitration import Cap, Policy, QuietHours
from juncture.demo import effects, retail
from juncture.demo.errands import Errands
from juncture.demo.pages import HELP_PAGES, PAGES, Pages
from juncture.demo.reminders import CartReminders
from juncture.demo.retail import MessageShelf
from juncture.recommend import attribution
from juncture.runtime import touchpoint_outcomes as outcomes
from juncture.runtime.clock import Clock, ManualClock
from juncture.runtime.dispatcher import Dispatcher
from juncture.settings import Settings
from juncture.sim import SEND_STEP, SimConfig, Simulation
from juncture.sim.response import Delivery

DEMO_START = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
DEMO_SOURCE = "demo"
STEP = SEND_STEP  # each step's messages received at its end, as a live shop's
DAY = dt.timedelta(days=1)
TRAIN_DAY = 10  # the simulated day the recommendations are trained again
CHANGE_EVERY = 3  # simulated days between the catalogue's delta feeds
FOLLOW_NEVER = 1e12  # seconds: the recommendations follow the log when run() says,
FOLLOW_HOURS = 6  # every this many simulated hours
# Seconds the pages' reads of the retailer's tables are kept at most: the run is the only
# writer of its database, and each of its writes (imports, orders, redemptions) forgets
# them at once, so nothing is kept past a change (a server keeps them 1 s by default).
READ_CACHE = 3600.0


@dataclass
class DemoSummary:
    seed: int
    customers: int
    days: int
    messages_sent: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    by_event: dict[str, int] = field(default_factory=dict)
    truth: dict[str, Any] = field(default_factory=dict)
    store: dict[str, Any] = field(default_factory=dict)
    delivered: dict[str, int] = field(default_factory=dict)
    journeys: dict[str, Any] = field(default_factory=dict)
    cart_reminders: dict[str, Any] = field(default_factory=dict)
    retail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "customers": self.customers,
            "days": self.days,
            "messages_sent": self.messages_sent,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "by_event": dict(sorted(self.by_event.items(), key=lambda kv: (-kv[1], kv[0]))),
            "simulation": self.truth,
            "store": self.store,
            "delivered": self.delivered,
            "journeys": self.journeys,
            "cart_reminders": self.cart_reminders,
            "retail": self.retail,
        }


Progress = Callable[[float], None]
CHANNELS = channels.NAMES
# What the demo's retailer allows: two marketing messages a day, five a week, none at night.
DEMO_POLICY = Policy(
    global_cap=Cap(day=2, week=5),
    quiet_hours=QuietHours(),
    global_control_percent=5.0,
)


def build(settings: Settings) -> tuple[wiring.Juncture, ManualClock]:
    """Juncture as the demo runs it: the ready journeys applied to the store (stamped at
    :data:`DEMO_START`, so one seed gives one database), the settings' identity and
    threshold choices with the demo's policy, and a manual clock at :data:`DEMO_START`
    that :func:`run` moves in event time."""
    clock = ManualClock(DEMO_START)
    # one seed, one run: recommendations follow the log every FOLLOW_HOURS simulated hours
    # (not each second of wall time: :func:`run` says when) and number their answers
    settings = settings.model_copy(
        update={
            "recs_refresh": FOLLOW_NEVER,
            "read_cache_seconds": READ_CACHE,
            "engine_mode": "inline",  # in event time: each event applied as the clock moves
        }
    )
    juncture = wiring.build(settings, clock=clock)
    counter = itertools.count(1)
    recs = juncture.recommendations()
    recs.tokens = lambda: f"{next(counter):08x}"
    recs.saved = None  # a training's models are not saved: it costs the demo seconds
    juncture.engine.config = wiring.engine_config(settings, policy=DEMO_POLICY)
    with juncture.store.journeys_at(clock.now) as applying:
        applying.apply_library()
    return juncture, clock


class SimulatedInbox:
    """A channel whose recipients are the simulated customers: a message reaches the customer
    it names, who may open it, click and come back to buy (as new events).

    The dispatcher sends concurrently, so messages are handed over in outbox order by
    :meth:`flush`: the customers' random reactions then do not depend on which send finished
    first, and one seed gives one run."""

    def __init__(self, sim: Simulation, clock: Clock, shelf: MessageShelf | None = None) -> None:
        self.sim, self.clock, self.shelf = sim, clock, shelf
        self.delivered: Counter[str] = Counter()
        self.recommending: Counter[str] = Counter()  # messages listing them, "arm:kind"
        self.reminders = CartReminders()  # what the cart messages showed, and when
        self._arrived: list[tuple[int, Delivery]] = []
        self.arrivals: list[Delivery] = []  # as they reached the simulation, and when

    def flush(self) -> None:
        for _, delivery in sorted(self._arrived, key=lambda pair: pair[0]):
            self.sim.deliver(delivery)
            self.arrivals.append(replace(delivery, at=max(delivery.at, self.sim.now)))
        self._arrived.clear()

    async def send(self, message: OutboundMessage) -> DeliveryResult:
        payload = message.payload
        cart = payload.get("cart") or {}
        journey = payload.get("journey") or {}
        profile = (payload.get("profile") or {}).get("id")
        listed = self.shelf.listed.pop(profile, None) if self.shelf and profile else None
        if listed is not None:
            self.recommending[f"{retail.arm(str(profile))}:{attribution.kind_of(listed[0])}"] += 1
        self._arrived.append((
            message.outbox_id,
            Delivery(
                at=self.clock.now(),
                channel=message.channel,
                template=message.template or message.channel,
                user_id=payload.get("user_id"),
                email=payload.get("email"),
                product_ids=tuple(i["product_id"] for i in cart.get("items", ())),
                journey=journey.get("id"),
                purpose=message.purpose,
                recommendation_id=listed[0] if listed else None,
                recommended=listed[1] if listed else (),
            ),
        ))  # fmt: skip
        self.delivered[message.channel] += 1
        self.reminders.record(message, self.clock.now())
        return DeliveryResult.sent(status_code=250)


def run(
    juncture: wiring.Juncture,
    clock: ManualClock,
    *,
    seed: int = 1,
    customers: int = 1000,
    days: int = 21,
    progress: Progress | None = None,
    pages: float = PAGES,
    help_pages: float = HELP_PAGES,
) -> DemoSummary:
    """Simulate and ingest; ``progress`` gets the fraction of simulated time done; ``pages``
    is the share of shoppers whose product, cart and app pages ask for touchpoints,
    ``help_pages`` whose store and help pages do (:mod:`juncture.demo.pages`)."""
    sim = Simulation(SimConfig(start=DEMO_START, seed=seed, customers=customers, days=days))
    summary = DemoSummary(seed=seed, customers=customers, days=days)
    sent: Counter[str] = Counter()
    total = (sim.end - sim.start).total_seconds()
    shelf = MessageShelf(juncture.recommendations())
    inbox = SimulatedInbox(sim, clock, shelf)
    dispatcher = Dispatcher(
        juncture.store.outbox, dict.fromkeys(CHANNELS, inbox), clock,
        templates=juncture.templates(), shelf=shelf,
    )  # fmt: skip
    served = Pages(juncture, clock, pages, help_pages)
    helped = Errands(juncture, clock)
    tables = retail.load_tables(juncture, sim, clock)
    announced, day = 0, 0
    loop = asyncio.new_event_loop()
    try:
        for batch in sim.iter_batches(STEP):
            clock.set(max(clock.now(), sim.now))
            if (sim.now - sim.start) // DAY > day:
                day = (sim.now - sim.start) // DAY
                announced += _new_day(juncture, sim, day, clock)
            if sim.now.hour % FOLLOW_HOURS == 0 and sim.now.minute < STEP.seconds // 60:
                juncture.recommendations().follow()
            if batch:
                _ingest(juncture, batch, summary)
                sent.update(m.get("event") or m["type"] for m in batch)
                for delivery in served.serve(batch):
                    sim.deliver(delivery)
                    inbox.arrivals.append(replace(delivery, at=max(delivery.at, sim.now)))
            else:
                juncture.tick_sync()  # fire timers that fell due in a quiet stretch
            for errand in sim.due_errands():
                if (confirmed := helped.run(errand)) is not None:
                    sim.deliver(confirmed)
            _dispatch(loop, dispatcher, inbox)
            if progress is not None:
                progress(min(1.0, (sim.now - sim.start).total_seconds() / total))
    finally:
        loop.close()
    summary.by_event = dict(sent)
    summary.delivered = dict(inbox.delivered)
    summary.cart_reminders = inbox.reminders.figures(sim.ground_truth.purchases)
    summary.truth = sim.ground_truth.summary()
    summary.store = juncture.store.stats()
    rows = juncture.store.journey_report()
    summary.journeys = journey_report.report(rows)
    profiles = {e.profile_id for e in rows.entries} | set(rows.redirects)
    effects.annotate(
        summary.journeys["lift"], sim, inbox.arrivals, rows,
        juncture.store.profiles.identifiers(sorted(profiles)),
    )  # fmt: skip
    summary.journeys["experiments"] = effects.decisions(juncture, clock.now())
    summary.retail = {
        "tables": tables,
        "announced": announced,
        "asked": dict(served.asked),
        "answered": dict(served.answered),
        "unanswered": dict(sorted(served.unanswered.items())),
        "errands": dict(helped.done),
        "refused": dict(helped.refused),
        "training": helped.training(dt.timedelta(days=days)),
        "messages_recommending": dict(inbox.recommending),
        **outcomes.report(juncture.store.outbox, juncture.store.recommend),
    }
    return summary


def _new_day(juncture: wiring.Juncture, sim: Simulation, day: int, clock: Clock) -> int:
    """A new simulated day: every :data:`CHANGE_EVERY` days the catalogue's changes; on day
    :data:`TRAIN_DAY` the recommendations trained again on everything stored so far (before
    and after, they follow the log)."""
    announced = retail.change_tables(juncture, sim, day, clock) if day % CHANGE_EVERY == 0 else 0
    if day == TRAIN_DAY:
        juncture.recommendations().train()
    return announced


def _dispatch(
    loop: asyncio.AbstractEventLoop, dispatcher: Dispatcher, inbox: SimulatedInbox
) -> None:
    """Send everything due, in rounds of at most 1,000; the simulated customers get their
    messages in outbox order. Most steps have nothing due: then the loop is not started."""
    if not dispatcher.anything_due():
        return
    while loop.run_until_complete(dispatcher.run_once(limit=1000)).claimed == 1000:
        inbox.flush()
    inbox.flush()


def _ingest(juncture: wiring.Juncture, batch: list[dict[str, Any]], summary: DemoSummary) -> None:
    envelope = messages.Envelope(
        messages=[msgspec.Raw(orjson.dumps(m)) for m in batch], single=False
    )
    outcome = juncture.ingestor.ingest_sync(envelope, DEMO_SOURCE)
    summary.messages_sent += len(batch)
    summary.stored += outcome.receipt.stored
    summary.duplicates += outcome.receipt.duplicates
    summary.rejected += len(outcome.rejected)
