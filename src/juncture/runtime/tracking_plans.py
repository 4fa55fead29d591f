"""Holding each source's messages to its tracking plan, as they are ingested.

A message that breaks its plan is either kept with the violations noted in
``context.violations`` (``violations: flag``) or quarantined like any invalid message
(``quarantine``: code ``plan_violation``, or ``unplanned_event`` for a track event the plan
does not name under ``unplanned: quarantine``), from where ``juncture failed replay`` takes
it again once the plan or the payload is fixed. Sources without a plan are not checked.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import jsonschema.exceptions
import msgspec

from juncture.core import messages
from juncture.core.events import Event
from juncture.core.messages import Rejection
from juncture.definitions import tracking_plans
from juncture.definitions.tracking_plans import TrackingPlan
from juncture.errors import InvalidDefinition
from juncture.store.quality import QualityStore

log = logging.getLogger(__name__)
MAX_VIOLATIONS: Final = 20  # noted per message; the count says when there were more
_TYPES: Final = {
    "required": "missing_required",
    "type": "invalid_type",
    "additionalProperties": "unplanned_property",
    "unevaluatedProperties": "unplanned_property",
}


@dataclass(frozen=True, slots=True)
class Checked:
    """What a plan made of one message: the event to store (None: quarantined) and its
    violations (empty: it follows the plan)."""

    event: Event | None
    violations: Sequence[Mapping[str, str]]
    unplanned: bool


def violations(plan: TrackingPlan, event: Event) -> tuple[list[dict[str, str]], bool]:
    """The message's violations of ``plan`` (``type``, ``field``, ``description``), and
    whether it is a track event the plan does not name."""
    found: list[dict[str, str]] = []
    unplanned = False
    document = _document(event)
    validators = [plan.common] if plan.common is not None else []
    if event.type == "track":
        validator = plan.events.get(event.event or "")
        unplanned = validator is None
        if unplanned and plan.unplanned != "allow":
            found.append(
                {
                    "type": "unplanned_event",
                    "field": "event",
                    "description": f"{event.event!r} is not in the tracking plan",
                }
            )
    else:
        validator = plan.kinds.get(event.type)
    if validator is not None:
        validators.append(validator)
    for each in validators:
        found.extend(_described(e) for e in each.iter_errors(document))
    return found[:MAX_VIOLATIONS], unplanned


def check(plan: TrackingPlan, event: Event) -> Checked:
    found, unplanned = violations(plan, event)
    if not found:
        return Checked(event, (), unplanned)
    quarantine = (
        plan.unplanned == "quarantine"
        if _only_unplanned(found)
        else plan.violations == "quarantine"
    )
    if quarantine:
        return Checked(None, found, unplanned)
    context = {**event.context, "violations": found}
    return Checked(msgspec.structs.replace(event, context=context), found, unplanned)


def _only_unplanned(found: Sequence[Mapping[str, str]]) -> bool:
    return all(v["type"] == "unplanned_event" for v in found)


def _document(event: Event) -> dict[str, Any]:
    """The message as the plan's schemas see it: Segment's field names."""
    doc: dict[str, Any] = {
        "type": event.type,
        "messageId": event.message_id,
        "properties": event.properties,
        "traits": event.traits,
        "context": event.context,
    }
    for key, value in (
        ("event", event.event),
        ("name", event.name),
        ("userId", event.user_id),
        ("anonymousId", event.anonymous_id),
        ("groupId", event.group_id),
    ):
        if value is not None:
            doc[key] = value
    return doc


def _described(error: jsonschema.exceptions.ValidationError) -> dict[str, str]:
    keyword = str(error.validator)
    path = [str(p) for p in error.absolute_path]
    if keyword == "required" and isinstance(error.instance, Mapping):
        wanted = error.validator_value if isinstance(error.validator_value, list) else []
        missing = [n for n in wanted if n not in error.instance]
        path.extend(str(n) for n in missing[:1])
    return {
        "type": _TYPES.get(keyword, "invalid_value"),
        "field": ".".join(path),
        "description": error.message,
    }


class Plans:
    """The plans in force, by source; replaced whole when an admin changes one (reads on
    the ingestion path take no lock: a dict is swapped, never changed in place)."""

    def __init__(self, plans: Mapping[str, TrackingPlan] | None = None) -> None:
        self._plans: dict[str, TrackingPlan] = dict(plans or {})
        self._lock = threading.Lock()

    def get(self, source: str) -> TrackingPlan | None:
        return self._plans.get(source)

    def put(self, source: str, plan: TrackingPlan | None) -> None:
        with self._lock:
            plans = dict(self._plans)
            if plan is None:
                plans.pop(source, None)
            else:
                plans[source] = plan
            self._plans = plans

    def apply(
        self,
        source: str,
        envelope: messages.Envelope,
        events: list[Event],
        rejected: list[Rejection],
    ) -> tuple[list[Event], list[Rejection], list[Checked]]:
        """``events`` (normalized from ``envelope``, in order, besides ``rejected``) held to
        the source's plan: those kept, the rejections with the quarantined added, and what
        was found for each message checked."""
        plan = self._plans.get(source)
        if plan is None or not events:
            return events, rejected, []
        refused = {r.index for r in rejected}
        indices = [i for i in range(len(envelope.messages)) if i not in refused]
        kept: list[Event] = []
        more: list[Rejection] = []
        results: list[Checked] = []
        for index, event in zip(indices, events, strict=True):
            result = check(plan, event)
            results.append(result)
            if result.event is not None:
                kept.append(result.event)
            else:
                more.append(_rejection(envelope, index, event, result))
        if not more:
            return kept, rejected, results
        return kept, sorted([*rejected, *more], key=lambda r: r.index), results


def _rejection(envelope: messages.Envelope, index: int, event: Event, result: Checked) -> Rejection:
    first = result.violations[0]
    prefix = "$" if envelope.single else f"{envelope.path_prefix}[{index}]"
    extra = f" (and {len(result.violations) - 1} more)" if len(result.violations) > 1 else ""
    return Rejection(
        index=index,
        code="unplanned_event" if _only_unplanned(result.violations) else "plan_violation",
        message=f"tracking plan: {first['description']}{extra}",
        path=prefix + ("." + first["field"] if first["field"] else ""),
        raw=bytes(envelope.messages[index]),
        message_id=event.message_id,
    )


def load(store: QualityStore) -> Plans:
    """The stored plans in force. One that no longer reads (a plan saved by an older
    version) is left out with a warning naming its source, so ingestion still starts."""
    plans: dict[str, TrackingPlan] = {}
    for stored in store.plans():
        try:
            plans[stored.source] = tracking_plans.parse(stored.text, stored.filename)
        except InvalidDefinition:
            log.warning("the tracking plan of source %r does not read: not applied", stored.source)
    return Plans(plans)
