"""The address a message goes to, normalized as the address suppressions (a bounce, a
complaint, an SMS STOP) name it (:func:`address`), and kept out of the errors a provider
answers (:func:`redacted`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from juncture.channels.base import DeliveryResult, OutboundMessage
from juncture.core.channels import RECIPIENT_TRAITS, RECIPIENTS
from juncture.core.identity import normalize_email, normalize_phone

NORMALIZE = {"email": normalize_email, "phone": normalize_phone}  # suppressions' addresses


def address(channel: str, purpose: str, payload: Mapping[str, Any]) -> str | None:
    """The normalized address a message's payload sends to, as address suppressions (a
    bounce, a complaint, a STOP) name it; None for a channel without such addresses."""
    key = RECIPIENTS.get(channel)
    normalize = NORMALIZE.get(key or "")
    if key is None or normalize is None:
        return None
    return normalize(OutboundMessage(0, "", channel, purpose, None, payload).recipient(key))


def redacted(result: DeliveryResult, message: OutboundMessage) -> DeliveryResult:
    """Providers echo the address or number they refused ("The 'To' number +49... is not
    valid"); ``last_error`` is shown in the admin API and must not carry it."""
    if result.error is None:
        return result
    error = result.error
    for name in RECIPIENT_TRAITS:  # the payload key of each address
        value = message.recipient(name)
        if value and len(value) > 3:
            error = error.replace(value, "<recipient>")
    return dataclasses.replace(result, error=error)
