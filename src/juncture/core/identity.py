"""Identity resolution: which profile an event belongs to, and which profiles are one person.

Identifiers are strings ``"kind:value"``. The kinds are ``user_id``, ``anonymous_id``,
``device_id`` (``context.device.id``), ``email`` and ``phone`` (from ``traits`` and
``context.traits``, normalized), and the external kinds named in
:class:`IdentityConfig.external_ids` (a loyalty card, a POS customer id), read from
``traits``, ``context.traits`` and ``properties``.

The :class:`IdentityGraph` maps identifiers to profile ids. Identifiers that appear in one
event are *linked*: their profiles merge. A merge never moves identifiers; the merged
profile becomes a redirect to the survivor, so a merge is one new row for a store, and the
invariant *every redirect points at a live profile* keeps look-ups to one hop.

Rules, all deterministic:

- ``user_id`` and ``anonymous_id`` always link; ``device_id`` and external ids link unless
  switched off; ``email`` and ``phone`` link only when switched on. An identifier that does
  not link is not kept in the graph (it stays a trait of the profile).
- Two different user ids never share a profile through automatic links: such a link is
  refused and recorded as a :class:`Conflict`. Only an explicit ``alias`` call may join two
  profiles that both carry user ids (that is what Segment's alias is for).
- A device seen with more than ``max_users_per_device`` distinct user ids, or with more
  than ``max_anonymous_per_device`` distinct anonymous ids (a store kiosk, a family
  tablet), stops linking. The anonymous cap defaults to 1: a device never merges two
  anonymous sessions on its own, because a wrong merge cannot be undone and a missed one
  heals at the next login; raise it to follow app reinstalls or in-app browsers, at the
  price of merging the first few shoppers of a kiosk.
- A new profile's id is ``"p_" + sha256("kind:value")[:20]`` of its founding identifier.
- The survivor of a merge is the profile seen first (by event time), ties by id.
- For a set of links without conflicts, the partition of identifiers into profiles does
  not depend on the order the links arrive (property-tested).

A store may hand :func:`resolve` a partial graph: the rows for the identifiers the event
names (see :func:`identifiers`), the nodes and redirects they reach, and the device counts
for the event's device. :func:`resolve` returns the same graph object when nothing changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from typing import Any, Final

import msgspec

from juncture.core.events import Event

USER: Final = "user_id"
ANONYMOUS: Final = "anonymous_id"
DEVICE: Final = "device_id"
EMAIL: Final = "email"
PHONE: Final = "phone"
_ANON_MARK: Final = ANONYMOUS + ":"
_SCALAR: Final = str | int  # built once, not on every isinstance check


class ExternalId(msgspec.Struct, frozen=True, kw_only=True):
    """An external identifier kind and the trait/property keys it is read from."""

    kind: str
    keys: tuple[str, ...]


class IdentityConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Which identifiers link profiles, and the guards on linking."""

    link_device: bool = True
    link_email: bool = False
    link_phone: bool = False
    link_external: bool = True
    external_ids: tuple[ExternalId, ...] = ()
    max_users_per_device: int = 3
    max_anonymous_per_device: int = 1


class Node(msgspec.Struct, frozen=True, kw_only=True):
    """A live profile in the graph: when it was first seen and its user ids (sorted)."""

    first_seen: dt.datetime
    user_ids: tuple[str, ...] = ()


class Merge(msgspec.Struct, frozen=True, kw_only=True):
    """``merged`` was folded into ``survivor`` because of the event ``by_message_id``."""

    survivor: str
    merged: str
    by_message_id: str
    at: dt.datetime
    reason: str


class Conflict(msgspec.Struct, frozen=True, kw_only=True):
    """A refused link: ``identifier`` (in ``profile_id``) appeared with ``other``."""

    identifier: str
    profile_id: str
    other: str
    by_message_id: str
    at: dt.datetime
    reason: str


class IdentityGraph(msgspec.Struct, frozen=True, kw_only=True):
    """Identifiers -> profile ids, redirects of merged profiles, and the merge history.

    ``device_users`` holds, per device identifier, the distinct user ids seen on it (at
    most ``max_users_per_device + 1``) and its distinct anonymous ids, written
    ``anonymous_id:<id>`` (at most ``max_anonymous_per_device + 1``). ``conflicts`` is
    keyed ``identifier|profile_id``.
    """

    ids: dict[str, str] = {}
    redirects: dict[str, str] = {}
    nodes: dict[str, Node] = {}
    device_users: dict[str, tuple[str, ...]] = {}
    merges: tuple[Merge, ...] = ()
    conflicts: dict[str, Conflict] = {}

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types (times as ISO 8601 strings)."""
        out: dict[str, Any] = msgspec.to_builtins(self)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IdentityGraph:
        """The inverse of :meth:`to_json`."""
        return msgspec.convert(data, cls)

    def canonical(self, profile_id: str) -> str:
        """The live profile a (possibly merged) profile id now stands for."""
        return self.redirects.get(profile_id, profile_id)

    def profile_of(self, identifier: str) -> str | None:
        """The live profile holding ``identifier`` (``"kind:value"``), if any."""
        pid = self.ids.get(identifier)
        return None if pid is None else self.redirects.get(pid, pid)


class Resolution(msgspec.Struct, frozen=True, kw_only=True):
    """What :func:`resolve` decided for one event."""

    graph: IdentityGraph
    profile_id: str
    merges: tuple[Merge, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    new_profile: bool = False


DEFAULT_CONFIG: Final = IdentityConfig()


def profile_id_for(identifier: str) -> str:
    """The id of a profile founded by ``identifier``.

    >>> profile_id_for("user_id:42")
    'p_c46adb264bbc8d666b6e'
    """
    return "p_" + hashlib.sha256(identifier.encode()).hexdigest()[:20]


def normalize_email(value: object) -> str | None:
    """Trimmed and lower-cased; None unless it looks like an address.

    >>> normalize_email("  Ann@Example.COM ")
    'ann@example.com'
    """
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    return text if "@" in text[1:-1] else None


def normalize_phone(value: object) -> str | None:
    """Digits, with a leading ``+`` when the number had one (or ``00``); None if too short.

    >>> normalize_phone("+49 (30) 1234-567")
    '+49301234567'
    >>> normalize_phone("0049 30 1234567")
    '+49301234567'
    """
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    digits = "".join(c for c in text if c.isdigit())
    if text.startswith("+"):
        digits = "+" + digits
    elif digits.startswith("00"):
        digits = "+" + digits[2:]
    return digits if len(digits.lstrip("+")) >= 6 else None


def identifiers(
    event: Event, config: IdentityConfig = DEFAULT_CONFIG
) -> tuple[tuple[str, str], ...]:
    """The linking identifiers an event names, as ``(kind, "kind:value")``, user id first.

    An ``alias`` call's ``previousId`` is given as kind ``"previous"``; :func:`resolve`
    reads it as a user id when the graph knows one, else as an anonymous id.
    """
    out: list[tuple[str, str]] = []
    if event.user_id:
        out.append((USER, "user_id:" + event.user_id))
    if event.type == "alias" and event.previous_id:
        out.append(("previous", event.previous_id))
    if event.anonymous_id:
        out.append((ANONYMOUS, "anonymous_id:" + event.anonymous_id))
    context = event.context
    if config.link_device and context:
        device = context.get("device")
        if isinstance(device, dict):
            device_id = device.get("id")
            if isinstance(device_id, _SCALAR) and not isinstance(device_id, bool):
                out.append((DEVICE, f"device_id:{device_id}"))
    if config.link_email or config.link_phone or (config.link_external and config.external_ids):
        out.extend(_trait_identifiers(event, config))
    return tuple(out)


def _trait_identifiers(event: Event, config: IdentityConfig) -> list[tuple[str, str]]:
    sources: list[dict[str, Any]] = []
    for source in (event.traits, event.context.get("traits") if event.context else None):
        if isinstance(source, dict) and source:
            sources.append(source)
    out: list[tuple[str, str]] = []
    if config.link_email:
        out.extend(_normalized(sources, EMAIL, normalize_email))
    if config.link_phone:
        out.extend(_normalized(sources, PHONE, normalize_phone))
    if config.link_external:
        if event.properties:
            sources.append(event.properties)
        for ext in config.external_ids:
            # Most events carry no external id: plain loops, nothing built until one is found.
            found: list[str] = []
            for source in sources:
                for key in ext.keys:
                    value = source.get(key)
                    if value is not None and (text := _scalar(value)):
                        found.append(text)
            if found:
                out.extend((ext.kind, f"{ext.kind}:{v}") for v in sorted(set(found)))
    return out


def _normalized(
    sources: list[dict[str, Any]], kind: str, normalize: Callable[[object], str | None]
) -> list[tuple[str, str]]:
    values = {v for s in sources if (v := normalize(s.get(kind))) is not None}
    return [(kind, f"{kind}:{v}") for v in sorted(values)]


def _scalar(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, _SCALAR):
        return None
    text = str(value).strip()
    return text or None


def resolve(
    graph: IdentityGraph,
    event: Event,
    config: IdentityConfig = DEFAULT_CONFIG,
    named: tuple[tuple[str, str], ...] | None = None,
) -> Resolution:
    """The profile ``event`` belongs to, after linking the identifiers it names (``named``:
    ``identifiers(event, config)`` when the caller has it already)."""
    work = _Work(graph, event)
    if named is None:
        named = identifiers(event, config)
    keys = work.linkable(named, config)
    if not keys:
        raise ValueError(f"event {event.message_id!r} names neither a user id nor an anonymous id")
    home = work.join(keys, alias=event.type == "alias")
    new_profile = home is None
    if home is None:
        # Known identifiers all refused: the first unknown one (the user id) founds it.
        home = work.found(work.unknown[0])
    work.attach(home)
    work.touch(home)
    return Resolution(
        graph=work.result(),
        profile_id=home,
        merges=tuple(work.merges),
        conflicts=tuple(work.conflicts),
        new_profile=new_profile,
    )


def _device_open(seen: tuple[str, ...], config: IdentityConfig) -> bool:
    """Whether a device with these ids still links. User ids are kept as they are and
    anonymous ids prefixed, so rows written before the anonymous cap read back unchanged."""
    anonymous = 0
    for s in seen:  # a loop, not sum(): it runs for every event from a device
        if s.startswith(_ANON_MARK):
            anonymous += 1
    return (
        len(seen) - anonymous <= config.max_users_per_device
        and anonymous <= config.max_anonymous_per_device
    )


class _Work:
    """A copy-on-write view of a graph while one event is resolved."""

    __slots__ = (
        "conflicts",
        "copied",
        "device_users",
        "event",
        "graph",
        "ids",
        "merges",
        "nodes",
        "redirects",
        "unknown",
        "users",
    )

    def __init__(self, graph: IdentityGraph, event: Event) -> None:
        self.graph = graph
        self.event = event
        self.ids = graph.ids
        self.redirects = graph.redirects
        self.nodes = graph.nodes
        self.device_users = graph.device_users
        self.copied: set[str] = set()
        self.merges: list[Merge] = []
        self.conflicts: list[Conflict] = []
        self.unknown: list[str] = []
        self.users: set[str] = {event.user_id} if event.user_id else set()

    def _own(self, name: str) -> None:
        if name not in self.copied:
            self.copied.add(name)
            setattr(self, name, dict(getattr(self, name)))

    def linkable(
        self, keys: tuple[tuple[str, str], ...], config: IdentityConfig
    ) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for kind, key in keys:
            if kind == "previous":
                user_key = "user_id:" + key
                anon_key = "anonymous_id:" + key
                out.append((USER, user_key) if user_key in self.ids else (ANONYMOUS, anon_key))
            elif kind == DEVICE and not self._device_links(key, config):
                continue
            else:
                out.append((kind, key))
        return out

    def _device_links(self, key: str, config: IdentityConfig) -> bool:
        seen = self.device_users.get(key, ())
        if not _device_open(seen, config):
            return False  # past a cap for good: its list stops growing
        anon = self.event.anonymous_id
        new: list[str] = []  # a loop, not a set comprehension: this runs for every event
        for u in (self.event.user_id, anon and _ANON_MARK + anon):
            if u and u not in seen and u not in new:
                new.append(u)
        if not new:
            return True  # open, as just checked
        self._own("device_users")
        seen = self.device_users[key] = tuple(sorted((*seen, *new)))
        return _device_open(seen, config)

    def join(self, keys: list[tuple[str, str]], *, alias: bool) -> str | None:
        """Merge the profiles of every known identifier into one; None if none is known."""
        home: str | None = None
        for kind, key in keys:
            pid = self.ids.get(key)
            if pid is None:
                self.unknown.append(key)
                continue
            pid = self.redirects.get(pid, pid)
            if pid == home:
                continue
            user_ids = self.nodes[pid].user_ids
            if user_ids:  # a profile without user ids joins any
                theirs = set(user_ids)
                # A link is refused when it would put together user ids not together already.
                if not (alias or theirs <= self.users or self.users <= theirs):
                    self._conflict(key, pid, "user_conflict")
                    continue
                self.users.update(theirs)
            home = pid if home is None else self._merge(home, pid, "alias" if alias else kind)
        return home

    def _merge(self, a: str, b: str, reason: str) -> str:
        node_a, node_b = self.nodes[a], self.nodes[b]
        survivor, merged = (a, b) if (node_a.first_seen, a) <= (node_b.first_seen, b) else (b, a)
        self._own("nodes")
        self._own("redirects")
        self.nodes[survivor] = Node(
            first_seen=min(node_a.first_seen, node_b.first_seen),
            user_ids=tuple(sorted(set(node_a.user_ids) | set(node_b.user_ids))),
        )
        del self.nodes[merged]
        for old, target in list(self.redirects.items()):
            if target == merged:
                self.redirects[old] = survivor
        self.redirects[merged] = survivor
        self.merges.append(
            Merge(
                survivor=survivor,
                merged=merged,
                by_message_id=self.event.message_id,
                at=self.event.timestamp,
                reason=reason,
            )
        )
        return survivor

    def _conflict(self, key: str, pid: str, reason: str) -> None:
        conflict = Conflict(
            identifier=key,
            profile_id=pid,
            other=f"user_id:{self.event.user_id}" if self.event.user_id else "",
            by_message_id=self.event.message_id,
            at=self.event.timestamp,
            reason=reason,
        )
        self.conflicts.append(conflict)
        slot = f"{key}|{pid}"
        if slot not in self.graph.conflicts:
            self.graph = msgspec.structs.replace(
                self.graph, conflicts={**self.graph.conflicts, slot: conflict}
            )

    def found(self, key: str) -> str:
        pid = profile_id_for(key)
        self._own("nodes")
        self.nodes[pid] = Node(first_seen=self.event.timestamp)
        return pid

    def attach(self, home: str) -> None:
        if self.unknown:
            self._own("ids")
            for key in self.unknown:
                self.ids[key] = home
        node = self.nodes[home]
        if self.users.issubset(node.user_ids):
            return  # nothing new (a node's user ids are kept sorted and distinct)
        users = tuple(sorted(self.users | set(node.user_ids)))
        self._own("nodes")
        self.nodes[home] = Node(first_seen=node.first_seen, user_ids=users)

    def touch(self, home: str) -> None:
        node = self.nodes[home]
        if self.event.timestamp < node.first_seen:
            self._own("nodes")
            self.nodes[home] = Node(first_seen=self.event.timestamp, user_ids=node.user_ids)

    def result(self) -> IdentityGraph:
        if not self.copied and not self.merges:
            return self.graph
        return IdentityGraph(
            ids=self.ids,
            redirects=self.redirects,
            nodes=self.nodes,
            device_users=self.device_users,
            merges=self.graph.merges + tuple(self.merges),
            conflicts=self.graph.conflicts,
        )
