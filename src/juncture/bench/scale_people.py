"""The shoppers of ``juncture bench scale``: anonymous product views, sign-ins and merges.

Devices (``anonymousId``) browse products; a share of them (:data:`SIGNING`) belong to
customers who sign in during the run, a third of those customers on two devices. Of the
run's events ``identify_share`` are Segment ``identify`` calls (``userId`` with the
device's ``anonymousId``, as analytics.js sends them on each sign-in and page load of a
signed-in shopper), and after its first one a device's views carry the ``userId`` too, so
they go to the customer's partition while the views before it went to the device's. A
customer's second device, once it browsed anonymously, merges two persons when it signs in:
the event, routed by the ``userId``, joins a profile that the device's partition made.

Then two equal phases measure a merge against a plain event on the same people: each
anonymous-only device of the run gets a customer who signed in during it; first one view of
that customer (``userId`` only: a plain event routed like the merge), then the device signs
in as that customer: each such ``identify`` merges the device's anonymous profile into the
customer's, so the merges of that phase are known exactly.

Every event's identifiers are joined as the identity graph joins them (``userId`` and
``anonymousId`` of one event are one person), so each person's events are known: the check
finds each person on exactly one live profile counting exactly their events.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import orjson

from juncture.bench.ingest import BATCH, default_shoppers, rows_of, viewed
from juncture.core.events import Event
from juncture.log.base import partition_of
from juncture.store import tallies
from juncture.store.sql import SqlStore

IDENTIFY_SHARE: Final = 0.05  # of the run's events, by default
SIGNING: Final = 0.4  # devices whose shopper signs in during the run
TWO_DEVICES: Final = 1 / 3  # customers who sign in on two devices
START: Final = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@dataclass
class Workload:
    """The run's events (``run``), then a view of each joining customer (``views``) and the
    sign-ins that merge (``merges``), with the people they make."""

    run: list[dict[str, Any]] = field(default_factory=list)
    views: list[dict[str, Any]] = field(default_factory=list)
    merges: list[dict[str, Any]] = field(default_factory=list)
    crossing: int = 0  # of ``merges``: device and customer in different partitions

    def messages(self) -> list[dict[str, Any]]:
        return [*self.run, *self.views, *self.merges]

    def identifies(self) -> int:
        return sum(1 for m in self.run if m["type"] == "identify")


@dataclass(frozen=True)
class Load:
    """A :class:`Workload` as the events ingestion makes of it, with its people."""

    run: list[Event]
    views: list[Event]
    merges: list[Event]
    identifies: int
    crossing: int
    people: list[tuple[list[str], int]]


def load(events: int, identify_share: float, partitions: int) -> Load:
    """The events of :func:`workload` and the people they make."""
    found = workload(events, identify_share, partitions)
    return Load(
        run=rows(found.run),
        views=rows(found.views),
        merges=rows(found.merges),
        identifies=found.identifies(),
        crossing=found.crossing,
        people=people(found.messages()),
    )


def workload(events: int, identify_share: float, partitions: int, seed: int = 7) -> Workload:
    """``events`` messages of :data:`SIGNING` devices' shoppers (see the module)."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    devices = default_shoppers(events)
    user_of = _customers(rng, int(devices * SIGNING))
    signing = sorted(user_of)
    found = Workload()
    signed_in: set[int] = set()
    seen: set[int] = set()
    for n in range(events):
        if signing and rng.random() < identify_share:
            device = rng.choice(signing)
            found.run.append(_identify(rng, n, device, user_of[device]))
            signed_in.add(device)
        else:
            device = rng.randrange(devices)
            user = user_of[device] if device in signed_in else None
            found.run.append(_view(rng, n, device, user))
        seen.add(device)
    users = sorted({user_of[d] for d in signed_in})
    if users:
        joining = sorted(seen - set(user_of))
        n = events
        for i, device in enumerate(joining):
            user = users[i % len(users)]
            found.views.append(_view(rng, n + i, None, user))
            found.merges.append(_identify(rng, n + len(joining) + i, device, user))
            found.crossing += partition_of(_anonymous(device), partitions) != partition_of(
                user, partitions
            )
    return found


def _customers(rng: random.Random, devices: int) -> dict[int, str]:
    """Devices 0 to ``devices - 1`` -> their customer's user id, :data:`TWO_DEVICES` of the
    customers on two devices."""
    user_of: dict[int, str] = {}
    device = 0
    while device < devices:
        user = f"user-{len(set(user_of.values()))}"
        for _ in range(2 if rng.random() < TWO_DEVICES else 1):
            if device < devices:
                user_of[device] = user
                device += 1
    return user_of


def _anonymous(device: int) -> str:
    return f"anon-{device}"


def _common(rng: random.Random, n: int, device: int | None, user: str | None) -> dict[str, Any]:
    message: dict[str, Any] = {
        "messageId": str(uuid.UUID(int=rng.getrandbits(128))),
        "timestamp": (START + dt.timedelta(milliseconds=n)).isoformat(),
        "context": {
            "channel": "web",
            "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0)",
        },
    }
    if device is not None:
        message["anonymousId"] = _anonymous(device)
    if user is not None:
        message["userId"] = user
    return message


def _view(rng: random.Random, n: int, device: int | None, user: str | None) -> dict[str, Any]:
    pid = rng.randrange(5000)
    message = _common(rng, n, device, user)
    message["context"]["page"] = {"url": f"https://shop.example/p/{pid}"}
    return {
        **message,
        "type": "track",
        "event": "Product Viewed",
        "properties": viewed(pid),
    }


def _identify(rng: random.Random, n: int, device: int, user: str) -> dict[str, Any]:
    traits = {"email": f"{user}@example.com", "first_name": f"Shopper {user[5:]}"}
    return {**_common(rng, n, device, user), "type": "identify", "traits": traits}


def rows(messages: Sequence[dict[str, Any]]) -> list[Event]:
    """``messages`` as the events ingestion makes of them, a batch of 100 at a time."""
    return rows_of(
        [
            orjson.dumps({"batch": list(messages[i : i + BATCH])})
            for i in range(0, len(messages), BATCH)
        ]
    )


def people(messages: Iterable[dict[str, Any]]) -> list[tuple[list[str], int]]:
    """Each person's identifiers (``kind:value``) and the number of their events."""
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    owners: list[str] = []
    for m in messages:
        ids = [f"{k}:{m[key]}" for k, key in _KINDS if key in m]
        first = root(ids[0])
        for other in ids[1:]:
            parent[root(other)] = first
        owners.append(ids[0])
    counts = Counter(root(owner) for owner in owners)
    members: dict[str, list[str]] = {}
    for identifier in parent:
        members.setdefault(root(identifier), []).append(identifier)
    return [(sorted(ids), counts[r]) for r, ids in members.items()]


_KINDS: Final = (("user_id", "userId"), ("anonymous_id", "anonymousId"))


def wrong_people(store: SqlStore, expected: Sequence[tuple[list[str], int]]) -> list[str]:
    """Each person of ``expected`` whose identifiers are not all on one live profile that
    counts exactly their events, or whose profile another person shares (empty: every
    profile is right)."""
    live = tallies.live_profiles(store, [i for ids, _ in expected for i in ids])
    wrong: list[str] = []
    holders: dict[str, str] = {}
    for ids, count in expected:
        found = {live.get(i) for i in ids}
        profile = next(iter(found)) if len(found) == 1 else None
        stored = store.profiles.profile(profile) if profile else None
        counted = sum(stored.profile.event_counts.values()) if stored else None
        if profile is None or counted != count or holders.setdefault(profile, ids[0]) != ids[0]:
            wrong.append(f"{ids[0]}: on {sorted(map(str, found))}, {counted} of {count} events")
    return wrong
