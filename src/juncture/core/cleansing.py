"""Cleansing at the edge: the identifying traits of a message in one spelling each.

Emails are trimmed and lower-cased, phone numbers written in E.164 (``+4930123456``, with
Google's libphonenumber rules through ``phonenumbers``) and countries as ISO 3166-1 alpha-2
codes (``DE``, through ``pycountry``), in ``traits`` and ``context.traits`` (``country``
also under ``address``), before the event is stored: matching, segments and look-ups then
see one value where shoppers and systems typed many. A value that cannot be read (a phone
number too short for any region, a country nobody knows) is kept as it was sent: cleansing
never loses what was accepted.

Cheap on the hot path: an event without traits is returned as it is, and the libraries run
only for the fields present (each distinct value once: the answers are cached).

>>> rules = Rules(default_region="DE")
>>> clean_traits({"email": " Ann@Example.COM ", "phone": "030 1234567"}, rules)
{'email': 'ann@example.com', 'phone': '+49301234567'}
>>> clean_traits({"address": {"country": "Germany"}}, rules)
{'address': {'country': 'DE'}}
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Final

import msgspec
import phonenumbers
import pycountry

from juncture.core.events import Event

# Codes people write that ISO 3166-1 reserves for the country under another code.
_RESERVED: Final = {"UK": "GB", "EL": "GR"}
_CACHE: Final = 4096


@dataclass(frozen=True, slots=True)
class Rules:
    """``default_region``: the ISO 3166-1 alpha-2 region of phone numbers written without a
    country code, when the traits name no country of their own (None: such numbers stay as
    sent)."""

    default_region: str | None = None


DEFAULT_RULES: Final = Rules()


def cleanse(event: Event, rules: Rules = DEFAULT_RULES) -> Event:
    """The event with its traits cleaned; the same object when nothing changed."""
    traits = event.traits
    context = event.context
    inner = context.get("traits") if context else None
    if not traits and not inner:
        return event
    clean = clean_traits(traits, rules) if traits else traits
    clean_inner = clean_traits(inner, rules) if isinstance(inner, dict) and inner else inner
    if clean is traits and clean_inner is inner:
        return event
    new_context = context if clean_inner is inner else {**context, "traits": clean_inner}
    return msgspec.structs.replace(event, traits=clean, context=new_context)


def clean_traits(traits: dict[str, Any], rules: Rules) -> dict[str, Any]:
    """``traits`` with email, phone and country cleaned; the same dict when already clean."""
    changes: dict[str, Any] = {}
    email = traits.get("email")
    if isinstance(email, str) and (cleaned := clean_email(email)) != email:
        changes["email"] = cleaned
    country = traits.get("country")
    if isinstance(country, str) and (code := country_code(country)) not in (None, country):
        changes["country"] = code
    address = traits.get("address")
    if isinstance(address, dict):
        inner = address.get("country")
        if isinstance(inner, str) and (code := country_code(inner)) not in (None, inner):
            changes["address"] = {**address, "country": code}
    phone = traits.get("phone")
    if isinstance(phone, str | int) and not isinstance(phone, bool):
        region = _region(changes.get("country", country), address, rules)
        if (number := e164(str(phone), region)) not in (None, phone):
            changes["phone"] = number
    return {**traits, **changes} if changes else traits


def clean_email(value: str) -> str:
    """Trimmed and lower-cased: mailbox providers treat the address case-insensitively in
    practice, and shoppers type it every which way.

    >>> clean_email("  Foo.Bar@Example.COM ")
    'foo.bar@example.com'
    """
    return value.strip().lower()


@functools.lru_cache(maxsize=_CACHE)
def e164(value: str, region: str | None) -> str | None:
    """The number in E.164, read in ``region`` when it has no country code; None when it
    is not a valid number there (by the numbering plans libphonenumber keeps).

    >>> e164("+1 (415) 555-2671", None)
    '+14155552671'
    >>> e164("030 1234567", "DE")
    '+49301234567'
    >>> e164("12", "DE") is None
    True
    """
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


@functools.lru_cache(maxsize=_CACHE)
def country_code(value: str) -> str | None:
    """The ISO 3166-1 alpha-2 code of a country written as a code (alpha-2 or alpha-3, any
    case) or a name in English (short, official or common); None when unknown.

    >>> [country_code(v) for v in ("de", "DEU", "Germany", "United Kingdom", "UK", "Narnia")]
    ['DE', 'DE', 'DE', 'GB', 'GB', None]
    """
    text = value.strip()
    if not text:
        return None
    reserved = _RESERVED.get(text.upper())
    if reserved is not None:
        return reserved
    try:
        found = pycountry.countries.lookup(text)
    except LookupError:
        return None
    return str(found.alpha_2)


def _region(country: object, address: object, rules: Rules) -> str | None:
    """The traits' own country (a cleaned code) for a national number, else the default."""
    for value in (country, address.get("country") if isinstance(address, dict) else None):
        if isinstance(value, str) and (code := country_code(value)) is not None:
            return code
    return rules.default_region
