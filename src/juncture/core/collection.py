"""Consent to collection, read from the message itself as consent managers send it: a shopper
who refused tracking or profiling is stored minimally or not at all, and one who refused
the sale or sharing of their data (CCPA) has it recorded on their profile.

Where consent is carried:

- Segment's consent spec (``@segment/analytics-consent-tools`` and the like):
  ``context.consent.categoryPreferences: {"Analytics": false, "DataSharing": true}``;
- RudderStack's: ``context.consentManagement.deniedConsentIds: ["Analytics"]``;
- a trait ``do_not_sell: true`` (identify or ``context.traits``), for sharing.

A message is *refused* when any of :attr:`CollectionRules.refusing` categories is denied;
it is then kept as :attr:`~CollectionRules.refused` says: ``minimal`` keeps only the ids,
type, name and time with the consent itself (so the profile records the refusal and no
behaviour), ``drop`` stores nothing, ``keep`` stores it as sent. A denied
:attr:`~CollectionRules.sharing` category or ``do_not_sell: true`` adds
``context.traits.consent: {"*": {"sharing": false}}``: the profile's consent ``*:sharing``,
which marketing webhooks and segment exports respect.

>>> rules = CollectionRules()
>>> refused({"consent": {"categoryPreferences": {"Analytics": False}}}, rules)
True
>>> refused({"consentManagement": {"deniedConsentIds": ["Functional"]}}, rules)
False
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import msgspec

from juncture.core.events import Event

Refused = Literal["keep", "minimal", "drop"]
SHARING: Final = "sharing"  # the consent purpose of CCPA's "sale or sharing"
_KEPT_CONTEXT: Final = ("consent", "consentManagement", "library")


@dataclass(frozen=True, slots=True)
class CollectionRules:
    refused: Refused = "minimal"
    refusing: frozenset[str] = field(default=frozenset({"Analytics", "Personalization"}))
    sharing: frozenset[str] = field(default=frozenset({"DataSharing"}))


DEFAULT_RULES: Final = CollectionRules()


def apply(events: Iterable[Event], rules: CollectionRules = DEFAULT_RULES) -> list[Event]:
    """The events to store: refused ones minimal or left out, sharing refusals recorded."""
    out: list[Event] = []
    for event in events:
        context = event.context
        if "consent" in context or "consentManagement" in context or _says_do_not_sell(event):
            kept = _collected(event, rules)
            if kept is not None:
                out.append(kept)
        else:
            out.append(event)  # the usual case: no consent manager speaks here
    return out


def _collected(event: Event, rules: CollectionRules) -> Event | None:
    share = _says_do_not_sell(event) or not rules.sharing.isdisjoint(denied(event.context))
    if refused(event.context, rules) and rules.refused != "keep":
        if rules.refused == "drop":
            return None
        event = minimal(event)
    return _not_shared(event) if share else event


def denied(context: Mapping[str, Any]) -> set[str]:
    """The categories the message's consent manager says were refused."""
    found: set[str] = set()
    consent = context.get("consent")
    preferences = consent.get("categoryPreferences") if isinstance(consent, dict) else None
    if isinstance(preferences, dict):
        found.update(str(k) for k, v in preferences.items() if v is False)
    managed = context.get("consentManagement")
    ids = managed.get("deniedConsentIds") if isinstance(managed, dict) else None
    if isinstance(ids, list):
        found.update(str(i) for i in ids)
    return found


def refused(context: Mapping[str, Any], rules: CollectionRules) -> bool:
    return not rules.refusing.isdisjoint(denied(context))


def minimal(event: Event) -> Event:
    """Only what says who, what and when, and the consent: no properties, traits or
    device, page, address and campaign details."""
    context = {k: event.context[k] for k in _KEPT_CONTEXT if k in event.context}
    return msgspec.structs.replace(
        event, properties={}, traits={}, context=context, integrations={}
    )


def _says_do_not_sell(event: Event) -> bool:
    inner = event.context.get("traits")
    return event.traits.get("do_not_sell") is True or (
        isinstance(inner, dict) and inner.get("do_not_sell") is True
    )


def _not_shared(event: Event) -> Event:
    """The event with ``context.traits.consent["*"]["sharing"] = False`` added."""
    inner = event.context.get("traits")
    traits = dict(inner) if isinstance(inner, dict) else {}
    stated = traits.get("consent")
    consent = dict(stated) if isinstance(stated, dict) else {}
    everything = consent.get("*")
    consent["*"] = {**(everything if isinstance(everything, dict) else {}), SHARING: False}
    traits["consent"] = consent
    return msgspec.structs.replace(event, context={**event.context, "traits": traits})
