"""Consent per ``channel:purpose`` (``*`` for "all"): the latest statement wins, a denial
wins a tie. Stated in traits (``consent``), by ``Consent Updated`` or ``Unsubscribed``, or
by an ``SMS Replied`` that is one of the carriers' keywords (``STOP`` refuses SMS marketing,
``START`` grants it again); read with :func:`consent_for`."""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from juncture.core.profile.model import Consent, Profile
from juncture.core.profile.properties import str_or
from juncture.core.profile.step import Step

STOP_WORDS: Final = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_WORDS: Final = frozenset({"START", "UNSTOP", "SUBSCRIBE"})


def sms_keyword(text: object) -> str | None:
    """``stop`` or ``start`` when an SMS reply is one of the carriers' keywords (alone, any
    case, trailing punctuation ignored), else None.

    >>> sms_keyword(" Stop! "), sms_keyword("unstop"), sms_keyword("please stop texting me")
    ('stop', 'start', None)
    """
    if not isinstance(text, str):
        return None
    word = text.strip().rstrip(".!").upper()
    if word in STOP_WORDS:
        return "stop"
    return "start" if word in START_WORDS else None


def apply_consent_object(
    consent: dict[str, Consent], value: object, t: dt.datetime, ch: dict[str, Any]
) -> None:
    if not isinstance(value, dict):
        return
    for channel, purposes in value.items():
        if isinstance(purposes, bool):
            consent = set_consent(consent, f"{channel}:*", purposes, t)
        elif isinstance(purposes, dict):
            for purpose, granted in purposes.items():
                if isinstance(granted, bool):
                    consent = set_consent(consent, f"{channel}:{purpose}", granted, t)
    ch["consent"] = consent


def set_consent(
    consent: dict[str, Consent], key: str, granted: bool, t: dt.datetime
) -> dict[str, Consent]:
    known = consent.get(key)
    if known is not None and (known.at, not known.granted) >= (t, not granted):
        return consent
    return {**consent, key: Consent(granted, t)}


def consent_for(profile: Profile, channel: str, purpose: str) -> bool | None:
    """Whether ``channel`` may be used for ``purpose``; None when never stated.

    The latest statement among ``channel:purpose``, ``channel:*``, ``*:purpose`` and
    ``*:*`` wins; at equal times a denial wins.
    """
    best: Consent | None = None
    for key in (f"{channel}:{purpose}", f"{channel}:*", f"*:{purpose}", "*:*"):
        entry = profile.consent.get(key)
        if entry is not None and (
            best is None or (entry.at, not entry.granted) > (best.at, not best.granted)
        ):
            best = entry
    return None if best is None else best.granted


def on_consent(s: Step) -> None:
    profile, event, ch = s.profile, s.event, s.ch
    props = event.properties
    t = event.timestamp
    if event.event == "SMS Replied":
        said = props.get("body", props.get("text", props.get("message")))
        word = sms_keyword(said)
        if word is not None:
            ch["consent"] = set_consent(profile.consent, "sms:marketing", word == "start", t)
        return
    if event.event == "Unsubscribed":
        channel = str_or(props.get("channel"), "email")
        purpose = str_or(props.get("purpose"), "marketing")
        ch["consent"] = set_consent(profile.consent, f"{channel}:{purpose}", False, t)
        return
    if "consent" in props:
        apply_consent_object(profile.consent, props["consent"], t, ch)
        return
    channel, granted = props.get("channel"), props.get("granted")
    if isinstance(channel, str) and isinstance(granted, bool):
        purpose = str_or(props.get("purpose"), "*")
        ch["consent"] = set_consent(profile.consent, f"{channel}:{purpose}", granted, t)
