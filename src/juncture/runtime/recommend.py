"""Recommendations at run time: train the models from the stored events and the catalogue,
keep them current from the log between trainings, and answer for one shopper.

:class:`Recommendations` holds the latest :class:`~juncture.recommend.models.Models`.
:meth:`~Recommendations.train` builds new ones (``juncture recs train``, the admin
endpoint), swaps them in whole and saves them in the database. The models are trained once
per deployment, whatever the number of servers on one database: a training holds the
database's lease (:meth:`~juncture.store.recommend_models.ModelStore.lease`), and
:class:`Trainer` (:meth:`~Recommendations.keep_current`) takes the models another process
saved when they are newer than its own, and trains only when they are due and no other
process is training. Between trainings, each answer first reads the events stored since
the last read (at most once per ``refresh`` seconds) into best-sellers, trending and
purchased-together; people-like-you reads the shopper's history from their profile as it
is now.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field

from juncture.core import retail
from juncture.core.profile.consent import consent_for
from juncture.core.profile.model import Profile
from juncture.recommend import attribution, persist
from juncture.recommend import interactions as acts
from juncture.recommend.answer import answer
from juncture.recommend.base import Ask, Pick
from juncture.recommend.embeddings import TFIDF
from juncture.recommend.filters import Filters, Rule
from juncture.recommend.interactions import Interaction, Item
from juncture.recommend.models import Models, train
from juncture.runtime.clock import Clock
from juncture.runtime.periodic import Periodic
from juncture.store.catalog import Catalog
from juncture.store.placements import Placements
from juncture.store.recommend import ProductEvent, RecommendReads
from juncture.store.recommend_models import ModelStore, Saved

log = logging.getLogger("juncture.recommend")
PERSONALISATION = "personalization"  # the consent purpose a shopper may refuse
MODEL = "all"  # the name the models of every kind are saved under


@dataclass(frozen=True, slots=True)
class RecsConfig:
    """``refresh``: seconds between reads of new events; ``look``: seconds between looks for
    a newer training saved by another process; ``max_per_brand``: diversity;
    ``rules``: the merchant's boost and bury rules; ``consumables``: category prefixes whose
    products are recommended again after a purchase; ``bought_within``: how long a bought
    product stays left out; ``similar``: how similar products are compared."""

    refresh: float = 1.0
    look: float = 30.0
    max_per_brand: int | None = 3
    rules: tuple[Rule, ...] = ()
    consumables: tuple[str, ...] = ()
    bought_within: dt.timedelta = dt.timedelta(days=90)
    similar: str = TFIDF


@dataclass(frozen=True, slots=True)
class Shopper:
    """Who asks: their profile (None: unknown or anonymous) and whether it may be used."""

    profile: Profile | None = None
    personal: bool = True


@dataclass(frozen=True, slots=True)
class Result:
    recommendation_id: str
    kind: str
    picks: list[Pick]
    items: dict[str, Item]
    personalised: bool
    trained_at: dt.datetime | None = None
    extra: dict[str, object] = field(default_factory=dict)


class Recommendations:
    """The models of one store, and the answers from them."""

    def __init__(
        self,
        reads: RecommendReads,
        placements: Placements,
        catalog: Catalog,
        clock: Clock,
        config: RecsConfig | None = None,
        *,
        saved: ModelStore | None = None,
    ) -> None:
        self.reads, self.placements, self.catalog = reads, placements, catalog
        self.saved = saved  # where trained models outlive the process
        self.clock = clock
        self.config = config or RecsConfig()
        self.models: Models | None = None
        self.trained_at: dt.datetime | None = None
        self.seq = 0
        self.tokens: Callable[[], str] = lambda: uuid.uuid4().hex  # unique per answer
        self._read_at = 0.0
        self._looked_at = time.monotonic()  # the first ask loads or trains anyway
        self._lock = threading.Lock()
        self._training = threading.Lock()

    def train(self) -> Models:
        """New models from every stored event and the catalogue, swapped in whole and saved
        (one training at a time: in this process, the trainer's and a first ask's do not
        overlap; in the deployment, this waits for another process's training to end)."""
        with self._training, self._lease(wait=True):
            return self._train()

    def keep_current(self, every: float) -> bool:
        """Take the saved models when a newer training saved them; when there are none or
        they are ``every`` seconds old, train, unless another process is training (it
        holds the lease: its models are taken at a later call). Whether this trained."""
        with self._training:
            self._reload()
            if not self._due(every):
                return False
            with self._lease(wait=False) as held:
                if not held:
                    return False
                self._reload()  # a training that ended while this waited for the lease
                if not self._due(every):
                    return False
                self._train()
                return True

    def _due(self, every: float) -> bool:
        if self.trained_at is None:
            return True
        return (self.clock.now() - self.trained_at).total_seconds() >= every

    def _reload(self) -> bool:
        """Take the saved models if a training newer than this one's saved them."""
        at = self.saved.trained_at(MODEL) if self.saved is not None else None
        if at is None or (self.trained_at is not None and at <= self.trained_at):
            return False
        return self.restore()

    def _lease(self, *, wait: bool) -> AbstractContextManager[bool]:
        return nullcontext(True) if self.saved is None else self.saved.lease(MODEL, wait=wait)

    def _train(self) -> Models:
        started = time.perf_counter()
        end = self.reads.last_seq()
        seen: list[Interaction] = []
        items: dict[str, Item] = {}
        for page in self.reads.pages(acts.ACTIONS, end):  # a page at a time: events are big
            seen += _interactions(page)
            items.update(acts.items_from_events((e.event, e.properties) for e in page))
        now = self.clock.now()
        items.update({p.id: acts.item_from_product(p, now) for p in self.reads.products()})
        models = train(seen, items, similar=self.config.similar)
        with self._lock:
            self.models, self.trained_at, self.seq = models, now, end
        log.info(
            "recommendations trained in %.2f s: %s", time.perf_counter() - started,
            models.summary(),
        )  # fmt: skip
        if self.saved is not None:
            self.saved.save(MODEL, Saved(persist.dumps(models), now, end))
        return models

    def restore(self) -> bool:
        """Take the models the last training saved (and read on from where they stopped);
        False when none are saved or they cannot be read (then train)."""
        found = self.saved.load(MODEL) if self.saved is not None else None
        models = persist.loads(found.body) if found is not None else None
        if found is None or models is None:
            return False
        with self._lock:
            self.models, self.trained_at, self.seq = models, found.trained_at, found.seq
        log.info("recommendations loaded, trained at %s: %s", found.trained_at, models.summary())
        return True

    def current(self) -> Models:
        """The models, with the events stored since the last read: the saved ones, or
        trained now if none are (once: a first ask waits for a training under way, here
        or in another process of the deployment, and takes its models). Every ``look``
        seconds, a newer training saved by another process is taken (a process without a
        :class:`Trainer`, such as a worker, stays current too)."""
        if time.monotonic() - self._looked_at >= self.config.look:
            self._looked_at = time.monotonic()
            if self._training.acquire(blocking=False):  # a training here: its models come
                try:
                    self._reload()
                finally:
                    self._training.release()
        if self.models is None:
            with self._training:  # concurrent first asks (and the trainer) train once
                if self.models is None and not self.restore():
                    with self._lease(wait=True):
                        if not self.restore():
                            self._train()
        with self._lock:
            assert self.models is not None
            if time.monotonic() - self._read_at >= self.config.refresh:
                self._read_at = time.monotonic()
                self._follow(self.models)
            return self.models

    def follow(self) -> None:
        """Read the events stored since the last read into the models now (for a caller
        that says when, such as the demo in event time; answers follow every ``refresh``)."""
        with self._lock:
            if self.models is not None:
                self._read_at = time.monotonic()
                self._follow(self.models)

    def _follow(self, models: Models) -> None:
        while page := self.reads.events(acts.ACTIONS, self.seq):
            models.learn(_interactions(page))
            self.seq = page[-1].seq

    def report(self, since: dt.datetime | None = None) -> dict[str, dict[str, float]]:
        """What recommendations led to, per kind (:mod:`juncture.recommend.attribution`),
        from the stored events at or after ``since``."""
        seen = (
            (e.shopper, e.event, e.at, e.properties)
            for e in self.reads.all_events(attribution.EVENTS)
            if since is None or e.at >= since
        )
        return attribution.report(seen)

    def shopper(self, identifiers: Sequence[str]) -> Shopper:
        """The profile of the first identifier known, and whether it may be personalised."""
        if not identifiers:
            return Shopper()
        known, profile = self.placements.visitor(identifiers)
        return judge(profile) if known else Shopper()

    def profile(self, profile_id: str) -> Shopper:
        """The profile ``profile_id`` (the admin API names it), as :meth:`shopper`."""
        return judge(self.placements.profile(profile_id))

    def recommend(self, ask: Ask, shopper: Shopper) -> Result:
        """Answer ``ask`` for ``shopper`` (their history, cart and purchases folded in)."""
        models = self.current()
        now = self.clock.now()
        ask = self._personal(ask, shopper.profile, now, models)
        filters = Filters(
            exclude=self._excluded(ask, models),
            stocked=self._stocked(ask.store) if ask.store else None,
            min_price=ask.min_price,
            max_price=ask.max_price,
            max_per_brand=self.config.max_per_brand,
            rules=self.config.rules,
        )
        picks = answer(models, ask, filters, now)
        items = {p.product_id: models.items[p.product_id] for p in picks}
        rid = attribution.new_id(ask.kind, self.tokens())
        return Result(rid, ask.kind, picks, items, ask.personal, self.trained_at)

    def _personal(self, ask: Ask, profile: Profile | None, now: dt.datetime, m: Models) -> Ask:
        if profile is None:
            return _replace(ask, personal=False)
        history: dict[str, float] = {}
        for pid, view in profile.products.items():
            history[pid] = history.get(pid, 0.0) + acts.WEIGHTS["view"] * max(1, view.views)
        cart = tuple(i.product_id for i in profile.cart.items.values())
        for pid in cart:
            history[pid] = history.get(pid, 0.0) + acts.WEIGHTS["cart"]
        since = now - self.config.bought_within
        bought = [p for o in profile.orders.values() if o.at >= since for p in o.products]
        for order in profile.orders.values():
            for pid in order.products:
                history[pid] = history.get(pid, 0.0) + acts.WEIGHTS["order"]
        recent = sorted(
            (p for p, v in profile.products.items() if v.last_at is not None),
            key=lambda p: profile.products[p].last_at,  # type: ignore[arg-type, return-value]
            reverse=True,
        )
        kept = tuple(p for p in bought if not self._consumable(m.items.get(p)))
        return _replace(ask, history=history, cart=cart, bought=kept, recent=tuple(recent))

    def _consumable(self, item: Item | None) -> bool:
        category = (item.category or "") if item is not None else ""
        return any(category.startswith(prefix) for prefix in self.config.consumables)

    @staticmethod
    def _excluded(ask: Ask, models: Models) -> Collection[str]:
        """The product asked about, the cart's and what was just bought; the products the
        answer is about (a kind about a product never answers that product)."""
        del models
        return frozenset({*ask.anchors(), *ask.cart, *ask.bought})

    def _stocked(self, store: str) -> Callable[[Sequence[str]], Collection[str]]:
        def stocked(ids: Sequence[str]) -> Collection[str]:
            lines = self.catalog.stock_at(store, ids)
            return {s.product_id for s in lines if retail.available(s)}

        return stocked


def judge(profile: Profile | None) -> Shopper:
    """A loaded profile as a shopper: without it when they refused personalisation."""
    refused = profile is not None and consent_for(profile, "*", PERSONALISATION) is False
    return Shopper(None if refused else profile, not refused)


def _interactions(events: Iterable[ProductEvent]) -> list[Interaction]:
    found: list[Interaction] = []
    for e in events:
        found += acts.from_track(e.shopper, e.event, e.properties, e.at)
    return found


def _replace(ask: Ask, **changes: object) -> Ask:
    return dataclasses.replace(ask, **changes)  # type: ignore[arg-type]


class Trainer(Periodic):
    """Keeps the models current on a thread of its own (:meth:`Recommendations.keep_current`),
    looking every ``look`` seconds (at most ``every``), the first time at start: the saved
    models are taken when newer than those in use, and trained again (by this process or
    another of the deployment) when ``every`` seconds old. A failed look or training is
    logged and the models in use stay."""

    def __init__(self, recommendations: Recommendations, every: float, look: float) -> None:
        super().__init__("recs-trainer", self._look, min(every, look), first=lambda: 0.0)
        self.recommendations = recommendations
        self.every = every

    def _look(self) -> None:
        try:
            self.recommendations.keep_current(self.every)
        except Exception:  # a schedule must outlive one bad training or a database away
            log.exception("recommendations: training or loading failed; the models in use stay")
