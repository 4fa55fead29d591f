"""On-site decisions at run time: read the visitor, their queued messages and impressions
from the store, let :func:`juncture.core.placements.decide` choose, then render and record
what is shown.

Each candidate is tried in turn: a queued message is rendered (a template that fails sends it
``dead`` and the next is tried) and marked shown in a compare-and-set (lost to a concurrent
request: the next is tried); a default is rendered and recorded under its key (recorded
before: already shown, the next is tried).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from juncture.channels.base import Content
from juncture.channels.templates import TemplateError, Templates
from juncture.core import placements as rules
from juncture.core import touchpoints as tp
from juncture.core.identity import profile_id_for
from juncture.core.journeys.orchestrate import Message
from juncture.core.journeys.spec import PLACEMENT_KINDS
from juncture.core.profile.model import Profile, plain
from juncture.runtime.clock import Clock
from juncture.runtime.impressions import Impressions
from juncture.runtime.recommend import Recommendations
from juncture.runtime.recommend_slots import POPOVER, for_profile, slot, slot_kind
from juncture.runtime.touchpoints import Touchpoints
from juncture.store.outbox import ONSITE, OutboxRow
from juncture.store.placements import Placements

_PRIVATE: Final = ("recipient", "inline", "placement", "kind")


@dataclass(frozen=True, slots=True)
class Shown:
    """What a placement shows: the outbox row recording it, its popover ``kind``, the rendered
    content and the message's ``data``."""

    id: int
    kind: str
    content: Content
    data: dict[str, Any] = field(default_factory=dict)
    journey_id: str | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    placement: str
    show: Shown | None
    reason: str


class Decider:
    """Chooses, renders and records what one visitor sees in one placement."""

    def __init__(
        self,
        placements: Placements,
        clock: Clock,
        cap_per_day: int,
        templates: Templates,
        touchpoints: Touchpoints | None = None,
        *,
        recommendations: Recommendations | None = None,
    ) -> None:
        self.placements = placements
        self.clock = clock
        self.cap = cap_per_day
        self.templates = templates
        self.touchpoints = touchpoints
        self.impressions = Impressions(placements)  # group commits of what is shown
        self.recommendations = recommendations

    def decide(
        self, identifiers: Sequence[str], placement: str, ask: tp.Ask | None = None
    ) -> Answer:
        """``identifiers`` (``user_id:42``, ``anonymous_id:a1``) name the visitor, the
        first one known wins. A touchpoint placement (``ask``, see
        :mod:`juncture.core.touchpoints`) is answered from the retailer's tables."""
        now = self.clock.now()
        known, profile = self.placements.visitor(identifiers)
        pid = known or profile_id_for(identifiers[0])  # the id its first event will found
        kind = slot_kind(placement)
        if kind is not None and self.recommendations is not None:
            return self._slot(kind, ask or tp.Ask(placement), pid, profile, now)
        if ask is not None and self.touchpoints is not None:
            return self._touchpoint(ask, pid, profile, now)
        shown = self.placements.shown_since(pid, rules.cap_since(now))
        rows = {row.id: row for row in self._unexpired(self.placements.queued(pid, now), now)}
        queued = [rules.Queued(row.id, _placement(row), row.purpose) for row in rows.values()]
        decision = rules.decide(rules.visitor(pid, profile, shown), queued, placement, self.cap)
        context = _context(pid, profile)
        if self.recommendations is not None:  # read only if a template lists them
            context["recommendations"] = for_profile(self.recommendations, pid)
        for candidate in decision.candidates:
            if isinstance(candidate, rules.FromQueue):
                found = self._show_queued(rows[candidate.id], context, now)
            else:
                found = self._show_default(candidate, pid, placement, context, now)
            if found is not None:
                return Answer(placement, found, candidate.reason)
        return Answer(placement, None, decision.otherwise)

    def _touchpoint(
        self, ask: tp.Ask, pid: str, profile: Profile | None, now: dt.datetime
    ) -> Answer:
        """Answer a touchpoint and record what was shown and why (marketing ones once per
        what makes them news, within consent and the cap; the others each time asked). The
        impressions are counted only when a marketing answer needs the cap."""
        assert self.touchpoints is not None
        reason = "nothing_to_show"
        context = _context(pid, profile)
        visitor: rules.Visitor | None = None
        for found in self.touchpoints.answers(ask, profile, now):
            if isinstance(found, str):
                reason = found if ask.touchpoint != "app" else reason
                continue
            why_not = None
            if found.marketing:
                if visitor is None:
                    count = self.placements.shown_since(pid, rules.cap_since(now))
                    visitor = rules.visitor(pid, profile, count)
                why_not = rules.blocked(visitor, self.cap)
            if why_not is not None:
                reason = why_not
                continue
            shown = self._record(ask, found, pid, context, now)
            if shown is not None:
                return Answer(ask.touchpoint, shown, found.reason)
            reason = "already_shown"
        return Answer(ask.touchpoint, None, reason)

    def _slot(
        self, kind: str, ask: tp.Ask, pid: str, profile: Profile | None, now: dt.datetime
    ) -> Answer:
        """A recommendation slot: the kind's products for this shopper, recorded as shown
        (each time asked, not capped: the page asked for them)."""
        assert self.recommendations is not None
        found = slot(self.recommendations, kind, ask.product_id, ask.store_code, profile)
        if isinstance(found, str):
            return Answer(ask.touchpoint, None, found)
        data, shelf = found
        context = {**_context(pid, profile), "recommendations": shelf}
        shown = self._record(ask, tp.Shown(POPOVER, data, kind), pid, context, now)
        return Answer(ask.touchpoint, shown, kind if shown else "already_shown")

    def _record(
        self,
        ask: tp.Ask,
        found: tp.Shown,
        pid: str,
        context: Mapping[str, Any],
        now: dt.datetime,
    ) -> Shown | None:
        # shown each time asked: a key of its own, so two asks at one instant both record
        key = f"onsite:{pid}:{found.kind}:{found.once or now.isoformat() + ':' + uuid.uuid4().hex}"
        template = f"onsite_{found.kind}"
        content = self.templates.render(template, {**context, "touchpoint": found.data})
        purpose = "marketing" if found.marketing else rules.TRANSACTIONAL
        payload = {"placement": ask.touchpoint, "kind": found.kind, "reason": found.reason,
                   "data": found.data}  # fmt: skip
        message = Message(key, pid, ONSITE, purpose, now, payload, template, status="shown")
        row = self.impressions.record(message)
        return None if row is None else Shown(row.id, found.kind, content, found.data)

    def _unexpired(self, rows: Sequence[OutboxRow], now: dt.datetime) -> list[OutboxRow]:
        """Queued rows still to be shown: one past its ``expires_at`` (its offer ended, its
        deadline passed, it waited too long) ends ``suppressed``, reason ``expired``."""
        live = []
        for row in rows:
            ends = row.payload.get("expires_at")
            if isinstance(ends, str) and dt.datetime.fromisoformat(ends) <= now:
                self.placements.outbox.suppress(row.id, "expired")
            else:
                live.append(row)
        return live

    def _show_queued(
        self, row: OutboxRow, context: Mapping[str, Any], now: dt.datetime
    ) -> Shown | None:
        content = self._render(row, context, now)
        if content is None or not self.placements.mark_shown(row, now):
            return None
        return _shown(row, content)

    def _show_default(
        self,
        rule: rules.ByRule,
        pid: str,
        placement: str,
        context: Mapping[str, Any],
        now: dt.datetime,
    ) -> Shown | None:
        template = f"onsite_{rule.kind}"
        content = self.templates.render(template, context)
        payload = {"placement": placement, "kind": rule.kind}
        message = Message(
            rule.key, pid, ONSITE, "marketing", now, payload, template, status="shown"
        )
        row = self.impressions.record(message)
        return None if row is None else _shown(row, content)

    def _render(
        self, row: OutboxRow, context: Mapping[str, Any], now: dt.datetime
    ) -> Content | None:
        data = {k: v for k, v in row.payload.items() if k not in _PRIVATE}
        data.update(context)
        inline = row.payload.get("inline")
        name = row.template or f"onsite_{_kind(row)}"
        try:
            return self.templates.render(
                None if inline else name, data, inline=inline if isinstance(inline, dict) else None
            )
        except TemplateError as exc:
            self.placements.mark_failed(row, now, exc.message)
            return None


def _placement(row: OutboxRow) -> str | None:
    value = row.payload.get("placement", rules.ANY)
    return value if isinstance(value, str) else None


def _kind(row: OutboxRow) -> str:
    kind = row.payload.get("kind")
    return kind if isinstance(kind, str) and kind in PLACEMENT_KINDS else "welcome"


def _context(pid: str, profile: Profile | None) -> dict[str, Any]:
    """The live profile and cart, for rendering (what a queued row carried may be stale)."""
    if profile is None:
        return {"profile": {"profile_id": pid}, "cart": {"items": []}}
    traits = profile.traits
    first = traits.get("first_name") or traits.get("firstName")
    items = [plain(item) for item in profile.cart.items.values()]
    cart = {
        "items": items,
        "value": profile.cart.value,
        "quantity": profile.cart.quantity,
        "currency": profile.cart.currency,
    }
    return {"profile": {**traits, "profile_id": pid, "first_name": first}, "cart": cart}


def _shown(row: OutboxRow, content: Content) -> Shown:
    data = row.payload.get("data")
    return Shown(
        row.id, _kind(row), content, data if isinstance(data, dict) else {}, row.journey_id
    )
