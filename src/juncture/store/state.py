"""The engine's working set in the store: identities, profiles, merges and timers.

Used inside a unit of work (``Unit.state``, see ``store/base.py``), on the same
driver connection as the event insert, so that an event and everything it causes commit
together. SQL is shared by SQLite and PostgreSQL; only placeholders and time values differ.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import msgspec

from juncture.core import stage
from juncture.core.identity import Conflict, IdentityGraph, Merge, Node
from juncture.core.profile.affinity import top_affinity
from juncture.core.profile.model import ProductView, Profile
from juncture.core.segments import conditions as segments
from juncture.core.signals import ScheduleTimer
from juncture.store import failed_rows, product_views, tables
from juncture.store.state_base import split
from juncture.store.state_cache import Cache, ProfileRow
from juncture.store.state_journeys import JourneySql

_node_decoder: Final = msgspec.json.Decoder(Node)
_encoder: Final = msgspec.json.Encoder()
_users_decoder: Final = msgspec.json.Decoder(tuple[str, ...])
PROFILE_COLUMNS: Final = (
    "profile_id", "redirect_to", "first_seen", "last_seen", "stage", "email", "country", "city",
    "timezone", "order_count", "revenue", "last_order_at", "cart_value", "cart_items",
    "sessions", "last_channel", "top_category", "nps", "csat", "traits", "node", "body",
    "updated_at", "consent",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Due:
    """A timer whose time has come, as stored."""

    timer: ScheduleTimer
    payload: str


class StateSql(JourneySql):
    """Reads and writes engine state on one driver cursor, in the caller's transaction.
    With a :class:`Cache`, reads come from it where they can and writes go through it.

    It remembers the product views of each profile it loaded (or saved) as they are stored,
    so that a save writes only the entries that changed (``store/product_views.py``); a
    profile saved without being loaded is taken to have none stored."""

    def __init__(self, cursor: Any, dialect: str, cache: Cache | None = None) -> None:
        super().__init__(cursor, dialect, cache)
        self.stored_views: dict[str, dict[str, ProductView]] = {}

    # -- loading -----------------------------------------------------------------------
    def load(
        self, identifiers: Iterable[str], devices: Iterable[str], profile_ids: Iterable[str]
    ) -> tuple[IdentityGraph, dict[str, Profile]]:
        """The part of the graph and the profiles that these identifiers reach."""
        ids = self._identities(sorted(set(identifiers)))
        redirects: dict[str, str] = {}
        nodes: dict[str, Node] = {}
        known: dict[str, Profile] = {}
        wanted = set(ids.values()) | set(profile_ids)
        while wanted:
            rows = self._profiles(sorted(wanted))
            wanted = set()
            for pid, (redirect, node, body) in rows.items():
                if redirect is not None:
                    redirects[pid] = redirect
                    if redirect not in nodes:
                        wanted.add(redirect)
                    continue
                if node is not None:
                    nodes[pid] = node
                if body is not None:
                    known[pid] = body
        device_users = self._devices(sorted(set(devices)))
        graph = IdentityGraph(ids=ids, redirects=redirects, nodes=nodes, device_users=device_users)
        return graph, known

    def _identities(self, keys: Sequence[str]) -> dict[str, str]:
        cached, missing = split(self.cache.ids if self.cache is not None else None, keys)
        found: dict[str, str] = dict(self._in(
            "SELECT identifier, profile_id FROM identities WHERE identifier IN ({marks})",
            missing,
        ))  # fmt: skip
        if self.cache is not None:
            self.cache.ids.update(found)
        return cached | found

    def _profiles(self, keys: Sequence[str]) -> dict[str, ProfileRow]:
        cached, missing = split(self.cache.profiles if self.cache is not None else None, keys)
        rows = [
            (pid, redirect, node, body if redirect is None else None)
            for pid, redirect, node, body in self._in(
                "SELECT profile_id, redirect_to, node, body FROM profiles "
                "WHERE profile_id IN ({marks})",
                missing,
            )
        ]
        live = [pid for pid, _, _, body in rows if body is not None]
        views = product_views.grouped(self._in(product_views.SELECT, live))
        found: dict[str, ProfileRow] = {
            pid: (
                redirect,
                _node_decoder.decode(node) if node is not None and redirect is None else None,
                product_views.profile(body, views.get(pid)) if body is not None else None,
            )
            for pid, redirect, node, body in rows
        }
        if self.cache is not None:
            self.cache.profiles.update(found)
        result = cached | found
        for pid, (_, _, p) in result.items():
            if p is not None:
                self.stored_views[pid] = p.products
        return result

    def _devices(self, keys: Sequence[str]) -> dict[str, tuple[str, ...]]:
        cached, missing = split(self.cache.devices if self.cache is not None else None, keys)
        found = {
            device: _users_decoder.decode(users)
            for device, users in self._in(
                "SELECT device, users FROM device_users WHERE device IN ({marks})", missing
            )
        }
        if self.cache is not None:
            self.cache.devices.update(found)
        return cached | found

    def due_timers(self, now: dt.datetime, limit: int) -> list[Due]:
        m = self.mark
        self.cur.execute(
            "SELECT key, kind, profile_id, due_at, payload FROM timers "
            f"WHERE due_at <= {m} ORDER BY due_at, key LIMIT {int(limit)}",
            (self.t(now),),
        )
        return [
            Due(ScheduleTimer(key=k, kind=kind, profile_id=pid, due_at=self.read_t(due)), payload)
            for k, kind, pid, due, payload in self.cur.fetchall()
        ]

    # -- saving ------------------------------------------------------------------------
    def save_graph(self, before: IdentityGraph, after: IdentityGraph) -> None:
        m = self.mark
        new_ids = [(k, v) for k, v in after.ids.items() if before.ids.get(k) != v]
        if new_ids:
            self.cur.executemany(
                f"INSERT INTO identities (identifier, profile_id) VALUES ({m},{m}) "
                "ON CONFLICT (identifier) DO UPDATE SET profile_id = excluded.profile_id",
                new_ids,
            )
            if self.cache is not None:
                self.cache.ids.update(new_ids)
        changed = {k: v for k, v in after.device_users.items() if before.device_users.get(k) != v}
        devices = [(k, _encoder.encode(v).decode()) for k, v in changed.items()]
        if self.cache is not None:
            self.cache.devices.update(changed)
        if devices:
            self.cur.executemany(
                f"INSERT INTO device_users (device, users) VALUES ({m},{m}) "
                "ON CONFLICT (device) DO UPDATE SET users = excluded.users",
                devices,
            )

    def save_merges(self, merges: Sequence[Merge], conflicts: Sequence[Conflict]) -> None:
        m = self.mark
        if merges and self.cache:
            merged = {x.merged for x in merges}
            stale = [pid for pid, row in self.cache.profiles.items() if row[0] in merged]
            for pid in stale:
                del self.cache.profiles[pid]
            for x in merges:  # both profiles' enrollments and messages change hands below
                self.cache.journeys.pop(x.merged, None)
                self.cache.journeys.pop(x.survivor, None)
        for merge in merges:
            # Keep redirects one hop long: whatever pointed at the merged profile now
            # points at the survivor.
            self.cur.execute(
                f"UPDATE profiles SET redirect_to = {m} WHERE redirect_to = {m}",
                (merge.survivor, merge.merged),
            )
            # The person's messages (sent, and waiting to be sent) are the survivor's now:
            # deliveries per profile, frequency caps and the dispatcher's last consent check.
            self.cur.execute(
                f"UPDATE outbox SET profile_id = {m} WHERE profile_id = {m}",
                (merge.survivor, merge.merged),
            )
        if merges:
            self.cur.executemany(
                "INSERT INTO merges (survivor, merged, by_message_id, at, reason) "
                f"VALUES ({m},{m},{m},{m},{m})",
                [(x.survivor, x.merged, x.by_message_id, self.t(x.at), x.reason) for x in merges],
            )
        if conflicts:
            self.cur.executemany(
                "INSERT INTO identity_conflicts "
                "(identifier, profile_id, other, by_message_id, at, reason) "
                f"VALUES ({m},{m},{m},{m},{m},{m})",
                [
                    (c.identifier, c.profile_id, c.other, c.by_message_id, self.t(c.at), c.reason)
                    for c in conflicts
                ],
            )

    def save_profiles(
        self,
        live: Mapping[str, Profile],
        retired: Mapping[str, str],
        graph: IdentityGraph,
        now: dt.datetime,
    ) -> None:
        """Upsert live profiles (body, node and facts) and the product views that changed
        since they were loaded, and point retired ones at their survivor (their views go:
        the survivor's merged ones are among its changes)."""
        stamp = self.t(now)
        rows = [self._row(p, graph.nodes.get(pid), now, stamp) for pid, p in live.items()]
        rows += [self._retired_row(pid, target, now) for pid, target in retired.items()]
        if not rows:
            return
        self._save_views(live, retired)
        if self.cache is not None:
            cached = self.cache.profiles
            cached.update((pid, (None, graph.nodes.get(pid), p)) for pid, p in live.items())
            cached.update((pid, (target, None, None)) for pid, target in retired.items())
        names = ", ".join(PROFILE_COLUMNS)
        marks = ",".join([self.mark] * len(PROFILE_COLUMNS))
        updates = ", ".join(f"{c} = excluded.{c}" for c in PROFILE_COLUMNS[1:])
        self.cur.executemany(
            f"INSERT INTO profiles ({names}) VALUES ({marks}) "
            f"ON CONFLICT (profile_id) DO UPDATE SET {updates}",
            rows,
        )

    def _row(self, p: Profile, node: Node | None, now: dt.datetime, stamp: Any) -> tuple[Any, ...]:
        traits = p.traits
        found = traits.get("address")
        address: dict[str, Any] = found if isinstance(found, dict) else {}
        return (
            p.profile_id,
            None,
            self.t(p.first_seen),
            self.t(p.last_seen),
            stage.stage_of(p, now).value,
            _text(traits.get("email"), "email"),
            _text(traits.get("country") or address.get("country"), "country"),
            _text(traits.get("city") or address.get("city"), "city"),
            _text(traits.get("timezone"), "timezone"),
            min(p.order_count, _MAX_INT32),
            p.revenue,
            self.t(p.last_order_at),
            p.cart.value,
            min(p.cart.quantity, _MAX_INT32),
            min(p.session_count, _MAX_INT32),
            _text(p.last_channel, "last_channel"),
            _text(top_affinity(p, "category"), "top_category"),
            p.nps.score if p.nps else None,
            p.csat.score if p.csat else None,
            _encoder.encode(traits).decode(),
            _encoder.encode(node).decode() if node is not None else None,
            product_views.body(p),
            stamp,
            _encoder.encode(segments.consent_facts(p)).decode(),
        )

    def _save_views(self, live: Mapping[str, Profile], retired: Mapping[str, str]) -> None:
        stored = self.stored_views
        cleared = list(retired)
        upserts: list[product_views.Row] = []
        for pid, p in live.items():
            rewrite, changed = product_views.changes(pid, stored.get(pid, {}), p.products)
            if rewrite:
                cleared.append(pid)
            upserts += changed
            stored[pid] = p.products
        for pid in retired:
            stored.pop(pid, None)
        m = self.mark
        if cleared:
            self.cur.executemany(
                f"DELETE FROM product_views WHERE profile_id = {m}", [(pid,) for pid in cleared]
            )
        if upserts:
            self.cur.executemany(
                "INSERT INTO product_views (profile_id, product_id, position, view) "
                f"VALUES ({m},{m},{m},{m}) ON CONFLICT (profile_id, product_id) DO UPDATE "
                "SET position = excluded.position, view = excluded.view",
                upserts,
            )

    def _retired_row(self, pid: str, target: str, now: dt.datetime) -> tuple[Any, ...]:
        row: list[Any] = [None] * len(PROFILE_COLUMNS)
        row[0], row[1] = pid, target
        row[PROFILE_COLUMNS.index("updated_at")] = self.t(now)
        row[PROFILE_COLUMNS.index("order_count")] = 0
        row[PROFILE_COLUMNS.index("revenue")] = 0.0
        row[PROFILE_COLUMNS.index("cart_value")] = 0.0
        row[PROFILE_COLUMNS.index("cart_items")] = 0
        row[PROFILE_COLUMNS.index("sessions")] = 0
        return tuple(row)

    def add_failed(
        self,
        *,
        source: str,
        received_at: dt.datetime,
        code: str,
        reason: str,
        payload: str,
        status: str = "failed",
        type_hint: str | None = None,
        message_id: str | None = None,
        path: str = "$",
    ) -> None:
        """One row of the quarantine, in this transaction (what the engine set aside)."""
        values = failed_rows.row(
            source=source,
            received_at=self.t(received_at),
            message_id=message_id,
            code=code,
            reason=reason,
            path=path,
            raw=payload.encode(),
            status=status,
            type_hint=type_hint,
        )
        self.cur.execute(
            f"INSERT INTO failed_events ({failed_rows.COLUMNS}) "
            f"VALUES ({failed_rows.marks(self.mark)})",
            values,
        )

    def save_timers(self, ops: Mapping[str, ScheduleTimer | None]) -> None:
        m = self.mark
        upserts = [(t.key, t.kind, t.profile_id, self.t(t.due_at), "{}") for t in ops.values() if t]
        deletes = [(k,) for k, t in ops.items() if t is None]
        if upserts:
            self.cur.executemany(
                "INSERT INTO timers (key, kind, profile_id, due_at, payload) "
                f"VALUES ({m},{m},{m},{m},{m}) ON CONFLICT (key) DO UPDATE SET "
                "kind = excluded.kind, profile_id = excluded.profile_id, "
                "due_at = excluded.due_at, payload = excluded.payload",
                upserts,
            )
        if deletes:
            self.cur.executemany(f"DELETE FROM timers WHERE key = {m}", deletes)


def _text(value: object, column: str) -> str | None:
    """A trait as its column holds it; one longer than the column is no country, city or
    address (the whole value stays in ``traits``)."""
    if not isinstance(value, str) or not value or len(value) > _CHARS[column]:
        return None
    return value


# The profile columns that project a trait or a name, and how many characters each holds.
_CHARS: Final = {
    name: tables.chars(tables.profiles, name)
    for name in ("email", "country", "city", "timezone", "last_channel", "top_category")
}
_MAX_INT32: Final = 2**31 - 1  # counts in INTEGER columns
