"""What journeys hand to the outbox: the :class:`Message` (one outbox row to insert), built
from a send that arbitration will decide on (:func:`message`: the payload templates and
channels read), a send the machine suppressed (:func:`suppressed`) or a webhook action
(:func:`webhook`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from juncture.core import channels
from juncture.core.journeys import content, profile_view
from juncture.core.journeys import spec as s
from juncture.core.journeys.commands import RecordSuppressed, RunAction, Send
from juncture.core.journeys.copies import copier
from juncture.core.profile.consent import consent_for
from juncture.core.profile.model import Profile

ON_SITE_WAITS: Final = dt.timedelta(days=14)  # a queued on-site message, unless the node says


@dataclass(frozen=True, slots=True)
class Message:
    """An outbox row to insert: a journey's message, or an on-site placement shown by rule
    (``runtime/decide``). The one type of it; the store maps it to its table
    (``store/outbox.row``)."""

    idempotency_key: str
    profile_id: str
    channel: str
    purpose: str
    created_at: dt.datetime
    payload: Mapping[str, Any] = field(default_factory=dict)
    template: str | None = None
    journey_id: str | None = None
    journey_version: int | None = None
    enrollment_id: str | None = None
    node_id: str | None = None
    status: str = "pending"
    reason: str | None = None
    next_attempt_at: dt.datetime | None = None


# ``changed(message, **changes)``: dataclasses.replace at about half its cost (arbitration
# copies each message it decides).
changed = copier(Message)


def message(p: Profile, send: Send, now: dt.datetime, user_id: str | None) -> Message:
    context = dict(send.context)
    payload: dict[str, Any] = {
        "user_id": user_id,
        **_addresses(p.traits),
        "profile": profile_view.view(p, now),
        "event": _flat_event(context.get("event")),
        "cart": profile_view.cart_view(p, context.get("entered_at")),
        "branches": context.get("branches", {}),
        "journey": {"id": send.journey_id, "version": send.version, "node": send.node},
    }
    if send.inline is not None:
        payload["inline"] = dict(send.inline)
    if not send.data.empty:
        payload["data"] = content.resolve(send.data, now)
    if send.recommended is not None:  # the dispatcher checks it as the message leaves
        payload["recommended"] = {"kind": send.recommended.kind,
                                  "at_least": send.recommended.at_least}  # fmt: skip
    if send.channel == "onsite":
        payload["placement"] = send.placement or (send.inline or {}).get("placement", "any")
        payload["kind"] = send.kind
        payload["expires_at"] = _expires_at(send, now).isoformat()
    return Message(
        idempotency_key=send.idempotency_key,
        profile_id=p.profile_id,
        channel=send.channel,
        purpose=send.purpose,
        created_at=now,
        payload={k: v for k, v in payload.items() if v is not None},
        template=send.template,
        journey_id=send.journey_id,
        journey_version=send.version,
        enrollment_id=send.enrollment_id,
        node_id=send.node,
    )


def _expires_at(send: Send, now: dt.datetime) -> dt.datetime:
    """When a queued on-site message stops waiting: after its ``expires`` (default
    :data:`ON_SITE_WAITS`), or when its deadline or offer ends, whichever comes first."""
    waits = now + (send.expires or ON_SITE_WAITS)
    ends = content.ends(send.data, now)
    return waits if ends is None else min(waits, ends)


def _flat_event(raw: object) -> dict[str, Any]:
    """The enrollment's event for templates: its properties at the top level (``event.total``)
    beside ``name``, ``timestamp`` and ``properties``."""
    if not isinstance(raw, Mapping):
        return {}
    props = raw.get("properties")
    flat: dict[str, Any] = dict(props) if isinstance(props, Mapping) else {}
    flat.update(name=raw.get("name"), timestamp=raw.get("timestamp"), properties=flat.copy())
    return flat


def suppressed(p: Profile, command: RecordSuppressed, now: dt.datetime) -> Message:
    return Message(
        idempotency_key=command.idempotency_key,
        profile_id=p.profile_id,
        channel="none",
        purpose="marketing",
        created_at=now,
        payload={},
        journey_id=command.journey_id,
        journey_version=command.version,
        enrollment_id=command.enrollment_id,
        node_id=command.node,
        status="suppressed",
        reason=command.reason,
    )


def webhook(
    p: Profile, command: RunAction, call: s.CallWebhook, now: dt.datetime, user_id: str | None
) -> Message:
    """The call's body: who the customer is (profile id, user id, email unless they refused
    email), the event that brought them here (name, time, properties: a survey's score and
    comment), the journey; the fields the node declares are added, and win."""
    email = text(p.traits.get("email"))
    refused = consent_for(p, "email", "transactional") is False
    body = {
        "profile_id": p.profile_id,
        "user_id": user_id,
        "email": None if refused else email,
        "event": command.event,
        "journey": {"id": command.journey_id, "version": command.version, "node": call.id},
    }
    body = {k: v for k, v in body.items() if v is not None} | dict(call.body)
    return Message(
        idempotency_key=command.idempotency_key,
        profile_id=p.profile_id,
        channel="webhook",
        purpose="transactional",
        created_at=now,
        payload={"url": call.url, "method": call.method, "body": body},
        journey_id=command.journey_id,
        journey_version=command.version,
        enrollment_id=command.enrollment_id,
        node_id=call.id,
        next_attempt_at=now,
    )


def text(value: object) -> str | None:
    """``value`` if it is a non-empty string, else None."""
    return value if isinstance(value, str) and value else None


def _addresses(traits: Mapping[str, Any]) -> dict[str, str | None]:
    """Each channel's address (``email``, ``phone``, ``device_token``) from the traits."""
    return {key: text(_first(traits, names)) for key, names in channels.RECIPIENT_TRAITS.items()}


def _first(traits: Mapping[str, Any], names: tuple[str, ...]) -> object:
    """The first of the ``names`` traits that is set (``a or b``), else the last's value."""
    value = None
    for name in names:
        value = traits.get(name)
        if value:
            return value
    return value
