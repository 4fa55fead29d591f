"""One person in the store: the profiles that are them and every row about them, table by
table. Erasure (:mod:`juncture.store.erasure`) deletes these rows and export
(:mod:`juncture.store.export`) reads them, so both always cover the same data.

The person is a live profile and every profile merged into it. Their rows:

- ``profiles`` (the live one and the merged ones), ``product_views``, ``identities`` (every
  identifier that points at them), ``merges`` and ``identity_conflicts`` that name them;
- ``events``: every event of theirs (also ones stored without a profile, under their user
  or anonymous id), the engine's derived events included; ``failed_events``: quarantined
  messages that name one of their user or anonymous ids;
- ``timers``, ``enrollments``, ``segment_members``, ``outbox`` (sent messages too: they hold
  the address) and the ``delivery_attempts`` of those messages;
- ``device_users``: the devices they used, whose lists of users may name others too (a
  store kiosk, a family tablet): only their own entries are theirs.
- ``loyalty_accounts`` and ``coupon_redemptions`` under one of their user ids (the
  retailer's tables name members by the tracking ``userId``), and likewise their
  ``event_registrations`` and ``appointments``;
- ``wish_lists`` and ``wish_list_items`` kept under one of their identifiers.

What names nobody is not theirs: ``segment_sizes``, the ``erasures`` records, journey and
segment definitions, the retailer's products, stock, locations, offers, associates and
reviews.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import msgspec

from juncture.store.state_base import StateBase

_USER: Final = "user_id:"
_ANONYMOUS: Final = "anonymous_id:"
_DEVICE: Final = "device_id:"
users_decoder: Final = msgspec.json.Decoder(list[str])


class _Device(msgspec.Struct):
    id: str | int | float | None = None


class _Context(msgspec.Struct):
    device: _Device | None = None


class _Body(msgspec.Struct):
    """What an event's stored body says of the device it came from."""

    context: _Context = msgspec.field(default_factory=_Context)


_body: Final = msgspec.json.Decoder(_Body)

# (table, column, keys): rows whose column holds one of the keys.
Match = tuple[str, str, Sequence[Any]]


@dataclass(frozen=True, slots=True)
class Person:
    """Who a profile id stands for: ``profiles`` (the live one first, then those merged into
    it), the identifiers that point at them, their user ids and anonymous ids (bare), the
    device identifiers they used and the ids of their outbox messages."""

    profiles: tuple[str, ...]
    identifiers: tuple[str, ...]
    users: tuple[str, ...]
    anonymous: tuple[str, ...]
    devices: tuple[str, ...]
    outbox: tuple[int, ...]

    @property
    def device_entries(self) -> frozenset[str]:
        """What stands for them in a device's list of users (user ids, anonymous ids)."""
        return frozenset((*self.users, *(_ANONYMOUS + a for a in self.anonymous)))

    @property
    def failed_ids(self) -> tuple[str, ...]:
        """The ids a quarantined message of theirs would name."""
        return (*self.users, *self.anonymous)

    def matches(self) -> list[Match]:
        """Their rows, table by table, in an order that deletes what refers to a row before
        the row (a table may appear more than once: one column, then another)."""
        pids = self.profiles
        named = (*pids, *self.identifiers, *self.users)
        return [
            ("delivery_attempts", "outbox_id", self.outbox),
            ("outbox", "profile_id", pids),
            ("enrollments", "profile_id", pids),
            ("timers", "profile_id", pids),
            ("segment_members", "profile_id", pids),
            ("product_views", "profile_id", pids),
            ("events", "profile_id", pids),
            ("events", "user_id", self.users),
            ("events", "anonymous_id", self.anonymous),
            ("merges", "survivor", pids),
            ("merges", "merged", pids),
            ("identity_conflicts", "profile_id", named),
            ("identity_conflicts", "identifier", named),
            ("identity_conflicts", "other", named),
            ("identities", "profile_id", pids),
            ("profiles", "profile_id", pids),
            ("loyalty_accounts", "customer_id", self.users),
            ("coupon_redemptions", "customer_id", self.users),
            ("event_registrations", "customer_id", self.users),
            ("appointments", "customer_id", self.users),
            ("wish_list_items", "owner", self.identifiers),
            ("wish_lists", "owner", self.identifiers),
        ]


def find(state: StateBase, profile_id: str) -> Person | None:
    """The person whose profile is (or was merged into) ``profile_id``; None if no profile
    has that id."""
    live = _live(state, profile_id)
    if live is None:
        return None
    pids = _merged_into(state, live)
    idents = [
        str(r[0])
        for r in state._in("SELECT identifier FROM identities WHERE profile_id IN ({marks})", pids)
    ]
    outbox = state._in("SELECT id FROM outbox WHERE profile_id IN ({marks})", pids)
    return Person(
        profiles=tuple(pids),
        identifiers=tuple(idents),
        users=tuple(i.removeprefix(_USER) for i in idents if i.startswith(_USER)),
        anonymous=tuple(i.removeprefix(_ANONYMOUS) for i in idents if i.startswith(_ANONYMOUS)),
        devices=tuple(_devices(state, pids, idents)),
        outbox=tuple(int(r[0]) for r in outbox),
    )


def like(value: str) -> str:
    """A LIKE pattern (``\\`` escapes) for ``value`` as a JSON string anywhere in a text."""
    quoted = msgspec.json.encode(value).decode()
    return "%" + quoted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _live(state: StateBase, profile_id: str) -> str | None:
    """The live profile ``profile_id`` is, or was merged into (redirects followed)."""
    seen: set[str] = set()
    current = profile_id
    while current not in seen:
        seen.add(current)
        found = state._in(
            "SELECT redirect_to FROM profiles WHERE profile_id IN ({marks})", [current]
        )
        if not found:
            return None
        if found[0][0] is None:
            return current
        current = str(found[0][0])
    return None  # a cycle of redirects: no live profile


def _merged_into(state: StateBase, live: str) -> list[str]:
    """``live`` and every profile that redirects to it, directly or through others."""
    found = [live]
    frontier = [live]
    while frontier:
        rows = state._in("SELECT profile_id FROM profiles WHERE redirect_to IN ({marks})", frontier)
        frontier = [str(r[0]) for r in rows if str(r[0]) not in found]
        found += frontier
    return found


def _devices(state: StateBase, pids: Sequence[str], idents: Sequence[str]) -> list[str]:
    """The device identifiers the person used: linked to them, or named by their events
    (a shared device is linked to its first user only)."""
    found = {i for i in idents if i.startswith(_DEVICE)}
    for (body,) in state._in("SELECT body FROM events WHERE profile_id IN ({marks})", pids):
        try:
            device = _body.decode(body).context.device
        except msgspec.DecodeError:
            continue  # a body of another shape names no device we link
        if device is not None and device.id is not None and device.id != "":
            found.add(f"{_DEVICE}{device.id}")
    return sorted(found)
